/**
 * The daemon's side of the replicated file store: it opens the SQLite copy and builds the store's service engine
 * (./cfs-engine.ts) for the stack to register, submits clients' writes to it and answers each write once its own
 * delivery was applied, committed and synced to disk (or it was refused). The writes applied in one turn of the loop
 * are committed together at its end, and the WAL file is synced in libuv's pool (./cfs-wal.ts): a burst of writes
 * never holds the loop an fsync per write, nor for one fsync.
 */
import { join } from 'node:path';
import type { CfsCore, CfsResult } from '../cfs/core.ts';
import { STORE_RETRY_INTERVAL_MS, SYNC_RETRY_INTERVAL_MS } from '../cfs/limits.ts';
import { type CfsEntry, type CfsEntryInfo, CfsStore } from '../cfs/store.ts';
import { CFS_SERVICE_ID, CfsEngine, type CfsOutput, type CfsRequest } from './cfs-engine.ts';
import { CfsListings } from './cfs-listings.ts';
import { type Fsync, WalCheckpointer, WalSync } from './cfs-wal.ts';
import type { NodeEngine } from './engine.ts';
import { ensurePrivateFile } from './private-fs.ts';
import type { StackOptions } from './stack.ts';

/** A write not delivered back within this long is answered "outcome unknown" (it may still be applied). */
const WRITE_TIMEOUT_MS = 60_000;
/** How long a write refused during a synchronisation is retried (how often: SYNC_RETRY_INTERVAL_MS). */
const SYNC_RETRY_MS = 5_000;
const UNKNOWN_OUTCOME = 'the write may or may not be applied; read it back';

type Outcome = Extract<CfsOutput, { type: 'done' }>;

/** The outcomes of one turn: answered once the WAL sync covering commit number `commit` is done. */
interface Batch {
  commit: number;
  outcomes: Outcome[];
  /** The turn's commit failed: why, and the last write number the store kept (later ones are refused). */
  failed?: { why: string; storedSeq: number };
}

/** A write; a put's `mtime` defaults to now (an archived copy keeps its original's). */
export type CfsWrite = { type: 'put'; path: string; data: Uint8Array; mtime?: number } | { type: 'rm'; path: string };

export class CfsService {
  readonly store: CfsStore;
  /** Clients' listings (`cfsLs`), read a page per turn of the loop. */
  readonly listings = new CfsListings(this);
  private cfsEngine: CfsEngine | undefined;
  private engine: NodeEngine | undefined;
  private nextReq = 1;
  private readonly pending = new Map<number, (result: CfsResult) => void>();
  private readonly changeListeners: (() => void)[] = [];
  private storeRetry: NodeJS.Timeout | undefined;
  /** Outcomes of writes applied in this turn of the loop: answered once the commit at its end is on disk. */
  private uncommitted: Outcome[] = [];
  /** Turns committed (or failed), oldest first, waiting for the WAL sync. */
  private unsynced: Batch[] = [];
  /** Successful commits that wrote something: the numbers `wal` syncs. */
  private commits = 0;
  private readonly wal: WalSync;
  private readonly checkpointer: WalCheckpointer;
  private commitScheduled = false;
  private closed = false;

  /**
   * Opens (creating) this node's copy in `stateDir`; `services` then goes into the node engine's options. `fsync`:
   * how the WAL file is synced (tests give a slow or failing disk).
   */
  constructor(
    stateDir: string,
    private readonly localNodeId: number,
    log: (level: 'warning', message: string) => void,
    fsync?: Fsync,
  ) {
    const file = join(stateDir, `cfs_${localNodeId}.sqlite`);
    // SQLite gives its -wal and -shm files the database file's mode: made 0600 first, they follow.
    for (const [path, create] of [
      [file, true],
      [`${file}-wal`, false],
      [`${file}-shm`, false],
    ] as const) {
      const note = ensurePrivateFile(path, 'the file store', { create });
      if (note !== undefined) log('warning', note);
    }
    this.store = new CfsStore(file);
    this.wal = new WalSync(`${file}-wal`, (commit, error) => this.synced(commit, error), fsync);
    this.checkpointer = new WalCheckpointer(
      file,
      () => this.store.checkpoint(),
      (message) => log('warning', message),
    );
  }

  /** The stack's `services` option: the store's engine. */
  readonly services: NonNullable<StackOptions['services']> = ({ payloadBytesMax, quorate }) => {
    this.cfsEngine = new CfsEngine(this.localNodeId, this.store, quorate, payloadBytesMax);
    return [this.cfsEngine];
  };

  /** Starts serving once `engine` runs the stack built with `services`. */
  attach(engine: NodeEngine): void {
    this.engine = engine;
    engine.on('serviceOutput', (service, output) => {
      if (service === CFS_SERVICE_ID) this.onOutput(output as CfsOutput);
    });
    this.storeRetry = setInterval(() => this.retryStore(), STORE_RETRY_INTERVAL_MS).unref();
  }

  /** A stale copy (core.failure) whose database takes a write again asks every member for a resync. */
  private retryStore(): void {
    if (this.engine === undefined || this.core.failure === undefined || this.core.phase !== 'synced') return;
    try {
      this.store.probe(Date.now());
    } catch {
      return;
    }
    this.engine.serviceRequest(CFS_SERVICE_ID, { type: 'resync' } satisfies CfsRequest);
  }

  /** The store's state machine (phase, view, counters). */
  get core(): CfsCore {
    if (this.cfsEngine === undefined) throw new Error('the file store runs on no node engine yet');
    return this.cfsEngine.core;
  }

  get(path: string): CfsEntry | undefined {
    return this.store.get(path);
  }

  list(prefix?: string): CfsEntryInfo[] {
    return this.store.list(prefix);
  }

  listPage(prefix: string, after: string | undefined, limit: number): CfsEntryInfo[] {
    return this.store.listPage(prefix, after, limit);
  }

  /**
   * Changes whenever what a read returns may have changed: a write applied or rolled back, a synchronisation (its
   * phase, a replaced copy), a storage failure. A listing read over several turns starts over when it changed.
   */
  listingPoint(): string {
    const core = this.cfsEngine?.core;
    return `${this.store.appliedSeq()} ${this.store.epoch()} ${core?.phase} ${core?.counters.syncs} ${core?.failure}`;
  }

  /** Why clients may not read this node's copy now (it is stale after a storage failure), or undefined. */
  readRefusal(): string | undefined {
    const failure = this.cfsEngine?.core.failure;
    return failure === undefined
      ? undefined
      : `this node's copy of the store is stale (${failure}): read from another node, or retry once it re-synced`;
  }

  /**
   * Submits a write; resolves once it is committed locally after ordering (or refused). A write refused because the
   * store is synchronising after a membership change is submitted again for up to SYNC_RETRY_MS: a sync takes a
   * few messages, and a client should not have to race it.
   */
  async write(write: CfsWrite): Promise<CfsResult> {
    const deadline = Date.now() + SYNC_RETRY_MS;
    for (;;) {
      const result = await this.writeOnce(write);
      if (result.ok || result.code !== 'syncing' || Date.now() >= deadline) return result;
      await new Promise((resolve) => setTimeout(resolve, SYNC_RETRY_INTERVAL_MS));
    }
  }

  private writeOnce(write: CfsWrite): Promise<CfsResult> {
    const req = this.nextReq++;
    const engine = this.engine;
    if (engine === undefined) throw new Error('the file store runs on no node engine yet');
    const quorate = engine.stackSnapshot().quorum.quorate;
    const result = new Promise<CfsResult>((resolve) => {
      const timer = setTimeout(() => this.giveUp(req, `no delivery within ${WRITE_TIMEOUT_MS} ms`), WRITE_TIMEOUT_MS);
      this.pending.set(req, (outcome) => {
        clearTimeout(timer);
        resolve(outcome);
      });
    });
    const request: CfsRequest =
      write.type === 'put' ? { ...write, req, mtime: write.mtime ?? Date.now(), quorate } : { ...write, req, quorate };
    engine.serviceRequest(CFS_SERVICE_ID, request);
    return result;
  }

  close(): void {
    clearInterval(this.storeRetry);
    this.engine = undefined; // stopped: a failed last commit or sync is only answered
    this.commit();
    this.wal.syncNow();
    this.closed = true;
    for (const req of [...this.pending.keys()]) this.giveUp(req, 'the daemon is stopping');
    this.checkpointer.close();
    this.wal.close();
    this.store.close();
  }

  /** Calls `listener` after every step that committed a write or finished a synchronisation. */
  onChange(listener: () => void): void {
    this.changeListeners.push(listener);
  }

  private onOutput(output: CfsOutput): void {
    if (!this.commitScheduled) {
      this.commitScheduled = true;
      setImmediate(() => this.commit());
    }
    // Every outcome waits for the commit, so a client's answers keep the order of its writes.
    if (output.type === 'done') this.uncommitted.push(output);
    else for (const listener of this.changeListeners) listener();
  }

  /**
   * Commits the writes applied since the last commit and asks for the WAL sync that puts them on disk; their
   * outcomes wait for it (`synced`), as do refusals, so a client's answers keep the order of its writes. When the
   * commit fails, the copy is stale (the core logs it and re-syncs it later) and the writes it did not cover are
   * refused, as a write that failed when applied is.
   */
  private commit(): void {
    this.commitScheduled = false;
    if (this.closed) return;
    const batch: Batch = { commit: this.commits, outcomes: this.uncommitted };
    this.uncommitted = [];
    const from = this.store.committedSeq() + 1;
    const to = this.store.appliedSeq();
    try {
      if (this.store.commit()) {
        batch.commit = ++this.commits;
        this.checkpointer.committed(this.wal.bytes());
      }
    } catch (error) {
      const why = this.storeFailed(error as Error, `cannot store writes ${from}–${to}`);
      batch.failed = { why, storedSeq: this.store.committedSeq() };
    }
    this.unsynced.push(batch);
    if (batch.commit <= this.wal.syncedCommit) this.synced(this.wal.syncedCommit);
    else this.wal.request(batch.commit);
  }

  /**
   * The WAL sync of every commit up to `commit` is done: their outcomes are answered. A failed sync (`error`)
   * leaves unknown whether they are on disk: the copy is stale, like after a failed commit, and they are refused.
   */
  private synced(commit: number, error?: Error): void {
    const syncFailure =
      error === undefined ? undefined : this.storeFailed(error, `cannot sync the store's WAL file (commit ${commit})`);
    while (this.unsynced.length > 0 && this.unsynced[0]!.commit <= commit) {
      const batch = this.unsynced.shift()!;
      const failure = syncFailure ?? batch.failed?.why;
      const storedSeq = syncFailure !== undefined ? Number.NEGATIVE_INFINITY : (batch.failed?.storedSeq ?? Infinity);
      for (const { req, result } of batch.outcomes) {
        if (!result.ok || result.version <= storedSeq) {
          this.settle(req, result);
          continue;
        }
        this.core.counters.refused.storage++;
        const message = `this node could not store a write (${failure}); not applied here, retry`;
        this.settle(req, { ok: false, code: 'storage', message });
      }
    }
  }

  /**
   * Tells the core its copy is stale (it logs why and re-syncs later; once the engine stopped, it is told no more);
   * returns how the core words the failure (with SQLite's or the system's code).
   */
  private storeFailed(error: Error, what: string): string {
    this.engine?.serviceRequest(CFS_SERVICE_ID, { type: 'storeFailed', error, what } satisfies CfsRequest);
    return this.core.failure ?? `${what}: ${error.message}`;
  }

  private settle(req: number, result: CfsResult): void {
    const answer = this.pending.get(req);
    this.pending.delete(req);
    answer?.(result);
  }

  private giveUp(req: number, why: string): void {
    this.core.counters.refused.unknown++;
    this.settle(req, { ok: false, code: 'unknown', message: `${why}: ${UNKNOWN_OUTCOME}` });
  }
}
