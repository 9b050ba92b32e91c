/**
 * Puts the file store's state machine (src/cfs/core.ts) on a running NodeEngine: the daemon itself is the member
 * `{node, pid 0}` of the CPG group `corolink-cfs` (admin-socket processes have pids from 1), so the store rides
 * on CPG's agreed order, sync and fragmentation. Answers each write once its own delivery committed it.
 */
import { join } from 'node:path';
import { type CfsAction, CfsCore, type CfsEvent, type CfsResult } from '../cfs/core.ts';
import { type CfsEntry, type CfsEntryInfo, CfsStore } from '../cfs/store.ts';
import { EngineRefusal, type NodeEngine } from './engine.ts';

/** The CPG group of the daemons' store replicas. */
export const CFS_GROUP = 'corolink-cfs';
/** The daemon's own CPG pid (admin connections count from 1). */
export const CFS_PID = 0;
/** Delay before a multicast refused under backpressure is tried again. */
const RETRY_MS = 10;
/** A write not delivered back within this long is answered "outcome unknown" (it may still be applied). */
const WRITE_TIMEOUT_MS = 60_000;
/** How long a write refused during a synchronisation is retried, and how often. */
const SYNC_RETRY_MS = 5_000;
const SYNC_RETRY_INTERVAL_MS = 50;
const UNKNOWN_OUTCOME = 'the write may or may not be applied; read it back';

/** A write; a put's `mtime` defaults to now (an archived copy keeps its original's). */
export type CfsWrite = { type: 'put'; path: string; data: Uint8Array; mtime?: number } | { type: 'rm'; path: string };

export class CfsService {
  readonly store: CfsStore;
  readonly core: CfsCore;
  private nextReq = 1;
  private readonly pending = new Map<number, (result: CfsResult) => void>();
  /** Payloads waiting for Totem to accept them, in order. */
  private readonly outbox: Uint8Array[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly changeListeners: (() => void)[] = [];

  constructor(
    private readonly engine: NodeEngine,
    stateDir: string,
    private readonly log: (level: 'notice' | 'warning', message: string) => void,
  ) {
    this.store = new CfsStore(join(stateDir, `cfs_${engine.localNodeId}.sqlite`));
    this.core = new CfsCore(engine.localNodeId, this.store);
    engine.on('cpgConfchg', (e) => {
      if (e.group === CFS_GROUP && e.pid === CFS_PID) {
        this.feed({ type: 'confchg', members: e.members.filter((m) => m.pid === CFS_PID).map((m) => m.nodeId) });
      }
    });
    engine.on('cpgDeliver', (e) => {
      if (e.group === CFS_GROUP && e.pid === CFS_PID && e.sender.pid === CFS_PID) {
        this.feed({ type: 'deliver', sender: e.sender.nodeId, payload: e.payload });
      }
    });
    engine.cpgJoin(CFS_GROUP, CFS_PID);
  }

  get(path: string): CfsEntry | undefined {
    return this.store.get(path);
  }

  list(prefix?: string): CfsEntryInfo[] {
    return this.store.list(prefix);
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
    const quorate = this.engine.stackSnapshot().quorum.quorate;
    const result = new Promise<CfsResult>((resolve) => {
      const timer = setTimeout(() => this.giveUp(req, `no delivery within ${WRITE_TIMEOUT_MS} ms`), WRITE_TIMEOUT_MS);
      this.pending.set(req, (outcome) => {
        clearTimeout(timer);
        resolve(outcome);
      });
    });
    this.feed(
      write.type === 'put' ? { ...write, req, mtime: write.mtime ?? Date.now(), quorate } : { ...write, req, quorate },
    );
    return result;
  }

  close(): void {
    clearTimeout(this.retryTimer);
    for (const req of [...this.pending.keys()]) this.giveUp(req, 'the daemon is stopping');
    this.store.close();
  }

  /** Calls `listener` after every step that committed a write or finished a synchronisation. */
  onChange(listener: () => void): void {
    this.changeListeners.push(listener);
  }

  private feed(event: CfsEvent): void {
    const seqBefore = this.store.appliedSeq();
    const syncsBefore = this.core.counters.syncs;
    for (const action of this.core.step(event)) this.dispatch(action);
    if (this.store.appliedSeq() !== seqBefore || this.core.counters.syncs !== syncsBefore) {
      for (const listener of this.changeListeners) listener();
    }
  }

  private dispatch(action: CfsAction): void {
    switch (action.type) {
      case 'multicast':
        this.outbox.push(action.payload);
        this.flush();
        break;
      case 'done':
        this.settle(action.req, action.result);
        break;
      case 'log':
        this.log(action.level, action.message);
        break;
    }
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

  /** Sends queued payloads in order; when even the engine's wait queue is full, tries again shortly. */
  private flush(): void {
    if (this.retryTimer) return;
    while (this.outbox.length > 0) {
      try {
        // Either sent now or waiting, in order, in the engine's queue (it rejects only when the engine stops).
        this.engine
          .cpgMulticast(CFS_GROUP, CFS_PID, this.outbox[0]!)
          ?.catch(() => this.log('warning', 'a store message was dropped: the engine is stopping'));
      } catch (error) {
        if (!(error instanceof EngineRefusal)) throw error;
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.flush();
        }, RETRY_MS);
        return;
      }
      this.outbox.shift();
    }
  }
}
