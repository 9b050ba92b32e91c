/**
 * The store's disk syncs, off the event loop (docs/daemon.md, "Work on the loop"). The store commits with
 * `synchronous = NORMAL` (WAL): a COMMIT writes its frames into the WAL file without an fsync, so it survives a
 * kill -9 of the daemon at once, and a power loss once the WAL file is synced. `WalSync` syncs that file in libuv's
 * pool, one fsync at a time, each covering every commit before it began; the daemon acknowledges a write only
 * after the sync that covers its commit, as it did after a `synchronous = FULL` commit. `WalCheckpointer` copies
 * the WAL into the database file (SQLite's checkpoint, two more fsyncs) on a worker thread with a connection of its
 * own, in `PASSIVE` mode, which never waits for or blocks the loop's writer, once the WAL has grown. Both fsyncs
 * held the loop 99–168 ms, once 2.7 s, on a disk shared with other work (the 2026-12-05 profile in docs/daemon.md).
 */
import { closeSync, fstatSync, fsync, fsyncSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { lazyBuiltin } from '../base/lazy-module.ts';
import { CHECKPOINT_WAL_BYTES, CHECKPOINT_WORKER_IDLE_MS } from './limits.ts';

/** Worker threads, loaded when the first checkpoint starts one (src/base/lazy-module.ts). */
const workerThreads = lazyBuiltin<typeof import('node:worker_threads')>('node:worker_threads');

/** fs.fsync's shape: tests put a slow or failing disk in its place. */
export type Fsync = (fd: number, done: (error: NodeJS.ErrnoException | null) => void) => void;

/**
 * Syncs the WAL file after commits. `request(commit)` asks for commit number `commit` (the caller numbers its
 * commits 1, 2, …) to be made durable; `durable(commit, error)` reports each sync: every commit up to `commit` is
 * on disk, or (`error`) the sync failed and whether they are is unknown.
 */
export class WalSync {
  private readonly fd: number;
  private syncing = false;
  private requested = 0;
  private synced = 0;
  private closed = false;

  constructor(
    walPath: string,
    private readonly durable: (commit: number, error?: Error) => void,
    private readonly fsyncFile: Fsync = fsync,
  ) {
    // SQLite creates the WAL file when it opens the store, and it stays while the store is open; its directory
    // entry is synced once, here at the start, as SQLite syncs it for a WAL file it creates.
    this.fd = openSync(walPath, 'r');
    const directory = openSync(dirname(walPath), 'r');
    try {
      fsyncSync(directory);
    } finally {
      closeSync(directory);
    }
  }

  /** The last commit whose sync is done (durable, or refused when the sync failed). */
  get syncedCommit(): number {
    return this.synced;
  }

  request(commit: number): void {
    this.requested = Math.max(this.requested, commit);
    if (!this.syncing) this.start();
  }

  /** The WAL file's size in bytes. */
  bytes(): number {
    return fstatSync(this.fd).size;
  }

  /** Syncs what was requested now, on this thread (a clean stop). */
  syncNow(): void {
    if (this.requested <= this.synced) return;
    const commit = this.requested;
    this.synced = commit;
    try {
      fsyncSync(this.fd);
    } catch (error) {
      this.durable(commit, error as Error);
      return;
    }
    this.durable(commit);
  }

  /** Closes the file, once an fsync under way in the pool is done (its descriptor must not be reused meanwhile). */
  close(): void {
    this.closed = true;
    if (!this.syncing) closeSync(this.fd);
  }

  private start(): void {
    if (this.closed || this.requested <= this.synced) return;
    const commit = this.requested;
    this.syncing = true;
    this.fsyncFile(this.fd, (error) => {
      this.syncing = false;
      if (this.closed) {
        closeSync(this.fd);
        return;
      }
      // A failed sync settles its commits too: their writes are refused (retrying the fsync proves nothing: Linux
      // reports a failed writeback once).
      this.synced = Math.max(this.synced, commit);
      this.durable(commit, error ?? undefined);
      this.start();
    });
  }
}

/** The worker's code (CommonJS, run from a string: the daemon is one bundle, and this is all the worker does). */
const CHECKPOINT_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
parentPort.on('message', (what) => {
  if (what === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ ok: true });
  } catch (error) {
    parentPort.postMessage({ ok: false, message: String(error && error.message) });
  }
});
`;

type CheckpointReply = { ok: true } | { ok: false; message: string };

/**
 * Checkpoints the store's WAL on a worker thread, at most one at a time, once a commit left it at
 * CHECKPOINT_WAL_BYTES or more (SQLite's own automatic checkpoint is due at about that size: 1,000 pages). The
 * worker starts then and ends after CHECKPOINT_WORKER_IDLE_MS without a checkpoint: a V8 isolate costs ≈ 7 MiB
 * (a daemon's RSS 66 → 73 MiB while it ran), so a store written little never starts one. When it cannot run, the
 * checkpoint runs on the loop (`fallback`), as SQLite's automatic checkpoint would.
 */
export class WalCheckpointer {
  private worker: Worker | undefined;
  private idle: NodeJS.Timeout | undefined;
  private running = false;
  private closed = false;
  readonly counters = { checkpoints: 0, fallbacks: 0 };

  constructor(
    private readonly file: string,
    private readonly fallback: () => void,
    private readonly log: (message: string) => void,
  ) {}

  /** Whether a checkpoint is under way (on the thread). */
  get checkpointing(): boolean {
    return this.running;
  }

  /** A commit left the WAL file at `walBytes` (the store cuts it back to its frames after a checkpoint). */
  committed(walBytes: number): void {
    if (this.closed || this.running || walBytes < CHECKPOINT_WAL_BYTES) return;
    clearTimeout(this.idle);
    this.idle = undefined;
    this.run();
  }

  /** Ends the worker (its connection closes on its thread). */
  close(): void {
    this.closed = true;
    clearTimeout(this.idle);
    this.stopWorker();
  }

  private run(): void {
    let worker: Worker;
    try {
      worker = this.startedWorker();
    } catch (error) {
      this.runOnLoop(`cannot start the checkpoint thread: ${(error as Error).message}`);
      return;
    }
    this.running = true;
    worker.postMessage('checkpoint');
  }

  private startedWorker(): Worker {
    if (this.worker !== undefined) return this.worker;
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const worker = new (workerThreads().Worker)(CHECKPOINT_WORKER_SOURCE, {
      eval: true,
      workerData: { driver, file: this.file },
    });
    worker.unref();
    worker.on('message', (reply: CheckpointReply) => this.onReply(reply));
    worker.on('error', (error) => this.lost(worker, `the checkpoint thread failed: ${error.message}`));
    worker.on('exit', (code) => this.lost(worker, `the checkpoint thread ended (exit code ${code})`));
    this.worker = worker;
    return worker;
  }

  /** The worker died unasked: a checkpoint it had under way runs on the loop; the next one starts a new worker. */
  private lost(worker: Worker, why: string): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    if (this.running) this.runOnLoop(why);
    else this.log(why);
  }

  private onReply(reply: CheckpointReply): void {
    this.running = false;
    if (!reply.ok) {
      this.runOnLoop(`the checkpoint thread's checkpoint failed: ${reply.message}`);
      return;
    }
    this.counters.checkpoints++;
    this.afterCheckpoint();
  }

  private runOnLoop(why: string): void {
    this.running = false;
    this.counters.fallbacks++;
    this.log(`${why}; checkpointing the store's WAL on the main thread`);
    try {
      this.fallback();
    } catch (error) {
      this.log(`cannot checkpoint the store's WAL: ${(error as Error).message}`);
    }
    this.afterCheckpoint();
  }

  private afterCheckpoint(): void {
    if (this.closed) return;
    this.idle ??= setTimeout(() => this.stopWorker(), CHECKPOINT_WORKER_IDLE_MS).unref();
  }

  private stopWorker(): void {
    this.idle = undefined;
    const worker = this.worker;
    this.worker = undefined;
    this.running = false;
    worker?.postMessage('close');
  }
}
