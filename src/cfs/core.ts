/**
 * The replicated state machine of the file store (docs/cfs.md). It sees the cluster's membership (one member per
 * node): configuration changes and messages in agreed order. Writes are applied by every node in
 * delivery order and numbered by a cluster-wide sequence; after every configuration change the members agree on
 * one state (summaries, then the source's full state) before writes are accepted again.
 *
 * No sockets, timers or clocks: the driver (src/daemon/cfs-engine.ts, a service engine of the stack) passes `mtime`
 * and the quorum state in, multicasts the `multicast` actions in agreed order and answers clients on `done`. The
 * store is the only side effect: the {@link CfsStorage} the driver hands in (SQLite in the daemon). A storage call
 * that throws (disk full, no file descriptor left) never ends the node: its copy is marked stale (see `failure`).
 */
import { type CfsMessage, decodeCfsMessage, encodeCfsMessage, type StateEntryHeader } from './codec.ts';
import { FILE_BYTES_MAX, pathProblem, TOTAL_BYTES_MAX } from './limits.ts';
import type { CfsEntry, CfsStore } from './store.ts';

/** What the core reads and writes of the node's copy (CfsStore; anything with the same methods in a test). */
export type CfsStorage = Pick<
  CfsStore,
  'appliedSeq' | 'epoch' | 'totalBytes' | 'get' | 'entries' | 'put' | 'rm' | 'replace' | 'digest'
>;

/** Why a write failed: maps to the admin socket's error codes. `unknown`: the driver gave up waiting (see docs). */
export type CfsErrorCode = 'invalid' | 'not_quorate' | 'syncing' | 'not_found' | 'too_big' | 'unknown' | 'storage';

/** Why the node's storage failed, as counted (`corolink_cfs_store_failures_total{reason}`). */
export const STORAGE_FAILURE_REASONS = ['disk_full', 'no_descriptor', 'io', 'other'] as const;
export type StorageFailureReason = (typeof STORAGE_FAILURE_REASONS)[number];

export type CfsResult = { ok: true; version: number } | { ok: false; code: CfsErrorCode; message: string };

export type CfsEvent =
  /**
   * The old ring's transitional configuration: its messages still delivered are applied as before (a member that
   * delivered one in the regular configuration may have acknowledged it), new writes are refused.
   */
  | { type: 'transitional' }
  /** A new regular configuration: writes stop (refused, or dropped when delivered) until its sync. */
  | { type: 'suspend' }
  /**
   * The view of `members`, ring seq `ring`, starts: its sync begins (summaries, then the source's state if they
   * differ).
   */
  | { type: 'confchg'; members: number[]; ring: number }
  /** `quorate`: votequorum's verdict at this point of the agreed order (a sync it ends may settle writes in doubt). */
  | { type: 'deliver'; sender: number; payload: Uint8Array; quorate: boolean }
  | { type: 'put'; req: number; path: string; data: Uint8Array; mtime: number; quorate: boolean }
  | { type: 'rm'; req: number; path: string; quorate: boolean }
  /** The driver found the stale copy's storage working again: ask every member to sync once more. */
  | { type: 'resync' }
  /** The driver's commit of the applied writes failed (`what`); they were rolled back: the copy is stale. */
  | { type: 'storeFailed'; error: unknown; what: string };

export type CfsAction =
  | { type: 'multicast'; payload: Uint8Array }
  | { type: 'done'; req: number; result: CfsResult }
  | { type: 'log'; level: 'notice' | 'warning'; message: string };

/** What each node reported in its summary. */
interface Summary {
  seq: number;
  epoch: number;
  digest: string;
  stale: boolean;
}

/** Phase: `joining` before the first view, `syncing` from a view until agreement, then `synced`. */
export type CfsPhase = 'joining' | 'syncing' | 'synced';

/** Counters for metrics and tests. */
export interface CfsCounters {
  writes: number;
  refused: Record<CfsErrorCode, number>;
  syncs: number;
  stateTransfers: number;
  /** Storage calls that threw, by reason. */
  storageFailures: Record<StorageFailureReason, number>;
}

/**
 * An own write delivered only in the transitional configuration: applied here as write `seq`, its answer waits for
 * the sync of a quorate configuration, whose history decides whether it was kept (see `settleInDoubt`).
 */
type WriteInDoubt = { req: number; seq: number } & (
  | { type: 'put'; path: string; data: Uint8Array; mtime: number }
  | { type: 'rm'; path: string }
);

const sameMembers = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((n, i) => n === b[i]);

export class CfsCore {
  readonly counters: CfsCounters = {
    writes: 0,
    refused: { invalid: 0, not_quorate: 0, syncing: 0, not_found: 0, too_big: 0, unknown: 0, storage: 0 },
    syncs: 0,
    stateTransfers: 0,
    storageFailures: { disk_full: 0, no_descriptor: 0, io: 0, other: 0 },
  };
  private phaseValue: CfsPhase = 'joining';
  private members: number[] = [];
  private summaries = new Map<number, Summary>();
  /** The node whose state everybody takes in this sync (undefined until every summary is in). */
  private source: number | undefined;
  private incoming: CfsEntry[] = [];
  private failureValue: string | undefined;
  /** Seq of the current regular configuration's ring: the epoch of the writes delivered in it (or its transitional). */
  private ring = 0;
  /** From the transitional configuration to the next regular one: own writes delivered then are in doubt. */
  private transitional = false;
  /**
   * Own writes in doubt until a quorate configuration's sync. Bounded by the writes in flight when a ring broke:
   * none is taken from the transitional configuration until a quorate sync (refused "syncing" or "not_quorate").
   */
  private inDoubt: WriteInDoubt[] = [];

  constructor(
    private readonly localNodeId: number,
    private readonly store: CfsStorage,
    private readonly chunkBytes = FILE_BYTES_MAX,
  ) {}

  get phase(): CfsPhase {
    return this.phaseValue;
  }

  /**
   * Set from a storage failure until this node's copy is whole again: a write this node could not store was
   * applied by the others, so its copy misses it. While set, the node refuses writes and drops delivered ones
   * (applying later writes on a copy with a gap would make it diverge silently), the daemon refuses reads, and the
   * next sync replaces the copy with a healthy member's (`resync` asks for one once the storage works).
   */
  get failure(): string | undefined {
    return this.failureValue;
  }

  /** The nodes of the current view of the group, sorted. */
  get view(): readonly number[] {
    return this.members;
  }

  step(event: CfsEvent): CfsAction[] {
    switch (event.type) {
      case 'transitional':
        this.transitional = true;
        return [];
      case 'suspend':
        this.transitional = false;
        if (this.phaseValue !== 'joining') this.restartSync([]);
        return [];
      case 'confchg':
        this.ring = event.ring;
        return this.onConfchg(event.members);
      case 'deliver':
        return this.onDeliver(event.sender, event.payload, event.quorate);
      case 'put':
      case 'rm':
        return this.submit(event);
      case 'resync':
        return this.failureValue !== undefined && this.phaseValue === 'synced'
          ? [{ type: 'multicast', payload: encodeCfsMessage({ type: 'resync', members: this.members }) }]
          : [];
      case 'storeFailed':
        return this.fail(event.error, event.what);
    }
  }

  private submit(event: Extract<CfsEvent, { type: 'put' | 'rm' }>): CfsAction[] {
    const refusal = this.checkSubmit(event);
    if (refusal) return [this.refuse(event.req, refusal[0], refusal[1])];
    const origin = this.localNodeId;
    const message: CfsMessage =
      event.type === 'put'
        ? { type: 'put', origin, req: event.req, path: event.path, mtime: event.mtime, data: event.data }
        : { type: 'rm', origin, req: event.req, path: event.path };
    return [{ type: 'multicast', payload: encodeCfsMessage(message) }];
  }

  private checkSubmit(event: Extract<CfsEvent, { type: 'put' | 'rm' }>): [CfsErrorCode, string] | undefined {
    const problem = pathProblem(event.path);
    if (problem) return ['invalid', problem];
    // The codec carries whole milliseconds only: a fraction would make every node drop the message, unanswered.
    if (event.type === 'put' && !Number.isSafeInteger(event.mtime)) {
      return ['invalid', `mtime ${event.mtime} of ${event.path} is not a whole number of milliseconds`];
    }
    if (event.type === 'put' && event.data.byteLength > FILE_BYTES_MAX) {
      return ['too_big', `file of ${event.data.byteLength} bytes is larger than the limit of ${FILE_BYTES_MAX}`];
    }
    if (!event.quorate) return ['not_quorate', 'this node is not quorate: the store is read-only'];
    if (this.failureValue !== undefined) return ['storage', this.staleMessage()];
    if (this.phaseValue !== 'synced' || this.transitional) {
      return ['syncing', 'the store is synchronising after a membership change; retry'];
    }
    return this.checkApply(
      event.type === 'put' ? { path: event.path, size: event.data.byteLength } : { path: event.path },
    );
  }

  /** Checks that depend on the store (identical on every synced node, so the outcome is agreed). */
  private checkApply(write: { path: string; size?: number }): [CfsErrorCode, string] | undefined {
    const current = this.store.get(write.path);
    if (write.size === undefined) return current ? undefined : ['not_found', `no such file: ${write.path}`];
    const total = this.store.totalBytes() - (current?.data.byteLength ?? 0) + write.size;
    if (total > TOTAL_BYTES_MAX) return ['too_big', `the store would exceed its limit of ${TOTAL_BYTES_MAX} bytes`];
    return undefined;
  }

  private refuse(req: number, code: CfsErrorCode, message: string): CfsAction {
    this.counters.refused[code]++;
    return { type: 'done', req, result: { ok: false, code, message } };
  }

  /** Forgets the sync under way: writes wait for the sync of the view of `members`. */
  private restartSync(members: number[]): void {
    this.members = [...members].sort((a, b) => a - b);
    this.phaseValue = 'syncing';
    this.summaries = new Map();
    this.source = undefined;
    this.incoming = [];
  }

  private onConfchg(members: number[]): CfsAction[] {
    this.restartSync(members);
    const actions: CfsAction[] = [];
    let digest = '';
    try {
      digest = this.store.digest();
    } catch (error) {
      actions.push(...this.fail(error, 'cannot read the copy for the sync summary'));
    }
    const stale = this.failureValue !== undefined;
    const summary: CfsMessage = {
      type: 'summary',
      members: this.members,
      seq: this.store.appliedSeq(),
      epoch: this.store.epoch(),
      digest,
      stale,
    };
    return [...actions, { type: 'multicast', payload: encodeCfsMessage(summary) }];
  }

  private onDeliver(sender: number, payload: Uint8Array, quorate: boolean): CfsAction[] {
    const message = decodeCfsMessage(payload);
    if (!message)
      return [{ type: 'log', level: 'warning', message: `dropped a malformed message from node ${sender}` }];
    switch (message.type) {
      case 'put':
      case 'rm':
        return this.applyWrite(message);
      case 'summary':
        return this.onSummary(sender, message, quorate);
      case 'state':
        if (this.isFromSource(sender, message.members))
          this.incoming.push(...unpackState(message.entries, message.data));
        return [];
      case 'stateEnd':
        return this.isFromSource(sender, message.members) ? this.finishTransfer(message, quorate) : [];
      case 'resync':
        // Every member meets it at the same point of the agreed stream: all restart the sync of this view.
        return this.phaseValue !== 'joining' && sameMembers(message.members, this.members)
          ? this.onConfchg(this.members)
          : [];
    }
  }

  private applyWrite(message: Extract<CfsMessage, { type: 'put' | 'rm' }>): CfsAction[] {
    const mine = message.origin === this.localNodeId;
    if (this.phaseValue !== 'synced') {
      // Every member is in the same phase at this point of the agreed stream: all drop it.
      return mine ? [this.refuse(message.req, 'syncing', 'a membership change interrupted the write; retry')] : [];
    }
    if (this.failureValue !== undefined) {
      // The copy already misses a write: this one is dropped too, and the next sync brings both.
      return mine ? [this.refuse(message.req, 'storage', this.staleMessage())] : [];
    }
    const seq = this.store.appliedSeq() + 1;
    try {
      const refusal = this.checkApply(
        message.type === 'put' ? { path: message.path, size: message.data.byteLength } : message,
      );
      if (refusal) return mine ? [this.refuse(message.req, refusal[0], refusal[1])] : [];
      if (message.type === 'put') this.store.put(seq, this.ring, message.path, message.data, message.mtime);
      else this.store.rm(seq, this.ring, message.path);
    } catch (error) {
      const actions = this.fail(error, `cannot store write ${seq} (${message.path})`);
      return mine ? [...actions, this.refuse(message.req, 'storage', this.staleMessage())] : actions;
    }
    this.counters.writes++;
    if (!mine) return [];
    if (this.transitional) {
      // Applied by every member of my transitional configuration, but the next primary component may keep another
      // partition's history (docs/cfs.md, "Synchronisation"): answered after its sync.
      this.inDoubt.push({ ...message, seq });
      return [];
    }
    return [{ type: 'done', req: message.req, result: { ok: true, version: seq } }];
  }

  /** Marks the copy stale after a storage call threw; logs once per episode (until the copy is whole again). */
  private fail(error: unknown, what: string): CfsAction[] {
    const reason = storageFailureReason(error);
    this.counters.storageFailures[reason]++;
    if (this.failureValue !== undefined) return [];
    this.failureValue = `${what}: ${errorText(error)}`;
    return [
      {
        type: 'log',
        level: 'warning',
        message: `${this.failureValue}; this node's copy is stale: writes and reads refused until it re-syncs from the others once it can store again`,
      },
    ];
  }

  private staleMessage(): string {
    return `this node could not store a write (${this.failureValue}); its copy re-syncs from the others once it can store again; not applied here, retry`;
  }

  private onSummary(sender: number, message: Extract<CfsMessage, { type: 'summary' }>, quorate: boolean): CfsAction[] {
    if (this.phaseValue !== 'syncing' || !sameMembers(message.members, this.members)) return [];
    if (!this.members.includes(sender)) return [];
    this.summaries.set(sender, {
      seq: message.seq,
      epoch: message.epoch ?? 0,
      digest: message.digest,
      stale: message.stale === true,
    });
    if (this.summaries.size < this.members.length) return [];
    // Every summary is in: the source holds the newest history — the highest epoch, then the highest sequence,
    // ties to the lowest node id (members are sorted) — among the members whose copy is not stale when there is one.
    const summary = (node: number) => this.summaries.get(node)!;
    const healthy = this.members.filter((n) => !summary(n).stale);
    const candidates = healthy.length > 0 ? healthy : this.members;
    let source = candidates[0]!;
    for (const node of candidates) if (isNewer(summary(node), summary(source))) source = node;
    const best = summary(source);
    if (this.members.every((n) => !summary(n).stale && summary(n).digest === best.digest))
      return this.finishSync(quorate);
    this.source = source;
    return source === this.localNodeId ? this.sendState() : [];
  }

  private isFromSource(sender: number, members: number[]): boolean {
    return this.phaseValue === 'syncing' && sender === this.source && sameMembers(members, this.members);
  }

  /**
   * The source multicasts its whole state in chunks that each fit one CPG message, then `stateEnd`. A source that
   * cannot read its copy marks it stale and asks for a resync, so the others pick another source.
   */
  private sendState(): CfsAction[] {
    try {
      return this.stateMessages();
    } catch (error) {
      return [
        ...this.fail(error, 'cannot read the copy to send it'),
        { type: 'multicast', payload: encodeCfsMessage({ type: 'resync', members: this.members }) },
      ];
    }
  }

  private stateMessages(): CfsAction[] {
    const actions: CfsAction[] = [];
    const flush = (entries: CfsEntry[]) => {
      const headers: StateEntryHeader[] = entries.map((e) => ({
        path: e.path,
        version: e.version,
        mtime: e.mtime,
        size: e.data.byteLength,
      }));
      const data = Buffer.concat(entries.map((e) => e.data));
      actions.push({
        type: 'multicast',
        payload: encodeCfsMessage({ type: 'state', members: this.members, entries: headers, data }),
      });
    };
    let chunk: CfsEntry[] = [];
    let bytes = 0;
    for (const entry of this.store.entries()) {
      const cost = entry.data.byteLength + Buffer.byteLength(entry.path) + 64;
      if (chunk.length > 0 && bytes + cost > this.chunkBytes) {
        flush(chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push(entry);
      bytes += cost;
    }
    if (chunk.length > 0) flush(chunk);
    const end: CfsMessage = {
      type: 'stateEnd',
      members: this.members,
      seq: this.store.appliedSeq(),
      epoch: this.store.epoch(),
      digest: this.store.digest(),
    };
    actions.push({ type: 'multicast', payload: encodeCfsMessage(end) });
    return actions;
  }

  private finishTransfer(end: Extract<CfsMessage, { type: 'stateEnd' }>, quorate: boolean): CfsAction[] {
    const actions: CfsAction[] = [];
    const wasStale = this.failureValue !== undefined;
    try {
      // A stale copy is replaced even when it looks equal: that also proves it can be written again.
      const epoch = end.epoch ?? 0;
      const differs =
        wasStale ||
        this.store.appliedSeq() !== end.seq ||
        this.store.epoch() !== epoch ||
        this.store.digest() !== end.digest;
      if (differs && this.source !== this.localNodeId) {
        this.store.replace(end.seq, epoch, this.incoming);
        this.counters.stateTransfers++;
        actions.push({
          type: 'log',
          level: 'notice',
          message: `took the state of node ${this.source} (write ${end.seq}, ${this.incoming.length} files)`,
        });
      }
      this.failureValue = undefined;
      if (wasStale)
        actions.push({ type: 'log', level: 'notice', message: 'the copy is whole again: writes and reads resume' });
    } catch (error) {
      actions.push(...this.fail(error, `cannot store the state of node ${this.source}`));
    }
    return [...actions, ...this.finishSync(quorate)];
  }

  private finishSync(quorate: boolean): CfsAction[] {
    this.phaseValue = 'synced';
    this.source = undefined;
    this.incoming = [];
    this.counters.syncs++;
    const log: CfsAction = {
      type: 'log',
      level: 'notice',
      message: `synchronised with nodes ${this.members.join(' ')} at write ${this.store.appliedSeq()}`,
    };
    // A copy that could not take the agreed state is no evidence: its writes in doubt wait for the resync.
    if (!quorate || this.failureValue !== undefined || this.inDoubt.length === 0) return [log];
    const settled = this.inDoubt.map((write) => this.settleInDoubt(write));
    this.inDoubt = [];
    return [log, ...settled];
  }

  /**
   * The answer to an own write in doubt, from the copy a quorate configuration agreed on. Every node that applied
   * it did so as write `seq` (the same ring, the same order from the same synced copy), so the copy keeps a put when
   * its path still holds it; it did not keep the write when the copy never reached `seq` or the path holds another
   * write of `seq` or an older one. A later write to the path (or its absence) hides the answer: unknown.
   */
  private settleInDoubt(write: WriteInDoubt): CfsAction {
    const entry = this.store.get(write.path);
    const kept =
      write.type === 'put' &&
      entry?.version === write.seq &&
      entry.mtime === write.mtime &&
      Buffer.compare(entry.data, write.data) === 0;
    if (kept) return { type: 'done', req: write.req, result: { ok: true, version: write.seq } };
    const lost = this.store.appliedSeq() < write.seq || (entry !== undefined && entry.version <= write.seq);
    return lost
      ? this.refuse(
          write.req,
          'syncing',
          'a membership change interrupted the write: the cluster did not keep it; retry',
        )
      : this.refuse(write.req, 'unknown', IN_DOUBT_MESSAGE);
  }
}

const IN_DOUBT_MESSAGE =
  'a membership change interrupted the write and a later write to the path hides whether the cluster kept it; read it back';

/** Whether copy `a` holds a newer history than `b`: its last write came from a later ring, or it has more writes. */
function isNewer(a: Summary, b: Summary): boolean {
  return a.epoch !== b.epoch ? a.epoch > b.epoch : a.seq > b.seq;
}

/** The reason a storage call threw, from SQLite's result code or the system error code. */
function storageFailureReason(error: unknown): StorageFailureReason {
  const code = String((error as { code?: unknown }).code ?? '');
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT') return 'disk_full';
  if (code === 'SQLITE_CANTOPEN' || code === 'EMFILE' || code === 'ENFILE') return 'no_descriptor';
  if (code.startsWith('SQLITE_IOERR') || code === 'EIO') return 'io';
  return 'other';
}

function errorText(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' ? `${code}: ${message}` : message;
}

/** The entries of one STATE chunk: headers plus their contents back to back. */
function unpackState(headers: StateEntryHeader[], data: Uint8Array): CfsEntry[] {
  let offset = 0;
  return headers.map((h) => {
    const entry = { path: h.path, version: h.version, mtime: h.mtime, data: data.subarray(offset, offset + h.size) };
    offset += h.size;
    return entry;
  });
}
