// The SQLite copy of the store: writes, sizes, digests, replacement, durability across reopening, and commits that
// put every write applied since the last one on disk together (a failure rolls them all back).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathProblem } from '../../src/cfs/limits.ts';
import { CfsStore } from '../../src/cfs/store.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

test('put, get, list, rm keep the sequence, sizes and versions', () => {
  const store = new CfsStore(':memory:');
  store.put(1, 1, 'corosync.conf', bytes('totem {}'), 1000);
  store.put(2, 1, 'nodes/n1/a.conf', bytes('abc'), 2000);
  store.put(3, 1, 'nodes/n1/a.conf', bytes('abcdef'), 3000);
  assert.equal(store.appliedSeq(), 3);
  assert.equal(store.totalBytes(), 8 + 6);
  assert.deepEqual(store.get('nodes/n1/a.conf'), {
    path: 'nodes/n1/a.conf',
    data: bytes('abcdef'),
    version: 3,
    mtime: 3000,
  });
  assert.deepEqual(
    store.list('nodes/').map((e) => [e.path, e.size, e.version]),
    [['nodes/n1/a.conf', 6, 3]],
  );
  store.rm(4, 1, 'corosync.conf');
  assert.equal(store.get('corosync.conf'), undefined);
  assert.equal(store.appliedSeq(), 4);
  assert.equal(store.totalBytes(), 6);
  store.close();
});

test('digests are equal exactly when sequence and entries are equal; replace copies a state', () => {
  const a = new CfsStore(':memory:');
  const b = new CfsStore(':memory:');
  a.put(1, 1, 'x', bytes('1'), 5);
  assert.notEqual(a.digest(), b.digest());
  b.replace(a.appliedSeq(), a.epoch(), a.entries());
  assert.equal(a.digest(), b.digest());
  b.put(2, 1, 'x', bytes('1'), 5);
  assert.notEqual(a.digest(), b.digest(), 'the sequence is part of the digest');
  a.close();
  b.close();
});

test('a committed write survives closing and reopening the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfs-store-'));
  try {
    const file = join(dir, 'cfs.sqlite');
    const first = new CfsStore(file);
    first.put(7, 12, 'a/b', bytes('kept'), 1);
    first.commit();
    first.close();
    const second = new CfsStore(file);
    assert.equal(second.appliedSeq(), 7);
    assert.equal(second.epoch(), 12, 'the ring of the last write is on disk with it');
    assert.equal(second.totalBytes(), 4);
    assert.deepEqual(second.get('a/b')?.data, bytes('kept'));
    second.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writes are on disk only once committed, all of them in one commit; close drops the uncommitted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfs-store-'));
  try {
    const file = join(dir, 'cfs.sqlite');
    const first = new CfsStore(file);
    first.put(1, 1, 'a', bytes('one'), 1);
    first.put(2, 1, 'b', bytes('two'), 2);
    assert.equal(first.appliedSeq(), 2);
    assert.equal(first.committedSeq(), 0, 'applied, not committed');
    assert.deepEqual(first.get('b')?.data, bytes('two'), 'reads see applied writes');
    first.commit();
    assert.equal(first.committedSeq(), 2);
    first.rm(3, 1, 'a');
    first.close();
    const second = new CfsStore(file);
    assert.equal(second.appliedSeq(), 2, 'the uncommitted rm is lost');
    assert.deepEqual(
      second.list().map((e) => e.path),
      ['a', 'b'],
    );
    second.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a write that fails rolls back every write since the last commit (sequence, epoch and size too)', () => {
  const store = new CfsStore(':memory:');
  store.put(1, 1, 'a', bytes('kept'), 1);
  store.commit();
  store.put(2, 5, 'b', bytes('lost'), 2);
  // better-sqlite3 refuses to bind a BigInt beyond 64 bits: a statement that throws, as a full disk makes one.
  const tooBig = (2n ** 70n) as unknown as number;
  assert.throws(() => store.put(3, 5, 'c', bytes('x'), tooBig), /too big/);
  assert.equal(store.appliedSeq(), 1);
  assert.equal(store.epoch(), 1);
  assert.equal(store.committedSeq(), 1);
  assert.equal(store.totalBytes(), 4);
  assert.equal(store.get('b'), undefined);
  store.put(2, 1, 'b', bytes('again'), 2);
  store.commit();
  assert.equal(store.committedSeq(), 2);
  store.close();
});

test('list(prefix): exactly the paths that start with it, in path (byte) order, non-ASCII too', () => {
  const store = new CfsStore(':memory:');
  const paths = ['a', 'join-tokens', 'join-tokens/a.json', 'join-tokens/b.json', 'join-tokensX', 'z', 'é/x', 'éa'];
  for (const [i, path] of paths.entries()) store.put(i + 1, 1, path, bytes(path), 1);
  const list = (prefix?: string) => store.list(prefix).map((e) => e.path);
  assert.deepEqual(list('join-tokens/'), ['join-tokens/a.json', 'join-tokens/b.json']);
  assert.deepEqual(list('join-tokens'), ['join-tokens', 'join-tokens/a.json', 'join-tokens/b.json', 'join-tokensX']);
  assert.deepEqual(list('é'), ['é/x', 'éa']);
  assert.deepEqual(list(''), paths);
  assert.deepEqual(list(), paths);
  assert.deepEqual(list('zz'), []);
  store.close();
});

test('path validation', () => {
  for (const ok of ['corosync.conf', 'nodes/n1/x.conf', 'a-b_c.d']) assert.equal(pathProblem(ok), undefined, ok);
  for (const bad of ['', '/etc/x', 'a//b', 'a/', '../x', 'a/./b', 'a\0b', 'x'.repeat(256), 'a/'.repeat(600), 7]) {
    assert.ok(pathProblem(bad), `${String(bad).slice(0, 20)} must be refused`);
  }
});
