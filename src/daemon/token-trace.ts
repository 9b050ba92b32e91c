/**
 * The token's path through this daemon, measured with the real clock outside the pure Totem core: the rotation
 * (time between two arrivals of the ORF token, for `corolink_totem_token_rotation_seconds`) and, in trace mode
 * (`logging { debug: trace }` or COROLINK_TOKEN_TRACE=1), one line per hop with its receive → step → forward times,
 * the messages read since the previous token and how long the event loop slept meanwhile (docs/benchmarks.md,
 * "Token rotation"). Absolute times are epoch ms with µs, so the lines of the three daemons of a ring can be merged
 * to see the time each hop spends between two processes (bench/token-trace-report.ts).
 */
import { peekTokenSeq } from '../totem/index.ts';

/** A hop being traced: the token received, not yet forwarded. */
interface OpenHop {
  tokenSeq: number;
  from: number;
  receivedAt: number;
  steppedAt: number;
  rotationMs: number | null;
  /** Messages received between the previous token and this one, and when the first of them was read. */
  messages: number;
  firstMessageAt: number;
  /** Time the event loop slept since the previous token arrived. */
  idleMs: number;
  /** Messages queued for Totem when the token arrived (the backlog this visit could send from). */
  queuedAtReceive: number;
}

export interface TokenTraceOptions {
  /** Monotonic clock in ms (performance.now). */
  clock: () => number;
  /** The clock's origin in epoch ms (performance.timeOrigin), to print absolute times. */
  timeOrigin: number;
  /** Called with each rotation, in seconds. */
  onRotation: (seconds: number) => void;
  /** Where trace lines go; null: trace mode off (only the rotation is measured). */
  trace: ((line: string) => void) | null;
  /**
   * Total time the event loop has been idle, ms (performance.eventLoopUtilization().idle): a hop's wait while the
   * loop slept is the kernel's and the scheduler's, a wait while it was busy is this daemon's own work.
   */
  loopIdle: () => number;
  /**
   * Application messages queued here for the ring (Totem's queue and those waiting for room in it): read as the
   * token arrives and as it leaves, their difference is what the visit sent (trace mode).
   */
  queued: () => number;
}

export class TokenTrace {
  private lastTokenSeq = -1;
  private lastArrivalAt = Number.NEGATIVE_INFINITY;
  private hop: OpenHop | null = null;
  /** Other messages received since the last token (trace mode), and when the first of them was read. */
  private messagesBetween = 0;
  private firstMessageAt = 0;
  private loopIdleAtLastToken = 0;

  constructor(private readonly options: TokenTraceOptions) {}

  /**
   * A whole message from the transport, about to be stepped; `receivedAt` is when its datagram was read from the
   * socket. A token newer than the last one seen starts a hop (a retransmitted copy or a new ring's first token
   * does not count as a rotation).
   */
  received(from: number, payload: Uint8Array, receivedAt: number): void {
    const tokenSeq = peekTokenSeq(payload);
    if (tokenSeq === null) {
      if (this.messagesBetween++ === 0) this.firstMessageAt = receivedAt;
      return;
    }
    const newer = tokenSeq > this.lastTokenSeq;
    const rotationMs = newer && this.lastArrivalAt >= 0 ? receivedAt - this.lastArrivalAt : null;
    if (tokenSeq !== this.lastTokenSeq) {
      this.lastTokenSeq = tokenSeq;
      this.lastArrivalAt = receivedAt;
    }
    if (rotationMs !== null) this.options.onRotation(rotationMs / 1000);
    if (this.options.trace === null) return;
    const loopIdle = this.options.loopIdle();
    const idleMs = loopIdle - this.loopIdleAtLastToken;
    this.loopIdleAtLastToken = loopIdle;
    const messages = this.messagesBetween;
    const firstMessageAt = messages > 0 ? this.firstMessageAt : receivedAt;
    this.messagesBetween = 0;
    const steppedAt = this.options.clock();
    const queuedAtReceive = this.options.queued();
    this.hop = { tokenSeq, from, receivedAt, steppedAt, rotationMs, messages, firstMessageAt, idleMs, queuedAtReceive };
  }

  /** A message handed to the socket (urgent sends only: a token forward is one). */
  sent(to: number | 'all', payload: Uint8Array): void {
    if (this.hop === null || to === 'all' || peekTokenSeq(payload) === null) return;
    this.flushHop(to);
  }

  /** The step of the received message is over: a token it did not forward was held (hold, or a one-node ring). */
  stepped(): void {
    this.flushHop(null);
  }

  private flushHop(to: number | null): void {
    const hop = this.hop;
    if (hop === null || this.options.trace === null) return;
    this.hop = null;
    const us = (ms: number) => Math.round(ms * 1000);
    const absolute = (this.options.timeOrigin + hop.receivedAt).toFixed(3);
    const forward = to === null ? 'held' : `to ${to} fwd=+${us(this.options.clock() - hop.receivedAt)}µs`;
    const rotation = hop.rotationMs === null ? '' : ` rotation=${hop.rotationMs.toFixed(3)}ms`;
    const before = `after ${hop.messages} msgs from -${us(hop.receivedAt - hop.firstMessageAt)}µs idle=${us(hop.idleMs)}µs`;
    const queued = ` queued=${hop.queuedAtReceive}→${this.options.queued()}`;
    this.options.trace(
      `token hop seq=${hop.tokenSeq} from ${hop.from} rx=${absolute} step=+${us(hop.steppedAt - hop.receivedAt)}µs ` +
        `${forward}${rotation} ${before}${queued}`,
    );
  }
}
