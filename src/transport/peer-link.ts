/**
 * Heartbeat state of one peer × local link: pings, pongs, connected (up) / down, latency, counters.
 *
 * knet (threads_heartbeat.c, threads_rx.c; reference §2.2):
 * - a ping every ping_interval on every enabled link; the peer answers with a pong echoing the timestamp;
 * - a pong with latency > pong_timeout is discarded; otherwise latency feeds the running average
 *   avg = (avg × (n − 1) + sample) / n, n capped at the precision (2048);
 * - up: knet flips the link after pong_count good pongs **plus one** (an off-by-one in its code); corolink
 *   declares it up after exactly pongCount good pongs (the documented meaning of pong_count);
 * - down: no pong for pong_timeout × backoff + 2 × average latency; backoff starts at 10 when the link is
 *   (re)created or goes down and drops by 1 per second to 1 — a flap damper (corolink: only after a down);
 * - a socket error is immediate down evidence (corolink: any send error reported by the driver).
 * corolink deviations: pings are scheduled at exact deadlines on a grid shared by all links (knet wakes every 200 ms); pongs while
 * coming up must be at most pingTimeoutMs apart, or the count restarts; only round trips are liveness evidence
 * (data from a peer proves the peer→us direction only, and a one-way path must not look up; knet 1.35's "fast
 * data up" is not copied); a connected link that carries our data is pinged at the busy interval
 * (docs/transport.md § Heartbeats that follow the traffic); a connected quiet link asks for no pong: the peer
 * echoes the ping in its own next ping instead, a round trip dated back by the time it was held (§ Echo pings).
 */
import { assert } from '../base/assert.ts';
import { gridInstantAfter } from '../base/time-grid.ts';
import type { PingEcho } from '../wire/packet.ts';
import { nextSeq, seqDistance } from '../wire/sequence.ts';
import {
  BUSY_PING_RATE_MULTIPLIER,
  ECHO_DEADLINE_INTERVALS_MIN,
  LATENCY_PRECISION_SAMPLES,
  PONG_TIMEOUT_BACKOFF_START,
  PONG_TIMEOUT_BACKOFF_STEP_MS,
  PONG_TIMEOUT_LATENCY_MULTIPLIER,
  SUSPECT_PONG_GRACE_LATENCY_MULTIPLIER,
  SUSPECT_PONG_GRACE_MIN_MS,
} from './limits.ts';
import type { LatencyStats, LinkCounters, LinkOptions } from './types.ts';

/** What a pong did to the link. */
export type PongOutcome = 'discarded' | 'refreshed' | 'counted' | 'up';

/** Link counters, all zero (a new link, or a peer × link that has none). */
export function zeroLinkCounters(): LinkCounters {
  return {
    txPackets: 0,
    txBytes: 0,
    rxPackets: 0,
    rxBytes: 0,
    pingsSent: 0,
    pongsReceived: 0,
    pongsDiscarded: 0,
    sendErrors: 0,
    upCount: 0,
    downCount: 0,
  };
}

/** Heartbeat state machine of one peer on one local link. */
export class PeerLink {
  /** Heartbeat says the path works. */
  connected = false;
  /** Good pongs gathered while not connected. */
  pongsGathered = 0;
  /**
   * When the last round trip completed: a good pong's arrival, or an echo's arrival minus the time the peer held
   * our ping (−Infinity: never). "Pong" below means either.
   */
  lastPongAtMs = Number.NEGATIVE_INFINITY;
  /** When the ping the last good pong answered was sent (our clock, echoed by the pong; −Infinity: none). */
  answeredPingAtMs = Number.NEGATIVE_INFINITY;
  /**
   * When the oldest ping that asked for a pong since the last good pong went out (older than lastPongAtMs: none is
   * waiting). Pings that asked for an echo only are not awaited: their echo comes up to an interval later.
   */
  unansweredPingAtMs = Number.NEGATIVE_INFINITY;
  /** When we last sent the peer data on this link (such a link is pinged BUSY_PING_RATE_MULTIPLIER × as often). */
  lastDataSentAtMs = Number.NEGATIVE_INFINITY;
  /** Since when the link is connected (meaningful while connected). */
  upSinceMs = 0;
  /** Last up/down change (or creation / re-enable). */
  lastChangeMs: number;
  /** The last send error since the last good pong, or null. */
  lastSendError: string | null = null;
  /** Latency statistics; null until the first good pong. */
  latency: LatencyStats | null = null;
  /** Counters shown by `corolink links`. */
  readonly counters: LinkCounters = zeroLinkCounters();
  private nextPingAtMs: number;
  /** When the last ping went out (−Infinity: none since creation or restart). */
  private lastPingAtMs = Number.NEGATIVE_INFINITY;
  private nextPingSeq = 0;
  private lastPongSeq: number | null = null;
  /** The peer's latest ping that asked for an echo and has not been echoed yet (heardPingAtMs −Infinity: none). */
  private heardPingSeq = 0;
  private heardPingSentAtMs = 0;
  private heardPingAtMs = Number.NEGATIVE_INFINITY;
  /** When the ping interval or timeout last changed (−Infinity: never). */
  private timersChangedAtMs = Number.NEGATIVE_INFINITY;
  private backoffSinceMs: number;
  /**
   * The multiplier the backoff starts from: 1 for a new or re-enabled link, PONG_TIMEOUT_BACKOFF_START after a
   * down. corolink deviation: knet also starts new links at 10, which makes the first cable pull after a start
   * take up to 10 × the ping timeout to notice; flap damping only needs it after a link has actually failed.
   */
  private backoffStart = 1;

  constructor(
    readonly nodeId: number,
    /** The local link's options (shared with every peer on that link). */
    readonly options: LinkOptions,
    now: number,
    /**
     * Where the ping grid counts from (TransportOptions.pingGridOriginMs). A ping is due at the first grid instant
     * after the previous one: every link with the same interval pings at the same instants — one timer wake-up and
     * one flush per interval for all peers × links — and so do nodes whose origins agree (the Unix epoch).
     */
    private readonly gridOriginMs = 0,
  ) {
    this.nextPingAtMs = now;
    this.backoffSinceMs = now;
    this.lastChangeMs = now;
  }

  /** The link number. */
  get link(): number {
    return this.options.link;
  }

  /** Restarts heartbeating as for a new link (created or re-enabled): ping now, no backoff. */
  restart(now: number): void {
    assert(!this.connected, 'knet: a link restarts only while down');
    this.nextPingAtMs = now;
    this.lastPingAtMs = Number.NEGATIVE_INFINITY;
    this.backoffSinceMs = now;
    this.backoffStart = 1;
    this.lastChangeMs = now;
    this.pongsGathered = 0;
    this.lastPongAtMs = Number.NEGATIVE_INFINITY;
    this.answeredPingAtMs = Number.NEGATIVE_INFINITY;
    this.unansweredPingAtMs = Number.NEGATIVE_INFINITY;
    this.lastDataSentAtMs = Number.NEGATIVE_INFINITY;
    this.heardPingAtMs = Number.NEGATIVE_INFINITY;
    this.lastSendError = null;
  }

  /**
   * When the next ping is due: one interval after the last ping; on a connected link that carries our data, one
   * busy interval after it — its failure is noticed (suspected) sooner, and only while there is data to protect.
   */
  pingAtMs(now: number): number {
    if (!this.connected || !this.carriesOurData(now)) return this.nextPingAtMs;
    return Math.min(this.nextPingAtMs, gridInstantAfter(this.lastPingAtMs, this.busyIntervalMs(), this.gridOriginMs));
  }

  /** Whether a ping is due at `now`. */
  pingDue(now: number): boolean {
    return now >= this.pingAtMs(now);
  }

  /** The ping interval of a link that carries our data. */
  busyIntervalMs(): number {
    return this.options.pingIntervalMs / BUSY_PING_RATE_MULTIPLIER;
  }

  /** Whether we sent the peer data on this link within the last ping interval. */
  carriesOurData(now: number): boolean {
    return now - this.lastDataSentAtMs < this.options.pingIntervalMs;
  }

  /**
   * Whether the next ping asks for a pong: while the link comes up (pongCount round trips in a row), on a link that
   * carries our data (passive mode's suspicion waits for one pong), and on a quiet link whose last round trip is so
   * old that an echo, which waits for the peer's next ping, might come too late (ECHO_DEADLINE_INTERVALS_MIN).
   * Otherwise a connected quiet link asks for an echo only.
   */
  wantsPong(now: number): boolean {
    if (!this.connected || this.carriesOurData(now)) return true;
    return this.pongDeadlineMs(now) - now <= ECHO_DEADLINE_INTERVALS_MIN * this.options.pingIntervalMs;
  }

  /** Takes the next ping sequence number and schedules the following ping; `wantPong`: the ping asks for a pong. */
  takePing(now: number, wantPong: boolean): number {
    const seq = this.nextPingSeq;
    this.nextPingSeq = nextSeq(seq);
    this.lastPingAtMs = now;
    if (wantPong && !this.awaitingPong()) this.unansweredPingAtMs = now;
    this.nextPingAtMs = gridInstantAfter(now, this.options.pingIntervalMs, this.gridOriginMs);
    this.counters.pingsSent++;
    return seq;
  }

  /**
   * The ping interval or timeout changed: the next ping is due one new interval after the last one (at once if that
   * is past), not after the old interval — lowering a 1 s interval to 20 ms must not wait out the old second. A
   * connected link has one new timeout from the change to show a round trip: its last one may be up to an old
   * interval (plus the peer's hold of an echo) old, which a shorter new timeout must not count as silence.
   */
  retimePing(now: number): void {
    this.timersChangedAtMs = now;
    if (Number.isFinite(this.lastPingAtMs))
      this.nextPingAtMs = gridInstantAfter(this.lastPingAtMs, this.options.pingIntervalMs, this.gridOriginMs);
  }

  /** The current pong-timeout multiplier (after a down: 10 → 1, one step per second; a new link: 1). */
  backoff(now: number): number {
    const steps = Math.floor((now - this.backoffSinceMs) / PONG_TIMEOUT_BACKOFF_STEP_MS);
    return Math.max(1, this.backoffStart - steps);
  }

  /** knet pong_timeout_adj: how long without a pong before a connected link goes down. */
  pongTimeoutAdjustedMs(now: number): number {
    const latencyAllowanceMs = PONG_TIMEOUT_LATENCY_MULTIPLIER * (this.latency?.avgMs ?? 0);
    return this.options.pingTimeoutMs * this.backoff(now) + latencyAllowanceMs;
  }

  /**
   * When a connected link goes down without a further pong (the backoff only shrinks, so this only moves earlier):
   * the timeout counts from the last pong, or from the last change of the timers if that is later.
   */
  pongDeadlineMs(now: number): number {
    return Math.max(this.lastPongAtMs, this.timersChangedAtMs) + this.pongTimeoutAdjustedMs(now);
  }

  /**
   * Whether a connected link has gone too long without a pong. Compares with the very deadline nextDeadline()
   * reports (not `now − lastPong ≥ timeout`, which can round differently and re-arm the same instant forever).
   */
  timedOut(now: number): boolean {
    return this.connected && now >= this.pongDeadlineMs(now);
  }

  /** The peer pinged and asked for an echo: remember its ping for our next ping (the newest one wins). */
  onPingToEcho(pingSeq: number, sentAtMs: number, now: number): void {
    if (Number.isFinite(this.heardPingAtMs) && seqDistance(pingSeq, this.heardPingSeq) <= 0) return;
    this.heardPingSeq = pingSeq;
    this.heardPingSentAtMs = sentAtMs;
    this.heardPingAtMs = now;
  }

  /** The peer pinged and asked for a pong: an echo of an older ping of its would only be discarded, so none is due. */
  onPingToPong(): void {
    this.heardPingAtMs = Number.NEGATIVE_INFINITY;
  }

  /**
   * The echo our next ping carries, taken (each ping is echoed once), or undefined: none heard, or held so long
   * (≥ pingTimeoutMs) that the round trip it proves is too old to keep the link up.
   */
  takeEcho(now: number): PingEcho | undefined {
    const heldMs = now - this.heardPingAtMs;
    this.heardPingAtMs = Number.NEGATIVE_INFINITY;
    if (!(heldMs < this.options.pingTimeoutMs)) return undefined;
    return { pingSeq: this.heardPingSeq, sentAtMs: this.heardPingSentAtMs, heldMs };
  }

  /**
   * Handles a pong echoing our ping (pingSeq, sentAtMs), or the echo of that ping in the peer's ping, held `heldMs`
   * by the peer (0 for a pong): it counts as a pong that arrived at `now − heldMs` with latency
   * `now − sentAtMs − heldMs`.
   */
  onPong(pingSeq: number, sentAtMs: number, heldMs: number, now: number): PongOutcome {
    const latencyMs = now - sentAtMs - heldMs;
    const answeredAtMs = now - heldMs;
    const fresh = this.lastPongSeq === null || seqDistance(pingSeq, this.lastPongSeq) > 0;
    const sentByUs = seqDistance(pingSeq, this.nextPingSeq) < 0;
    if (!fresh || !sentByUs || latencyMs < 0 || latencyMs > this.options.pingTimeoutMs) {
      this.counters.pongsDiscarded++;
      return 'discarded';
    }
    this.counters.pongsReceived++;
    this.recordLatency(latencyMs);
    const gapMs = answeredAtMs - this.lastPongAtMs;
    this.lastPongSeq = pingSeq;
    this.lastPongAtMs = Math.max(this.lastPongAtMs, answeredAtMs);
    this.answeredPingAtMs = sentAtMs;
    this.lastSendError = null;
    if (this.connected) return 'refreshed';
    this.pongsGathered = gapMs > this.options.pingTimeoutMs ? 1 : this.pongsGathered + 1;
    return this.pongsGathered >= this.options.pongCount ? 'up' : 'counted';
  }

  /** Whether a ping sent since the last good pong is still unanswered. */
  awaitingPong(): boolean {
    return this.unansweredPingAtMs > this.lastPongAtMs;
  }

  /**
   * When a pong counts as missed: the oldest unanswered ping plus a grace of a few average round trips (at least
   * SUSPECT_PONG_GRACE_MIN_MS); Infinity while no ping waits for its pong. Passive mode suspects its data link then.
   */
  pongMissedAtMs(): number {
    if (!this.awaitingPong()) return Number.POSITIVE_INFINITY;
    const graceMs = Math.max(
      SUSPECT_PONG_GRACE_MIN_MS,
      SUSPECT_PONG_GRACE_LATENCY_MULTIPLIER * (this.latency?.avgMs ?? 0),
    );
    return this.unansweredPingAtMs + graceMs;
  }

  /** Forgives `pausedMs` of silence: this process was not running, so the peer's pongs could not be read. */
  forgivePause(pausedMs: number): void {
    this.lastPongAtMs += pausedMs;
  }

  /** Records a send error; the caller takes the link down if it was connected. */
  onSendError(code: string): void {
    this.counters.sendErrors++;
    this.lastSendError = code;
    this.pongsGathered = 0;
  }

  /** Marks the link up. */
  markUp(now: number): void {
    assert(!this.connected, 'knet: a link goes up only from down');
    this.connected = true;
    this.upSinceMs = now;
    this.lastChangeMs = now;
    this.counters.upCount++;
  }

  /** Marks the link down and restarts the backoff. */
  markDown(now: number): void {
    assert(this.connected, 'knet: a link goes down only from up');
    this.connected = false;
    this.pongsGathered = 0;
    this.lastChangeMs = now;
    this.backoffSinceMs = now;
    this.backoffStart = PONG_TIMEOUT_BACKOFF_START;
    this.counters.downCount++;
  }

  /** Good pongs gathered that still count at `now` (the count restarts after a pingTimeoutMs gap). */
  pongsGatheredAt(now: number): number {
    return now - this.lastPongAtMs > this.options.pingTimeoutMs ? 0 : this.pongsGathered;
  }

  /** The earliest time this link needs a tick: the next ping, or the pong deadline of a connected link. */
  nextDeadline(now: number): number {
    if (!this.connected) return this.nextPingAtMs;
    return Math.min(this.pingAtMs(now), this.pongDeadlineMs(now));
  }

  private recordLatency(sampleMs: number): void {
    const stats = this.latency;
    if (stats === null) {
      this.latency = { minMs: sampleMs, avgMs: sampleMs, maxMs: sampleMs, samples: 1 };
      return;
    }
    const samples = Math.min(stats.samples + 1, LATENCY_PRECISION_SAMPLES);
    stats.avgMs = (stats.avgMs * (samples - 1) + sampleMs) / samples;
    stats.samples = samples;
    stats.minMs = Math.min(stats.minMs, sampleMs);
    stats.maxMs = Math.max(stats.maxMs, sampleMs);
  }
}
