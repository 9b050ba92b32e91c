/** One joined CPG (closed process group): send to it, receive its messages and membership changes. */
import { EventEmitter } from 'node:events';
import { isBackpressure } from './busy-retry.ts';
import { BackpressureError, ClientClosedError, type CorolinkError } from './errors.ts';
import { QueuedIterator } from './queued-iterator.ts';

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

/**
 * How Totem delivers a group's messages (libcpg's CPG_TYPE_AGREED / CPG_TYPE_SAFE). `agreed`: in the same total
 * order everywhere, as soon as the order is known. `safe`: the same order, but delivered (at the sender too) only
 * once every member of the ring has the message — a member that delivered it knows all others will.
 */
export type CpgDelivery = 'agreed' | 'safe';

/** Options of `client.cpgJoin(name, options)`. */
export interface CpgJoinOptions {
  /** The delivery of every message this process sends to the group; default `agreed`. */
  delivery?: CpgDelivery;
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
  /** `writable` is true again: a send goes straight to the daemon (none waits in the group). */
  drain: [];
  /**
   * The re-join after a reconnect failed (the daemon refused it, stayed busy, or did not answer): this process is
   * no longer in the group, which is closed. Without a listener Node throws it (the process ends), never silent.
   */
  error: [CorolinkError];
}

/** Who is told how a call went (`CpgGroupHost.request`): its result, or why it failed. */
export interface CallAnswer {
  resolve(result: unknown): void;
  reject(error: Error): void;
}

/** What a group needs from its client: calls over the admin socket, and forgetting the group after leave. */
export interface CpgGroupHost {
  call(method: string, params: Record<string, unknown>): Promise<unknown>;
  /** `call` with the answer told to `answer` (no promise): how each send goes. */
  request(method: string, params: Record<string, unknown>, answer: CallAnswer): void;
  /** `call`, again while the daemon answers it is busy (a join or leave during a sync; ./busy-retry.ts). */
  callRetryingBusy(method: 'cpgJoin' | 'cpgLeave', group: string): Promise<unknown>;
  forgetGroup(name: string): void;
  /** Bound of a `messages()` iterator's queue (the client's `maxQueuedEvents`). */
  maxQueuedEvents: number;
}

/**
 * Sends of one group with the daemon at once; more wait in the group, in order (they resolve as room frees). 256,
 * not 64: a client under the normal scheduler beside real-time daemons waits for a CPU most of the time, and each
 * turn it gets hands over up to this many (64 B under SCHED_RR: 1.3–2.1× the msgs/s of 64, docs/benchmarks.md).
 * Not more: the daemon lets 1,024 multicasts of all its clients wait for Totem's queue, then refuses.
 */
export const CPG_SENDS_IN_FLIGHT_MAX = 256;
/**
 * Bytes of those sends with the daemon at once (one send always goes, whatever its size): 256 sends of 64 KiB at
 * once were more than the client's DEFAULT_MAX_UNSENT_BYTES; 4 MiB is what 64 of them were.
 */
export const CPG_SEND_BYTES_IN_FLIGHT_MAX = 4 * 1024 * 1024;
/** Sends that may wait in a group for room; one more rejects with `BackpressureError`. */
export const CPG_SENDS_WAITING_MAX = 4096;
/** After the daemon refused a send with nothing else in flight to wait for: the retry's delay (plus jitter). */
const REFUSED_SEND_RETRY_MS = 5;

/** The error an aborted wait rejects with: the signal's reason, as Node's own APIs do. */
function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException('This operation was aborted', 'AbortError');
}

/** One `send()`: its bytes and its caller's promise; the daemon's answer to its `cpgMcast` goes to its group. */
class Send implements CallAnswer {
  onAbort: (() => void) | undefined = undefined;

  constructor(
    private readonly group: CpgGroup,
    /** The group's numbering of this process's sends (u32, wraps): the daemon keeps their order through a refusal. */
    readonly seq: number,
    readonly bytes: Buffer,
    /** The caller's promise: resolved once the daemon queued the message, or rejected. */
    readonly queued: () => void,
    readonly failed: (error: Error) => void,
    readonly signal: AbortSignal | undefined,
  ) {}

  resolve(): void {
    this.group.answered(this);
  }

  reject(error: Error): void {
    this.group.answered(this, error);
  }
}

/**
 * A joined group, made by `client.cpgJoin(name)`. Emits `message` and `confchg`, starting with the confchg of
 * its own join (events are held until the code after `await cpgJoin()` ran). After a daemon restart the client
 * re-joins it automatically (messages multicast while the client was disconnected are not received) and `local`
 * changes to the new connection's address; a re-join that fails closes the group and emits `error`.
 *
 * Flow control: `send()` resolves once the daemon queued the message. At most CPG_SENDS_IN_FLIGHT_MAX sends are
 * with the daemon at once; more wait here in order, `writable` turns false, and `drain` is emitted when they all
 * went through. A daemon whose queue is full makes the group retry by itself; a caller only sees
 * `BackpressureError` when more than CPG_SENDS_WAITING_MAX sends wait here.
 */
export class CpgGroup extends EventEmitter<CpgGroupEvents> {
  private left = false;
  /** Events that arrived before the join completed; null once released. */
  private held: (() => void)[] | null = [];
  private address: CpgAddress;
  private readonly waiting: Send[] = [];
  /** Sends the daemon refused (its queue was full), in seq order: they go again, first, once none is in flight. */
  private readonly refused: Send[] = [];
  private nextSeq = 0;
  private inFlight = 0;
  private inFlightBytes = 0;
  private readonly iterators = new Set<QueuedIterator<CpgMessage>>();
  private needDrain = false;
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(
    /** The group name. */
    readonly name: string,
    private readonly host: CpgGroupHost,
    local: CpgAddress,
    /** The delivery of this process's sends to the group (chosen at `cpgJoin`). */
    readonly delivery: CpgDelivery = 'agreed',
  ) {
    super();
    this.address = local;
  }

  /** This process's own address in the group (libcpg's cpg_local_get); its own messages carry it. */
  get local(): CpgAddress {
    return this.address;
  }

  /** True when `message` is one this process sent. */
  isOwn(message: CpgMessage): boolean {
    return message.nodeid === this.address.nodeid && message.pid === this.address.pid;
  }

  /** Whether a send now goes straight to the daemon; when false, `drain` follows once one would again. */
  get writable(): boolean {
    return !this.left && this.waiting.length === 0 && this.refused.length === 0 && this.hasRoom;
  }

  /** Whether one more send may go to the daemon (CPG_SENDS_IN_FLIGHT_MAX, CPG_SEND_BYTES_IN_FLIGHT_MAX). */
  private get hasRoom(): boolean {
    return this.inFlight < CPG_SENDS_IN_FLIGHT_MAX && this.inFlightBytes < CPG_SEND_BYTES_IN_FLIGHT_MAX;
  }

  /**
   * Multicasts `data` (a string is sent as UTF-8) to every member, this process included. Resolves once the
   * daemon queued it; waits, in order, while the daemon is busy (see the class comment). `signal` aborts a send
   * that still waits here (nothing was sent). Rejects with `BackpressureError` when CPG_SENDS_WAITING_MAX sends
   * wait already, with `DaemonUnavailableError` when the daemon is not reachable.
   */
  send(data: Uint8Array | string, options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.left) return Promise.reject(new ClientClosedError(`group ${this.name}`));
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.waiting.length >= CPG_SENDS_WAITING_MAX) {
      return Promise.reject(
        new BackpressureError(
          `${this.waiting.length} sends to group ${this.name} wait already; retry later`,
          this.name,
        ),
      );
    }
    // A copy: the caller may reuse its buffer before the socket took the bytes.
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    return new Promise((resolve, reject) => {
      const send = new Send(this, this.nextSeq, bytes, resolve, reject, signal);
      this.nextSeq = (this.nextSeq + 1) >>> 0;
      if (signal) {
        send.onAbort = () => {
          const index = this.waiting.indexOf(send);
          if (index === -1) return; // already with the daemon: it cannot be taken back
          this.waiting.splice(index, 1);
          reject(abortReason(signal));
          this.pump();
        };
        signal.addEventListener('abort', send.onAbort, { once: true });
      }
      this.waiting.push(send);
      this.pump();
      if (!this.writable) this.needDrain = true;
    });
  }

  /** The group's members as the daemon sees them now (libcpg's cpg_membership_get), ascending. */
  async members(): Promise<CpgAddress[]> {
    const result = (await this.host.call('cpgMembership', { group: this.name })) as { members: CpgAddress[] };
    return result.members;
  }

  /**
   * The group's messages as an async iterator, from now on, until `break`, `signal`, `leave()` or the client's
   * close. More than the client's `maxQueuedEvents` unread ends it with `EventOverflowError`.
   */
  messages(options: { signal?: AbortSignal } = {}): AsyncIterableIterator<CpgMessage> {
    const { signal } = options;
    const listener = (message: CpgMessage) => iterator.push(message);
    const onAbort = () => void iterator.return();
    const iterator = new QueuedIterator<CpgMessage>(`group ${this.name}`, this.host.maxQueuedEvents, () => {
      this.off('message', listener);
      this.iterators.delete(iterator);
      signal?.removeEventListener('abort', onAbort);
    });
    this.iterators.add(iterator);
    this.on('message', listener);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    return iterator;
  }

  /**
   * Leaves the group; the group object is unusable afterwards. Sends still waiting here reject. A daemon busy with
   * a sync is asked again (bounded: then `BackpressureError`); one that has this process outside the group answers
   * `not_found`.
   */
  async leave(): Promise<void> {
    if (this.left) return;
    this.markClosed();
    this.host.forgetGroup(this.name);
    await this.host.callRetryingBusy('cpgLeave', this.name);
  }

  /** `await using group = await client.cpgJoin(…)`: leaves at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.leave();
  }

  /** True once `leave()` was called or the client was closed. */
  get closed(): boolean {
    return this.left;
  }

  /** @internal The client routes a `cpgDeliver` event here. */
  deliver(message: CpgMessage): void {
    // No closure per message once released (the usual case: every delivery of a busy group comes here).
    if (this.held) this.held.push(() => this.emit('message', message));
    else this.emit('message', message);
  }

  /** @internal The client routes a `cpgConfchg` event here. */
  confchg(change: CpgConfchg): void {
    this.dispatch(() => this.emit('confchg', change));
  }

  /** @internal Re-joined after a reconnect: the new connection's address. */
  rejoined(local: CpgAddress): void {
    this.address = local;
  }

  /** @internal The re-join after a reconnect failed: closed (the client forgot it), then `error` says why. */
  rejoinFailed(error: CorolinkError): void {
    this.markClosed();
    this.emit('error', error);
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

  /** @internal The client was closed (or the group left): waiting sends reject, iterators end. */
  markClosed(): void {
    this.left = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const error = new ClientClosedError(`group ${this.name}`);
    for (const send of [...this.refused.splice(0), ...this.waiting.splice(0)]) this.settle(send, error);
    for (const iterator of [...this.iterators]) iterator.end();
  }

  private dispatch(emit: () => void): void {
    if (this.held) this.held.push(emit);
    else emit();
  }

  /** Hands waiting sends to the daemon while it has room for them (`hasRoom`). */
  private pump(): void {
    while (!this.left && this.refused.length === 0 && this.hasRoom) {
      const send = this.waiting.shift();
      if (send === undefined) break;
      this.inFlight++;
      this.inFlightBytes += send.bytes.length;
      // `delivery` only when safe: a daemon without the field answers an agreed send as before.
      const params =
        this.delivery === 'safe'
          ? { group: this.name, data: send.bytes, seq: send.seq, delivery: this.delivery }
          : { group: this.name, data: send.bytes, seq: send.seq };
      this.host.request('cpgMcast', params, send);
    }
    if (this.needDrain && this.writable) {
      this.needDrain = false;
      this.emit('drain');
    }
  }

  /** @internal The daemon's answer to `send`'s cpgMcast (Send's CallAnswer). */
  answered(send: Send, error?: Error): void {
    this.inFlight--;
    this.inFlightBytes -= send.bytes.length;
    if (error !== undefined && isBackpressure(error)) {
      // Refused, so not sent; after leave() it never will be.
      if (this.left) {
        this.settle(send, new ClientClosedError(`group ${this.name}`));
        return;
      }
      // The daemon's queue is full. It refuses every later send of ours too until this one comes back (seq), so
      // nothing overtakes it: once no send is in flight, the refused ones go again first, in order.
      this.refused.push(send);
      if (this.inFlight === 0) this.retryLater();
      return;
    }
    this.settle(send, error);
    if (this.inFlight === 0 && this.refused.length > 0) this.retryLater();
    else this.pump();
  }

  /** Puts the refused sends (answered in seq order) back at the head of the queue; pumps after a jittered delay. */
  private retryLater(): void {
    if (this.retryTimer !== null) return;
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = null;
        this.waiting.unshift(...this.refused.splice(0));
        this.pump();
      },
      REFUSED_SEND_RETRY_MS * (1 + Math.random()),
    );
  }

  private settle(send: Send, error?: Error): void {
    if (send.signal && send.onAbort) send.signal.removeEventListener('abort', send.onAbort);
    if (error) send.failed(error);
    else send.queued();
  }
}
