// The SQLite copy of the store: writes, sizes, digests, replacement and durability across reopening.
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
  store.put(1, 'corosync.conf', bytes('totem {}'), 1000);
  store.put(2, 'nodes/n1/a.conf', bytes('abc'), 2000);
  store.put(3, 'nodes/n1/a.conf', bytes('abcdef'), 3000);
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
  store.rm(4, 'corosync.conf');
  assert.equal(store.get('corosync.conf'), undefined);
  assert.equal(store.appliedSeq(), 4);
  assert.equal(store.totalBytes(), 6);
  store.close();
});

test('digests are equal exactly when sequence and entries are equal; replace copies a state', () => {
  const a = new CfsStore(':memory:');
  const b = new CfsStore(':memory:');
  a.put(1, 'x', bytes('1'), 5);
  assert.notEqual(a.digest(), b.digest());
  b.replace(a.appliedSeq(), a.entries());
  assert.equal(a.digest(), b.digest());
  b.put(2, 'x', bytes('1'), 5);
  assert.notEqual(a.digest(), b.digest(), 'the sequence is part of the digest');
  a.close();
  b.close();
});

test('a committed write survives closing and reopening the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfs-store-'));
  try {
    const file = join(dir, 'cfs.sqlite');
    const first = new CfsStore(file);
    first.put(7, 'a/b', bytes('kept'), 1);
    first.close();
    const second = new CfsStore(file);
    assert.equal(second.appliedSeq(), 7);
    assert.equal(second.totalBytes(), 4);
    assert.deepEqual(second.get('a/b')?.data, bytes('kept'));
    second.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('path validation', () => {
  for (const ok of ['corosync.conf', 'nodes/n1/x.conf', 'a-b_c.d']) assert.equal(pathProblem(ok), undefined, ok);
  for (const bad of ['', '/etc/x', 'a//b', 'a/', '../x', 'a/./b', 'a\0b', 'x'.repeat(256), 'a/'.repeat(600), 7]) {
    assert.ok(pathProblem(bad), `${String(bad).slice(0, 20)} must be refused`);
  }
});
