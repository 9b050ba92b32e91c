/** One joined CPG (closed process group): send to it, receive its messages and membership changes. */
import { EventEmitter } from 'node:events';
import { BackpressureError, ClientClosedError, DaemonRequestError } from './errors.ts';

/** Longest CPG group name in UTF-8 bytes (corosync's `CPG_MAX_NAME_LENGTH`). */
export { GROUP_NAME_BYTES_MAX } from '../base/limits.ts';

/** A message delivered to the group, in the same total order at every member (the sender receives its own). */
export interface CpgMessage {
  /** Node of the sending process. */
  nodeid: number;
  /** Process id of the sender on that node. */
  pid: number;
  data: Uint8Array;
}

/** A `(nodeid, pid)` pair: one process in a group. */
export interface CpgAddress {
  nodeid: number;
  pid: number;
  /** In `joined`/`left`: why, in corosync's words (`CPG_REASON_JOIN`, `CPG_REASON_LEAVE`, `CPG_REASON_NODEDOWN`, …). */
  reason?: string;
}

/** A change of the group's membership (corosync's `cpg_confchg_fn`). */
export interface CpgConfchg {
  members: CpgAddress[];
  left: CpgAddress[];
  joined: CpgAddress[];
}

/** Events of a `CpgGroup`. */
export interface CpgGroupEvents {
  message: [CpgMessage];
  confchg: [CpgConfchg];
}

/** What a group needs from its client: calls over the admin socket, and forgetting the group after leave. */
export interface CpgGroupHost {
  call(method: string, params: Record<string, unknown>): Promise<unknown>;
  forgetGroup(name: string): void;
}

/**
 * True when the daemon's answer to `cpgMcast` means "queue full": the contract's only `refused` answer to
 * `cpgMcast` is the backpressure one (its message says `backpressure`); a `backpressure` code is accepted too.
 */
function isBackpressure(error: unknown): boolean {
  return error instanceof DaemonRequestError && (error.code === 'refused' || error.code === 'backpressure');
}

/**
 * A joined group, made by `client.cpgJoin(name)`. Emits `message` and `confchg`, starting with the confchg of
 * its own join (events are held until the code after `await cpgJoin()` ran). After a daemon restart the client
 * re-joins it automatically (messages multicast while the client was disconnected are not received).
 */
export class CpgGroup extends EventEmitter<CpgGroupEvents> {
  private left = false;
  /** Events that arrived before the join completed; null once released. */
  private held: (() => void)[] | null = [];

  constructor(
    /** The group name. */
    readonly name: string,
    private readonly host: CpgGroupHost,
  ) {
    super();
  }

  /**
   * Multicasts `data` (a string is sent as UTF-8) to every member, this process included. Resolves once the
   * daemon queued it. Rejects with `BackpressureError` when the daemon's queue is full: nothing was sent,
   * the caller retries later. Rejects with `DaemonUnavailableError` when the daemon is not reachable.
   */
  async send(data: Uint8Array | string): Promise<void> {
    if (this.left) throw new ClientClosedError(`group ${this.name}`);
    // A copy: the caller may reuse its buffer before the socket took the bytes.
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    try {
      await this.host.call('cpgMcast', { group: this.name, data: bytes });
    } catch (error) {
      if (isBackpressure(error))
        throw new BackpressureError(`the daemon's send queue for group ${this.name} is full; retry later`, this.name);
      throw error;
    }
  }

  /** Leaves the group; the group object is unusable afterwards. */
  async leave(): Promise<void> {
    if (this.left) return;
    this.left = true;
    this.host.forgetGroup(this.name);
    await this.host.call('cpgLeave', { group: this.name });
  }

  /** True once `leave()` was called or the client was closed. */
  get closed(): boolean {
    return this.left;
  }

  /** @internal The client routes a `cpgDeliver` event here. */
  deliver(message: CpgMessage): void {
    this.dispatch(() => this.emit('message', message));
  }

  /** @internal The client routes a `cpgConfchg` event here. */
  confchg(change: CpgConfchg): void {
    this.dispatch(() => this.emit('confchg', change));
  }

  /**
   * @internal The join succeeded: emit the held events on the next turn of the event loop, when the code after
   * `await client.cpgJoin()` has attached its listeners (so the confchg of the own join is never missed).
   */
  release(): void {
    setImmediate(() => {
      const held = this.held ?? [];
      this.held = null;
      for (const emit of held) emit();
    });
  }

  private dispatch(emit: () => void): void {
    if (this.held) this.held.push(emit);
    else emit();
  }

  /** @internal The client was closed. */
  markClosed(): void {
    this.left = true;
  }
}
