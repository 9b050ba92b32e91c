// The store's WAL checkpoints run on a thread of their own (src/daemon/cfs-wal.ts) once the WAL has grown: the
// database file alone then holds every committed write; when the thread cannot run, the checkpoint runs on the loop.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CfsStore } from '../../src/cfs/store.ts';
import { WalCheckpointer } from '../../src/daemon/cfs-wal.ts';
import { CHECKPOINT_WAL_BYTES } from '../../src/daemon/limits.ts';

const CHECKPOINT_WAIT_MS = 10_000;

/** Resolves once `done()` holds, polled every 10 ms; fails after `limitMs`. */
async function until(done: () => boolean, limitMs: number, what: string): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!done()) {
    assert.ok(Date.now() < deadline, `${what} within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A store with `count` committed writes (the WAL holds them: automatic checkpoints are off). */
function storeWithWrites(file: string, count: number): CfsStore {
  const store = new CfsStore(file);
  for (let seq = 1; seq <= count; seq++) store.put(seq, 1, `entry-${seq}`, new TextEncoder().encode(`v${seq}`), seq);
  store.commit();
  return store;
}

/** The entries of the database file alone, read from a copy without its WAL. */
function entriesWithoutWal(dir: string, file: string): number {
  const copy = join(dir, 'copy.sqlite');
  copyFileSync(file, copy);
  const store = new CfsStore(copy);
  const count = store.entries().length;
  store.close();
  return count;
}

test('a checkpoint on the checkpoint thread puts every committed write into the database file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfs-wal-'));
  const file = join(dir, 'cfs.sqlite');
  const logs: string[] = [];
  const store = storeWithWrites(file, 500);
  const checkpointer = new WalCheckpointer(
    file,
    () => store.checkpoint(),
    (m) => logs.push(m),
  );
  try {
    assert.equal(entriesWithoutWal(dir, file), 0, 'before: the writes are only in the WAL');
    checkpointer.committed(CHECKPOINT_WAL_BYTES - 1);
    assert.equal(checkpointer.checkpointing, false, 'a smaller WAL is not checkpointed');
    checkpointer.committed(CHECKPOINT_WAL_BYTES);
    assert.equal(checkpointer.checkpointing, true);
    await until(() => checkpointer.counters.checkpoints === 1, CHECKPOINT_WAIT_MS, 'one checkpoint');
    assert.equal(entriesWithoutWal(dir, file), 500, 'after: the database file holds them');
    assert.equal(checkpointer.counters.fallbacks, 0);
    assert.deepEqual(logs, []);
  } finally {
    checkpointer.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('when the checkpoint thread cannot open the store, the checkpoint runs on the loop, logged', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfs-wal-'));
  const file = join(dir, 'cfs.sqlite');
  const logs: string[] = [];
  const store = storeWithWrites(file, 50);
  // The thread opens a file that does not exist (fileMustExist): it fails at its start.
  const checkpointer = new WalCheckpointer(
    join(dir, 'missing.sqlite'),
    () => store.checkpoint(),
    (m) => logs.push(m),
  );
  try {
    checkpointer.committed(CHECKPOINT_WAL_BYTES);
    await until(() => checkpointer.counters.fallbacks === 1, CHECKPOINT_WAIT_MS, 'one checkpoint on the loop');
    assert.equal(entriesWithoutWal(dir, file), 50, 'the loop checkpointed the WAL');
    assert.match(logs[0] ?? '', /checkpoint thread .*; checkpointing the store's WAL on the main thread/);
  } finally {
    checkpointer.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the first commit after a checkpoint cuts the WAL file back to its own frames (the size the checkpointer reads)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfs-wal-'));
  const file = join(dir, 'cfs.sqlite');
  const store = storeWithWrites(file, 2_000);
  try {
    const grown = statSync(`${file}-wal`).size;
    store.checkpoint();
    store.put(2_001, 1, 'one-more', new TextEncoder().encode('v'), 1);
    store.commit();
    const after = statSync(`${file}-wal`).size;
    assert.ok(after < grown / 10, `WAL ${grown} → ${after} bytes`);
    const reopened = new CfsStore(file);
    assert.equal(reopened.appliedSeq(), 2_001, 'nothing lost');
    reopened.close();
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
