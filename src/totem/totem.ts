/**
 * Totem single-ring protocol (SRP): total order, reliability, flow control and membership as a pure state machine.
 *
 * Sources: Amir, Moser, Melliar-Smith, Agarwal, Ciarfella, "The Totem single-ring ordering and membership protocol",
 * ACM TOCS 13(4), 1995 — §3 (token, seq, aru, retransmit list, flow control), §4 (membership: gather, commit,
 * recovery; transitional and regular configurations) — and corosync's exec/totemsrp.c (read, not copied).
 *
 * Deliberate deviations (docs/totem.md explains each):
 * - Fast failure detection: `peerUnreachable` (every transport link to a member down) puts that node in the fail set
 *   and starts a membership round at once; consensus among the remaining nodes still decides.
 * - Token hold as corosync does it (representative holds the token on an idle ring, TOKEN_HOLD_CANCEL releases it).
 * - A JOIN that sends a node from RECOVERY back to GATHER restarts its gather from the forming ring (proc = its
 *   members, fail emptied), as the members that already installed it do; corosync keeps the old round's sets.
 * - A JOIN that fails me from a node outside my ring that forms a ring of one with it is ignored, not answered by
 *   failing its sender (membership.ts `applyJoin`): two such nodes re-formed rings of one at network speed.
 * - Recovery ends when the representative sees, on two successive visits, the new ring's aru equal to its seq with no
 *   backlog and no retransmit request; it then sets `install` in the token and every member installs the ring on
 *   seeing it (instead of corosync's retrans_flg / install_seq / received_flg bookkeeping).
 * - Old-ring messages: those some transitional member delivered in the old configuration are delivered there by all;
 *   the rest (after the first gap too, holes skipped) in the transitional configuration — corosync drops messages
 *   after the first unrecoverable gap.
 * - Safe delivery is implemented (corosync treats safe as agreed): a safe message is delivered once the token's aru
 *   covered it on two successive visits of this node.
 * - Sequence numbers are 53-bit and never wrap; a leave is a JOIN with the sender in its own fail set.
 */

import { assert, isStrictlyAscending } from '../base/assert.ts';
import { DEFAULT_CONFIG_STAMP, mismatchText, sameStamp, stampProblem } from './config-stamp.ts';
import { activeMembers, applyJoin, type GatherSets } from './membership.ts';
import {
  type CommitEntry,
  type CommitMessage,
  decodeMessage,
  encodeMessage,
  type JoinMessage,
  type McastMessage,
  type MergeDetectMessage,
  type TokenMessage,
  type TotemMessage,
} from './messages.ts';
import { planRecovery, type RecoveryPlan } from './recovery.ts';
import { formatRingId, sameRingId, successor } from './ring-id.ts';
import { RingLog } from './ring-log.ts';
import {
  definedTimings,
  describeTimingChanges,
  type EffectiveTimings,
  effectiveTimings,
  timingsProblem,
} from './timings.ts';
import { allowedMessages, requestMissing, takeRetransmissions, updateAru, updateFlowControl } from './token.ts';
import type {
  ConfigStamp,
  Guarantee,
  MembershipState,
  RingId,
  TotemAction,
  TotemEvent,
  TotemLogLevel,
  TotemOptions,
  TotemSnapshot,
  TotemTimings,
} from './types.ts';

/** A new ring's seq is the highest known ring seq plus this (corosync). */
export const RING_SEQ_STEP = 4;
/** Default bound of the pending (not yet sent) queue before multicasts are refused. */
export const DEFAULT_MAX_PENDING_MESSAGES = 4096;
/**
 * Default bound of the bytes pending that `canSend` admits more to (an empty queue always takes one message): the
 * sender's peak memory under load. 4096 pending 1 KiB messages, or 320 of 64 KiB, each with its copies, were what
 * glibc's malloc kept resident after the burst (docs/daemon.md "Memory"); 2 MiB is still many token visits of
 * backlog (max_messages 17 per visit).
 */
export const DEFAULT_MAX_PENDING_BYTES = 2 * 1024 * 1024;
/** The queue a burst hold waits on holds at least this many messages: a lone message never waits. */
const BURST_MESSAGES_MIN = 2;
/** A leave notice is sent this many times (best effort; peers fall back to token loss). */
export const LEAVE_NOTICE_COPIES = 2;
const PERCENT = 100;
/** How often the same broken pair is logged while its node keeps asking to be admitted. */
const ASYMMETRY_LOG_INTERVAL_MS = 10_000;
/** At most one `Retransmit List` line per this interval. */
const RETRANSMIT_LOG_INTERVAL_MS = 1000;

/** Why a node enters GATHER (corosync's `gather_state_from` codes and texts, plus our transport evidence). */
const GATHER_REASONS = {
  startup: [0, 'consensus timeout'],
  consensusExpired: [3, 'The consensus timeout expired.'],
  tokenLostOperational: [2, 'The token was lost in the OPERATIONAL state.'],
  tokenLostCommit: [4, 'The token was lost in the COMMIT state.'],
  tokenLostRecovery: [5, 'The token was lost in the RECOVERY state.'],
  failedToReceive: [6, 'failed to receive'],
  foreignOperational: [7, 'foreign message in operational state'],
  foreignGather: [8, 'foreign message in gather state'],
  mergeOperational: [9, 'merge during operational state'],
  mergeJoin: [11, 'merge during join'],
  joinOperational: [12, 'join during operational state'],
  joinCommit: [13, 'join during commit state'],
  joinRecovery: [14, 'join during recovery'],
  peerUnreachable: [16, 'peer unreachable on every link'],
  formingMemberLeft: [17, 'a member of the forming ring installed another ring'],
} as const;
type GatherReason = keyof typeof GATHER_REASONS;

interface PendingMessage {
  payload: Uint8Array;
  guarantee: Guarantee;
}

function difference(list: readonly number[], remove: readonly number[]): number[] {
  return list.filter((id) => !remove.includes(id));
}

/** The Totem SRP core for one node. Drive it with `step(event, now)`; tick it at `nextDeadline()`. */
export class TotemCore {
  private readonly me: number;
  /** A copy of the options given; `reconfigure` replaces its nodes and timings. */
  private readonly options: TotemOptions;
  /** The timings in effect (defaults filled in), recomputed by `reconfigure`. */
  private timings: EffectiveTimings;
  private stamp: ConfigStamp;
  private readonly maxPending: number;
  private readonly maxPendingBytes: number;
  /** `TotemOptions.burstHoldMs` and the pack budget it waits for; null: no burst hold (off, or no packer). */
  private readonly burstHold: { ms: number; packBytes: number } | null;
  private now: number;
  private out: TotemAction[] = [];
  private state: MembershipState = 'gather';

  /** The installed ring (last regular configuration) and the one being formed in commit/recovery. */
  private installed: RingLog | null = null;
  private forming: RingLog | null = null;
  private highestRingSeq: number;
  /** Highest ring seq this node entered COMMIT for: an older commit token is stale. */
  private lastCommittedRingSeq: number;

  // gather
  private readonly sets: GatherSets = { proc: new Set<number>(), fail: new Set<number>() };
  private readonly consensus = new Set<number>();
  private readonly leftCleanly = new Set<number>();
  /** Peers the transport reports unreachable on every link (carried in JOIN and MERGE_DETECT). */
  private readonly unreachable = new Set<number>();
  /** When each broken pair was last logged (asymmetric reachability). */
  private readonly asymmetryLoggedAt = new Map<string, number>();
  /**
   * The peers each node last reported unreachable in a JOIN or MERGE_DETECT, heard in any state: the JOINs of a
   * gather tell the members of the ring it forms which excluded node cannot reach one of them, before that node's
   * first multicast in its own ring arrives (asymmetric reachability).
   */
  private readonly reportedUnreachable = new Map<number, readonly number[]>();
  /**
   * The highest ring seq each node's JOINs carried. A ring that node installs later has a higher seq: its
   * MERGE_DETECT or MCAST with one says it left the round its JOIN was part of (see `formingMemberLeft`).
   */
  private readonly joinRingSeqs = new Map<number, number>();
  /** The stamp each node last sent in a JOIN or MERGE_DETECT (its MCASTs carry none). */
  private readonly peerStamps = new Map<number, ConfigStamp>();
  /** The stamp of each node last reported in a `configMismatch` action (cleared when my stamp changes). */
  private readonly mismatchReported = new Map<number, ConfigStamp>();
  private retransmitLoggedAt = Number.NEGATIVE_INFINITY;
  private retransmitRequestsUnlogged = 0;

  // recovery
  private recoveryPlan: RecoveryPlan | null = null;
  private recoveryQueue: McastMessage[] = [];

  // token bookkeeping of the current ring (reset when a new ring is committed)
  private lastTokenSeq = -1;
  private lastSentToken: { to: number; bytes: Uint8Array } | null = null;
  /**
   * The token this node keeps instead of passing it on, and until when (absolute ms): `idle` after its visit, by
   * the representative of an idle ring (until the hold period ends or a message comes: docs/totem.md "Token
   * hold"); `burst` at its arrival, while my own burst fills a pack (until it does or `TotemOptions.burstHoldMs`
   * ends: "Burst hold"). There is one token, so at most one is kept.
   */
  private kept: { token: TokenMessage; phase: 'idle' | 'burst'; until: number } | null = null;
  /** A TOKEN_HOLD_CANCEL came while the token was elsewhere: the representative passes it on at its next arrival. */
  private holdCancelled = false;
  private previousForwardAru = -1;
  private previousVisitSeq = -1;
  private previousVisitAt = -1;
  private safeAru = 0;
  private lastTokenAru = -1;
  private aruStuckCount = 0;
  private seqUnchangedCount = 0;
  private sentLastVisit = 0;
  private backlogLastVisit = 0;

  private readonly pending: PendingMessage[] = [];
  /** Payload bytes in `pending`. */
  private pendingBytes = 0;
  /** The last message delivered (its ring and seq), for the delivery-order assertion. */
  private deliveredRingRep = -1;
  private deliveredRingSeq = -1;
  private deliveredSeq = -1;

  // timers (absolute ms, Infinity = off; the kept token's is `kept.until`)
  private tokenRetransmitAt = Infinity;
  private tokenWarningAt = Infinity;
  private tokenLossAt = Infinity;
  private tokenReceivedAt = 0;
  private joinAt = Infinity;
  private consensusAt = Infinity;
  private mergeAt = Infinity;

  private readonly stats = {
    tokenRotationMs: 0,
    retransmitted: 0,
    retransmitRequested: 0,
    tokenRetransmits: 0,
    burstHolds: 0,
    delivered: 0,
    deliveredSafe: 0,
    badMessages: 0,
    configurations: 0,
    configMismatches: 0,
  };

  /** Starts in GATHER with only itself, which at once forms a single-node ring (as corosync does at startup). */
  constructor(options: TotemOptions, now: number) {
    const stamp = options.configStamp ?? DEFAULT_CONFIG_STAMP;
    const problem = stampProblem(stamp);
    if (problem) throw new RangeError(`TotemOptions.configStamp: ${problem}`);
    const burstHoldMs = options.burstHoldMs ?? 0;
    if (!(Number.isFinite(burstHoldMs) && burstHoldMs >= 0)) {
      throw new RangeError(`TotemOptions.burstHoldMs: ${burstHoldMs} is not a non-negative number of ms`);
    }
    this.burstHold =
      burstHoldMs > 0 && options.packer ? { ms: burstHoldMs, packBytes: options.packer.budgetBytes } : null;
    this.options = { ...options, nodes: [...options.nodes] };
    this.me = options.localNodeId;
    this.now = now;
    this.timings = effectiveTimings(this.options);
    this.stamp = { ...stamp };
    this.highestRingSeq = options.initialRingSeq ?? 0;
    this.lastCommittedRingSeq = this.highestRingSeq;
    this.maxPending = options.maxPendingMessages ?? DEFAULT_MAX_PENDING_MESSAGES;
    this.maxPendingBytes = options.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES;
    this.enterGather('startup');
  }

  /** Handles one event; returns the actions (including those produced by the constructor on the first call). */
  step(event: TotemEvent, now: number): TotemAction[] {
    this.now = now;
    if (this.state !== 'left') {
      switch (event.type) {
        case 'tick':
          this.onTick();
          break;
        case 'receive':
          this.onReceive(event.payload);
          break;
        case 'multicast':
          this.onMulticast(event.payload, event.guarantee ?? 'agreed');
          break;
        case 'peerUnreachable':
          this.onPeerUnreachable(event.nodeId);
          break;
        case 'peerReachable':
          this.onPeerReachable(event.nodeId);
          break;
        case 'leave':
          this.onLeave();
          break;
        case 'reconfigure':
          this.onReconfigure(event);
          break;
      }
    }
    const out = this.out;
    this.out = [];
    return out;
  }

  /** Absolute time of the next timer; Infinity when none. */
  nextDeadline(): number {
    if (this.state === 'left') return Infinity;
    return Math.min(
      this.kept?.until ?? Infinity,
      this.tokenRetransmitAt,
      this.tokenWarningAt,
      this.tokenLossAt,
      this.joinAt,
      this.consensusAt,
      this.mergeAt,
    );
  }

  /**
   * True when `count` (default 1) more multicasts would be queued rather than refused (backpressure), and, with
   * their `bytes`, the bytes pending stay within maxPendingBytes (or nothing is pending: a large message still goes).
   */
  canSend(count = 1, bytes = 0): boolean {
    return (
      this.state !== 'left' &&
      this.pending.length + count <= this.maxPending &&
      (this.pendingBytes === 0 || this.pendingBytes + bytes <= this.maxPendingBytes)
    );
  }

  /** Status for `corolink status` and metrics. */
  snapshot(): TotemSnapshot {
    const ring = this.installed;
    return {
      state: this.state,
      ringId: ring ? { ...ring.ringId } : null,
      members: ring ? [...ring.members] : [],
      highestRingSeq: this.highestRingSeq,
      myAru: ring?.aru ?? 0,
      highestSeqReceived: ring?.highSeq ?? 0,
      tokenRotationMs: this.stats.tokenRotationMs,
      retransmitted: this.stats.retransmitted,
      retransmitRequested: this.stats.retransmitRequested,
      tokenRetransmits: this.stats.tokenRetransmits,
      burstHolds: this.stats.burstHolds,
      delivered: this.stats.delivered,
      deliveredSafe: this.stats.deliveredSafe,
      pending: this.pending.length,
      retained: ring?.size ?? 0,
      badMessages: this.stats.badMessages,
      configurations: this.stats.configurations,
      configMismatches: this.stats.configMismatches,
    };
  }

  // ---------------------------------------------------------------- events

  private onTick(): void {
    const now = this.now;
    if (this.kept && now >= this.kept.until) {
      if (this.kept.phase === 'idle') this.releaseHeldToken();
      else this.endBurstHold();
    }
    if (now >= this.tokenRetransmitAt) this.retransmitToken();
    if (now >= this.tokenWarningAt) {
      this.tokenWarningAt = Infinity;
      this.log('notice', `Token has not been received in ${Math.trunc(now - this.tokenReceivedAt)} ms `);
    }
    if (now >= this.tokenLossAt) this.onTokenLoss();
    if (now >= this.joinAt) {
      this.sendJoin();
      this.joinAt = now + this.timings.joinMs;
    }
    if (now >= this.consensusAt) this.onConsensusTimeout();
    if (now >= this.mergeAt) this.sendMergeDetect();
  }

  private onReceive(bytes: Uint8Array): void {
    const message = decodeMessage(bytes);
    if (!message) {
      this.stats.badMessages++;
      return;
    }
    this.dispatch(message);
  }

  private dispatch(message: TotemMessage): void {
    switch (message.type) {
      case 'token':
        this.onToken(message);
        break;
      case 'mcast':
        this.onMcast(message);
        break;
      case 'join':
        this.onJoin(message);
        break;
      case 'commit':
        this.onCommit(message);
        break;
      case 'mergeDetect':
        if (this.refusedForConfig(message.sender, message.stamp)) break;
        this.reportedUnreachable.set(message.sender, message.unreachable ?? []);
        if (this.formingMemberLeft(message.sender, message.ringId)) break;
        if (this.state === 'operational' && this.cannotReachMembers(message.sender)) break;
        if (message.members?.some((id) => this.unreachable.has(id))) break; // a ring I cannot fully reach
        this.onForeignRing(message.sender, message.ringId, 'mergeOperational');
        break;
      case 'holdCancel':
        this.onHoldCancel(message.ringId);
        break;
    }
  }

  /**
   * TOKEN_HOLD_CANCEL of my ring: a held token goes on at once. As corosync, the idle count starts over, so a cancel
   * that arrives before the token does still stops the hold at its arrival — with seqnoUnchangedConst 0 that
   * arrival is the next idle one, hence `holdCancelled` (a member whose message came just after it forwarded the
   * token waited the whole hold period, ≈ 685 ms in test/totem/core.test.ts, and a `votes` then `expected` in
   * test/daemon/cluster.test.ts raced it).
   */
  private onHoldCancel(ringId: RingId): void {
    const ring = this.activeRing();
    if (!ring || !sameRingId(ringId, ring.ringId)) return;
    this.seqUnchangedCount = 0;
    if (this.kept?.phase === 'idle') this.releaseHeldToken();
    else this.holdCancelled = true;
  }

  private onMulticast(payload: Uint8Array, guarantee: Guarantee): void {
    if (this.pending.length >= this.maxPending) {
      this.out.push({ type: 'backpressure', pending: this.pending.length });
      return;
    }
    this.pending.push({ payload, guarantee });
    this.pendingBytes += payload.length;
    assert(this.pending.length <= this.maxPending, 'Totem: pending queue within its bound');
    if (this.kept?.phase === 'burst') {
      if (!this.burstShortOfPack()) this.endBurstHold();
      return;
    }
    if (this.pending.length > 1 || this.state !== 'operational' || !this.installed) return;
    if (this.kept?.phase === 'idle') {
      this.revisitHeldToken();
    } else if (this.mayBeHeld() && this.installed.ringId.rep !== this.me) {
      const cancel = encodeMessage({ type: 'holdCancel', sender: this.me, ringId: this.installed.ringId });
      this.send(this.installed.ringId.rep, cancel, true);
    }
  }

  private onPeerUnreachable(nodeId: number): void {
    if (nodeId === this.me) return;
    this.unreachable.add(nodeId);
    const inRing = this.state === 'operational' && this.installed?.members.includes(nodeId);
    const inGather = this.state !== 'operational' && this.sets.proc.has(nodeId) && !this.sets.fail.has(nodeId);
    if (!inRing && !inGather) return;
    this.log('notice', `Node ${nodeId} is unreachable on every link, forming new configuration.`);
    this.sets.fail.add(nodeId);
    this.enterGather('peerUnreachable');
  }

  /**
   * A node came within reach: invite it at once (merge detect, or my JOIN when gathering). A token or commit token
   * I last sent it went nowhere while no link to it was up: it goes again now rather than a token_retransmit later
   * (5.4 s at 32 nodes; test/totem/commit-dropout.test.ts).
   */
  private onPeerReachable(nodeId: number): void {
    if (nodeId === this.me) return;
    this.unreachable.delete(nodeId);
    if (this.lastSentToken?.to === nodeId) this.retransmitToken();
    if (this.state === 'gather') {
      this.send(nodeId, encodeMessage(this.joinMessage()), true);
    } else if (this.state === 'operational' && !this.installed!.members.includes(nodeId)) {
      this.send(nodeId, encodeMessage(this.mergeDetectMessage(this.installed!.ringId)), true);
    }
  }

  private onLeave(): void {
    const members = this.installed ? [...this.installed.members] : [this.me];
    const notice = encodeMessage({
      type: 'join',
      sender: this.me,
      proc: members,
      fail: [this.me],
      ringSeq: this.highestRingSeq,
      stamp: this.stamp,
    });
    for (let copy = 0; copy < LEAVE_NOTICE_COPIES; copy++) this.send('all', notice, true);
    this.log('notice', 'Leaving the ring: sent leave notice, stopping.');
    this.state = 'left';
    this.kept = null;
  }

  private onReconfigure(event: Extract<TotemEvent, { type: 'reconfigure' }>): void {
    if (event.nodes) {
      this.options.nodes = [...event.nodes];
      // A node taken out of the nodelist is heard no more (the transport drops it): forget what it sent.
      for (const map of [this.peerStamps, this.mismatchReported, this.reportedUnreachable, this.joinRingSeqs]) {
        for (const nodeId of map.keys()) if (!event.nodes.includes(nodeId)) map.delete(nodeId);
      }
    }
    // A node added to the nodelist is outside the ring: the representative invites it at once.
    if (event.nodes && this.state === 'operational' && this.mergeAt === Infinity) this.armMergeDetect(0);
    if (event.configStamp) this.setStamp(event.configStamp);
    if (event.timings) this.setTimings(event.timings);
  }

  /** My stamp from now on: it decides at the next JOIN or MERGE_DETECT; mismatches are reported afresh. */
  private setStamp(stamp: ConfigStamp): void {
    const problem = stampProblem(stamp);
    if (problem) {
      this.log('warning', `config stamp not changed: ${problem}`);
      return;
    }
    if (sameStamp(stamp, this.stamp)) return;
    this.stamp = { ...stamp };
    this.mismatchReported.clear();
  }

  /** New timings apply from the next time each timer is armed: the running ring is not disturbed. */
  private setTimings(changes: Partial<TotemTimings>): void {
    const problem = timingsProblem(changes);
    if (problem) {
      this.log('warning', `timings not changed: ${problem}`);
      return;
    }
    const before = this.timings;
    Object.assign(this.options, definedTimings(changes));
    this.timings = effectiveTimings(this.options);
    const changed = describeTimingChanges(before, this.timings);
    if (changed) this.log('notice', `timings changed: ${changed}`);
  }

  // ---------------------------------------------------------------- membership: gather

  private enterGather(reason: GatherReason): void {
    const [code, text] = GATHER_REASONS[reason];
    this.log('debug', `entering GATHER state from ${code}(${text}).`);
    this.state = 'gather';
    this.kept = null; // the ring it belonged to is given up
    this.forming = null;
    this.recoveryPlan = null;
    this.recoveryQueue = [];
    this.lastSentToken = null;
    this.tokenRetransmitAt = Infinity;
    this.tokenWarningAt = Infinity;
    this.tokenLossAt = Infinity;
    this.mergeAt = Infinity;
    this.sets.proc.add(this.me);
    this.sets.fail.delete(this.me);
    this.consensus.clear();
    this.consensus.add(this.me);
    // The JOIN goes at the next tick, due now: what the driver has already read is taken in first, so a burst of
    // news costs one JOIN to every peer instead of one per message (docs/totem.md § JOIN at scale).
    this.joinAt = this.now;
    this.consensusAt = this.now + this.timings.consensusMs;
    this.checkConsensus();
  }

  private joinMessage(): JoinMessage {
    return {
      type: 'join',
      sender: this.me,
      proc: [...this.sets.proc].sort((a, b) => a - b),
      fail: [...this.sets.fail].sort((a, b) => a - b),
      ringSeq: this.highestRingSeq,
      ...this.unreachableField(),
      stamp: this.stamp,
    };
  }

  private mergeDetectMessage(ringId: RingId): MergeDetectMessage {
    const members = this.installed ? [...this.installed.members] : [];
    return { type: 'mergeDetect', sender: this.me, ringId, ...this.unreachableField(), members, stamp: this.stamp };
  }

  /**
   * A node outside my installed ring that runs another cluster config (its last JOIN or MERGE_DETECT carried a
   * different stamp) is not admitted. Members are: nodes apply a config change a few ms apart, and that must not
   * split a running ring.
   */
  private runsOtherConfig(nodeId: number): boolean {
    const theirs = this.peerStamps.get(nodeId);
    return theirs !== undefined && !sameStamp(theirs, this.stamp) && !this.installed?.members.includes(nodeId);
  }

  /** Records the stamp of a JOIN or MERGE_DETECT; true when the message must be ignored (counted, reported once). */
  private refusedForConfig(sender: number, stamp: ConfigStamp): boolean {
    if (sender === this.me) return false;
    this.peerStamps.set(sender, stamp);
    if (!this.runsOtherConfig(sender)) {
      this.mismatchReported.delete(sender);
      return false;
    }
    this.stats.configMismatches++;
    const reported = this.mismatchReported.get(sender);
    if (reported && sameStamp(reported, stamp)) return true;
    this.mismatchReported.set(sender, stamp);
    this.out.push({ type: 'configMismatch', nodeId: sender, theirs: { ...stamp }, ours: { ...this.stamp } });
    this.log('warning', mismatchText(sender, stamp, this.stamp));
    return true;
  }

  private unreachableField(): { unreachable?: number[] } {
    return this.unreachable.size === 0 ? {} : { unreachable: [...this.unreachable].sort((a, b) => a - b) };
  }

  /** A node outside my installed ring that cannot reach some member of it: not admitted (see cannotReachMembers). */
  private isCutOffOutsider(nodeId: number): boolean {
    return !this.installed?.members.includes(nodeId) && this.cannotReachMembers(nodeId);
  }

  /**
   * Asymmetric reachability (corosync#750): a node outside my ring that cannot reach some member of it on any
   * link must not be admitted — taking it in would make that member and it fail each other, and the ring would
   * re-form again and again. It stays out (its own partition) until a JOIN or MERGE_DETECT of its no longer lists a
   * member; the log names the broken pair, at most once per pair every ASYMMETRY_LOG_INTERVAL_MS. This holds while
   * gathering too: the round would otherwise end in a consensus timeout, and the next one again.
   */
  private cannotReachMembers(sender: number): boolean {
    const members = this.installed?.members ?? [];
    const unreachable = this.reportedUnreachable.get(sender);
    const broken = unreachable?.find((id) => id !== sender && members.includes(id));
    if (broken === undefined) return false;
    const pair = `${Math.min(sender, broken)}-${Math.max(sender, broken)}`;
    const lastLogged = this.asymmetryLoggedAt.get(pair) ?? Number.NEGATIVE_INFINITY;
    if (this.now - lastLogged >= ASYMMETRY_LOG_INTERVAL_MS) {
      this.asymmetryLoggedAt.set(pair, this.now);
      this.log(
        'warning',
        `Node ${sender} cannot reach node ${broken} on any link (asymmetric reachability): not admitting node ${sender} into the ring.`,
      );
    }
    return true;
  }

  private sendJoin(): void {
    this.send('all', encodeMessage(this.joinMessage()), true);
  }

  private onJoin(join: JoinMessage): void {
    if (join.sender === this.me) return;
    const leaving = join.fail.includes(join.sender);
    if (!leaving && this.refusedForConfig(join.sender, join.stamp)) return; // a leave is honoured whatever the config
    this.highestRingSeq = Math.max(this.highestRingSeq, join.ringSeq);
    this.joinRingSeqs.set(join.sender, Math.max(this.joinRingSeqs.get(join.sender) ?? 0, join.ringSeq));
    if (leaving) {
      this.onLeaveNotice(join.sender);
      return;
    }
    this.reportedUnreachable.set(join.sender, join.unreachable ?? []);
    const oldMembers = new Set(this.installed?.members ?? []);
    switch (this.state) {
      case 'operational': {
        const member = oldMembers.has(join.sender);
        if (member && join.ringSeq < this.installed!.ringId.seq) return; // straggler from the round that formed us
        if (this.isCutOffOutsider(join.sender)) return;
        const verdict = applyJoin(this.me, this.sets, join, oldMembers);
        if (member || verdict === 'merged') this.enterGather(member ? 'joinOperational' : 'mergeJoin');
        return;
      }
      case 'gather': {
        // A node outside my ring that cannot reach one of its members: merging it would make the round end in a
        // consensus timeout, and the next one again (5 nodes, node 1 cut from 2 and 3, test/totem/asymmetry.test.ts).
        if (this.isCutOffOutsider(join.sender)) return;
        // A JOIN that fails me but was sent before its sender knew of my current ring (lower ring seq) is stale: it
        // answers a JOIN of mine from before that ring. Taking it made two nodes fail each other, form single-node
        // rings, merge, and fail each other again at network speed (a JOIN storm the fuzzer found, seed 912).
        if (join.fail.includes(this.me) && this.installed && join.ringSeq < this.installed.ringId.seq) return;
        const verdict = applyJoin(this.me, this.sets, join, oldMembers);
        assert(!this.sets.fail.has(this.me), 'Totem: a node never puts itself in its fail set');
        if (verdict === 'merged') {
          this.enterGather('mergeJoin');
        } else if (verdict === 'agree') {
          this.consensus.add(join.sender);
          this.checkConsensus();
        }
        return;
      }
      case 'commit':
      case 'recovery': {
        const forming = this.forming!;
        if (!forming.members.includes(join.sender) || join.ringSeq < forming.ringId.seq) return;
        if (this.state === 'recovery') {
          // Members that installed the forming ring before this JOIN reached them start their gather from it
          // (proc = its members, fail emptied); so does a member the install token had not reached yet. Keeping
          // the fail set of the round that formed the ring made the late members re-exclude a node the others had
          // taken back, and the ring re-formed without it every consensus round (seed 694, 7 nodes).
          this.sets.proc.clear();
          for (const id of forming.members) this.sets.proc.add(id);
          this.sets.fail.clear();
          applyJoin(this.me, this.sets, join, new Set(forming.members));
        } else {
          applyJoin(this.me, this.sets, join, oldMembers);
        }
        this.enterGather(this.state === 'commit' ? 'joinCommit' : 'joinRecovery');
        return;
      }
      case 'left':
        return;
    }
  }

  private onLeaveNotice(sender: number): void {
    const known = this.sets.proc.has(sender) || this.installed?.members.includes(sender);
    if (!known || this.sets.fail.has(sender)) return;
    this.log('notice', `Node ${sender} left the ring (leave notice), forming new configuration.`);
    this.leftCleanly.add(sender);
    this.sets.fail.add(sender);
    this.enterGather(this.state === 'operational' ? 'joinOperational' : 'mergeJoin');
  }

  private checkConsensus(): void {
    if (this.state !== 'gather') return;
    const active = activeMembers(this.sets);
    if (!active.every((id) => this.consensus.has(id)) || active[0] !== this.me) return;
    this.highestRingSeq += RING_SEQ_STEP;
    assert(this.highestRingSeq > this.lastCommittedRingSeq, 'Totem: a new ring id is above every ring committed to');
    const commit: CommitMessage = {
      type: 'commit',
      ringId: { rep: this.me, seq: this.highestRingSeq },
      members: active,
      entries: [],
    };
    this.onCommit(commit);
  }

  private onConsensusTimeout(): void {
    for (const id of activeMembers(this.sets)) if (!this.consensus.has(id)) this.sets.fail.add(id);
    this.enterGather('consensusExpired');
  }

  /**
   * In COMMIT or RECOVERY, a MERGE_DETECT or MCAST of a ring that a member of the forming ring installed after the
   * JOIN of its I heard last (a higher ring seq): that member left the round — it failed every peer when its
   * transport took its links down, say, while its peers saw nothing — and will never pass the commit token or the
   * token on. Back to GATHER at once, with it still in proc: my JOIN pulls it in. corosync ignores a merge in these
   * states and waits for the token-loss timeout (22.5 s at 32 nodes: issue 14's 40.1 s formation,
   * test/totem/commit-dropout.test.ts). True when it did.
   */
  private formingMemberLeft(sender: number, ringId: RingId): boolean {
    const forming = this.forming;
    if ((this.state !== 'commit' && this.state !== 'recovery') || !forming?.members.includes(sender)) return false;
    const joinRingSeq = this.joinRingSeqs.get(sender);
    if (joinRingSeq === undefined || ringId.seq <= joinRingSeq || sameRingId(ringId, forming.ringId)) return false;
    this.log(
      'notice',
      `Node ${sender} installed ring ${formatRingId(ringId)}: it left the ring being formed, forming new configuration.`,
    );
    this.enterGather('formingMemberLeft');
    return true;
  }

  /** A message of another ring: a partition to merge with (TOCS §4.4, corosync memb_merge_detect). */
  private onForeignRing(sender: number, ringId: RingId, reason: GatherReason): void {
    if (sender === this.me) return;
    // Its own ring's messages (quorum and CPG traffic of a lone node) must not pull it in by the back door.
    if (this.isCutOffOutsider(sender)) return;
    if (this.runsOtherConfig(sender)) return;
    if (this.state === 'operational') {
      const installed = this.installed!;
      if (sameRingId(ringId, installed.ringId)) return;
      if (installed.members.includes(sender) && ringId.seq <= installed.ringId.seq) return; // stale
      this.sets.proc.add(sender);
      this.enterGather(reason);
    } else if (this.state === 'gather' && !this.sets.proc.has(sender)) {
      this.sets.proc.add(sender);
      this.enterGather('foreignGather');
    }
  }

  // ---------------------------------------------------------------- membership: commit and recovery

  private onCommit(commit: CommitMessage): void {
    this.highestRingSeq = Math.max(this.highestRingSeq, commit.ringId.seq);
    if (commit.entries.length < commit.members.length) {
      this.onCommitFirstRotation(commit);
      return;
    }
    const forming = this.forming;
    if (!forming || !sameRingId(commit.ringId, forming.ringId)) return;
    if (!this.commitMatches(commit, forming)) {
      this.stats.badMessages++;
      return;
    }
    if (this.state === 'commit') {
      this.tokenRetransmitAt = Infinity;
      this.enterRecovery(commit.entries);
      this.forwardCommit(commit);
    } else if (this.state === 'recovery' && commit.ringId.rep === this.me && this.lastTokenSeq < 0) {
      this.tokenRetransmitAt = Infinity;
      this.lastSentToken = null;
      const token: TokenMessage = {
        type: 'token',
        ringId: forming.ringId,
        tokenSeq: 0,
        seq: 0,
        aru: 0,
        aruAddr: 0,
        fcc: 0,
        backlog: 0,
        install: false,
        rtr: [],
      };
      this.onToken(token);
    }
  }

  private onCommitFirstRotation(commit: CommitMessage): void {
    if (this.state !== 'gather') return;
    const active = activeMembers(this.sets);
    const myTurn = commit.members.indexOf(this.me) === commit.entries.length;
    const sameSet = active.length === commit.members.length && active.every((id, i) => id === commit.members[i]);
    if (!myTurn || !sameSet || commit.ringId.seq <= this.lastCommittedRingSeq) return; // stale: never reuse a ring
    this.lastCommittedRingSeq = commit.ringId.seq;
    assert(isStrictlyAscending(commit.members), 'Totem: ring members are ascending and unique');
    assert(commit.members.includes(this.me), 'Totem: a ring this node commits to has it as a member');
    // A ring of one formed the moment this node failed its last peer: the JOIN still due goes out first, or the
    // others never learn the sets and the unreachable peers it formed its ring with, and its ring's first multicast
    // pulls a node that cannot know them into a gather that cannot reach consensus (asymmetric reachability). Only
    // then: a JOIN with the new ring's seq would send a member of a larger forming ring back to GATHER.
    if (commit.members.length === 1 && this.joinAt <= this.now) this.sendJoin();
    this.log('debug', 'entering COMMIT state.');
    this.state = 'commit';
    this.forming = new RingLog(commit.ringId, commit.members);
    this.resetTokenBookkeeping();
    this.joinAt = Infinity;
    this.consensusAt = Infinity;
    this.restartTokenLossTimer();
    const old = this.installed;
    const entry: CommitEntry = {
      nodeId: this.me,
      oldRingId: old ? old.ringId : null,
      aru: old?.aru ?? 0,
      highSeq: old?.highSeq ?? 0,
      highDelivered: old?.highDelivered ?? 0,
    };
    this.forwardCommit({ ...commit, entries: [...commit.entries, entry] });
  }

  /**
   * A full commit token must hold one entry per member of the ring being formed, in ring order, mine naming the
   * ring I come from; one that does not (a forgery or a peer's bug) is dropped and counted, so that the recovery
   * planned from it holds this node.
   */
  private commitMatches(commit: CommitMessage, forming: RingLog): boolean {
    const members = forming.members;
    if (commit.entries.length !== members.length || commit.members.length !== members.length) return false;
    if (!commit.entries.every((entry, i) => entry.nodeId === members[i] && commit.members[i] === members[i])) {
      return false;
    }
    const mine = commit.entries[members.indexOf(this.me)]!.oldRingId;
    const old = this.installed;
    return old === null ? mine === null : mine !== null && sameRingId(mine, old.ringId);
  }

  private forwardCommit(commit: CommitMessage): void {
    const next = successor(commit.members, this.me);
    if (next === this.me) {
      this.onCommit(commit);
      return;
    }
    const bytes = encodeMessage(commit);
    this.send(next, bytes, true);
    this.lastSentToken = { to: next, bytes };
    this.tokenRetransmitAt = this.now + this.timings.tokenRetransmitMs;
  }

  private enterRecovery(entries: readonly CommitEntry[]): void {
    assert(this.state === 'commit', 'Totem: RECOVERY is entered from COMMIT only');
    this.log('debug', 'entering RECOVERY state.');
    this.state = 'recovery';
    this.restartTokenLossTimer();
    const plan = planRecovery(this.me, this.installed, entries);
    this.recoveryPlan = plan;
    this.recoveryQueue = plan.resend.map((seq) => this.installed!.get(seq)!);
  }

  private enterOperational(): void {
    assert(this.state === 'recovery', 'Totem: OPERATIONAL is entered from RECOVERY only');
    const newRing = this.forming!;
    const old = this.installed;
    const plan = this.recoveryPlan!;
    const transitional = plan.transitional;
    assert(old === null || transitional.includes(this.me), 'Totem: the transitional set holds this node');
    const left = old ? difference(old.members, transitional) : [];
    const failed = left.filter((id) => !this.leftCleanly.has(id));
    const joined = difference(newRing.members, transitional);
    if (old) {
      this.deliverOldRing(old, plan.maxDelivered, false);
      this.configChange('transitional', transitional, left, [], failed, newRing.ringId);
      this.deliverOldRing(old, plan.highSeq, true);
    }
    this.configChange('regular', [...newRing.members], left, joined, failed, newRing.ringId);
    this.log('debug', 'entering OPERATIONAL state.');
    const changes =
      (joined.length ? ` joined: ${joined.join(' ')}` : '') + (left.length ? ` left: ${left.join(' ')}` : '');
    this.log('notice', `A new membership (${formatRingId(newRing.ringId)}) was formed. Members${changes}`);
    if (failed.length) this.log('notice', `Failed to receive the leave message. failed: ${failed.join(' ')}`);
    this.stats.configurations++;
    this.state = 'operational';
    this.installed = newRing;
    this.forming = null;
    this.recoveryPlan = null;
    this.recoveryQueue = [];
    this.sets.proc.clear();
    for (const id of newRing.members) this.sets.proc.add(id);
    this.sets.fail.clear();
    this.leftCleanly.clear();
    this.joinAt = Infinity;
    this.consensusAt = Infinity;
    this.armMergeDetect();
  }

  /** Delivers old-ring messages up to `upTo`; `skipHoles` (transitional configuration) steps over missing seqs. */
  private deliverOldRing(old: RingLog, upTo: number, skipHoles: boolean): void {
    for (let seq = old.highDelivered + 1; seq <= upTo; seq++) {
      const message = old.get(seq);
      if (!message && !skipHoles) break;
      if (message) this.deliver(message);
      old.highDelivered = seq;
    }
  }

  // ---------------------------------------------------------------- operational: messages and token

  private onMcast(message: McastMessage): void {
    const installed = this.installed;
    if (installed && sameRingId(message.ringId, installed.ringId)) {
      if (this.state !== 'operational' && this.state !== 'gather') return; // old ring frozen from commit on
      installed.add(message);
      if (this.state === 'operational') this.deliverInOrder(installed);
      return;
    }
    const forming = this.forming;
    if (forming && sameRingId(message.ringId, forming.ringId)) {
      const inner = message.inner;
      if (forming.add(message) && inner && installed && sameRingId(inner.ringId, installed.ringId)) {
        installed.add({ type: 'mcast', ...inner, inner: null });
      }
      return;
    }
    if (this.formingMemberLeft(message.sender, message.ringId)) return;
    // While some peer is unreachable, a foreign ring may hold it: merge only on a MERGE_DETECT, which lists the
    // ring's members (above), not on its ordinary traffic.
    if (this.unreachable.size > 0) return;
    this.onForeignRing(message.sender, message.ringId, 'foreignOperational');
  }

  private activeRing(): RingLog | null {
    if (this.state === 'operational') return this.installed;
    if (this.state === 'recovery') return this.forming;
    return null;
  }

  private onToken(received: TokenMessage): void {
    const ring = this.activeRing();
    if (!ring || !sameRingId(received.ringId, ring.ringId) || received.tokenSeq <= this.lastTokenSeq) return;
    if (this.contradictsRing(received, ring)) {
      this.stats.badMessages++;
      return;
    }
    const token: TokenMessage = { ...received, rtr: [...received.rtr] };
    this.lastTokenSeq = token.tokenSeq;
    this.tokenRetransmitAt = Infinity;
    this.restartTokenLossTimer();
    if (this.previousVisitAt >= 0) this.stats.tokenRotationMs = this.now - this.previousVisitAt;
    this.previousVisitAt = this.now;
    if (this.state === 'recovery' && token.install) this.enterOperational();
    if (this.holdsForBurst(token)) {
      this.kept = { token, phase: 'burst', until: this.now + this.burstHold!.ms };
      this.stats.burstHolds++;
      return;
    }
    this.visit(token);
  }

  /**
   * Whether a token arriving now waits for my burst (`TotemOptions.burstHoldMs`): operational, nobody asking for
   * retransmissions, and my queue a burst in progress that does not fill a pack yet. On a busy ring whose clients
   * get little CPU between two visits the visits are otherwise small and the hops per message many (docs/totem.md
   * "Burst hold"); a lone message, or one per visit, never waits.
   */
  private holdsForBurst(token: TokenMessage): boolean {
    return (
      this.burstHold !== null &&
      this.state === 'operational' &&
      token.rtr.length === 0 &&
      this.sentLastVisit > 0 &&
      this.pending.length >= BURST_MESSAGES_MIN &&
      this.burstShortOfPack()
    );
  }

  /** True while my queue is still short of one pack (what a burst hold waits for). */
  private burstShortOfPack(): boolean {
    return this.pendingBytes < this.burstHold!.packBytes;
  }

  /** Takes the kept token of `phase` (it must be the one kept): it is no longer kept. */
  private takeKept(phase: 'idle' | 'burst'): TokenMessage {
    const kept = this.kept;
    assert(kept !== null && kept.phase === phase, 'Totem: only a kept token of its phase is taken');
    this.kept = null;
    return kept.token;
  }

  /** The burst filled a pack, or the hold expired: the held token's visit, now. */
  private endBurstHold(): void {
    this.visit(this.takeKept('burst'));
  }

  /** A token visit: retransmissions, my new messages, flow control and aru, then the token goes on. */
  private visit(token: TokenMessage): void {
    const active = this.activeRing();
    assert(active !== null, 'Totem: a token visit needs an operational or recovering ring');
    const idleVisit = token.seq === this.previousVisitSeq && token.aru === token.seq && token.rtr.length === 0;
    this.seqUnchangedCount = idleVisit ? this.seqUnchangedCount + 1 : 0;

    this.safeAru = Math.min(this.previousForwardAru, token.aru);
    active.release(this.safeAru);
    const retransmittedNow = this.serveRetransmitList(token, active);
    this.requestMissing(token, active);
    const sentNow = this.sendNewMessages(token, active, retransmittedNow);
    if (sentNow + retransmittedNow > 0 || token.rtr.length > 0) this.seqUnchangedCount = 0;
    this.updateFlowControl(token, retransmittedNow + sentNow);
    assert(active.highSeq <= token.seq, 'Totem: every message of the ring has a seq the token gave out');
    updateAru(token, active.aru, this.me);
    assert(token.aru <= token.seq, 'Totem: the token aru ≤ the token seq');
    if (this.state === 'operational' && this.failedToReceive(token)) return;
    if (this.state === 'recovery' && this.recoveryComplete(token, sentNow)) {
      token.install = true;
      // A token that installs the ring is news, not idle: the members install it on this rotation, so no hold yet.
      this.seqUnchangedCount = 0;
      this.enterOperational();
    }
    assert(token.seq >= this.previousVisitSeq, 'Totem: the token seq never goes back within a ring');
    this.previousForwardAru = token.aru;
    this.previousVisitSeq = token.seq;
    this.forwardToken({ ...token, tokenSeq: token.tokenSeq + 1 });
    if (this.state === 'operational') this.deliverInOrder(this.installed!);
  }

  /**
   * A token that contradicts what this node saw of its ring — its seq below the last visit's or below a message
   * already received, or its aru above its seq — is a forgery or a peer's bug: dropped and counted (the ring then
   * re-forms by token loss), so that the assertions on the token this node forwards hold whatever arrives.
   */
  private contradictsRing(token: TokenMessage, ring: RingLog): boolean {
    return token.seq < this.previousVisitSeq || token.seq < ring.highSeq || token.aru > token.seq;
  }

  /**
   * Re-multicasts requested messages I hold; returns how many. They go as control traffic (on every up link, the
   * receiver drops the extra copies): a message lost on a link that just died in passive mode is then recovered within
   * one token rotation instead of after the transport declares the link down. Retransmissions are rare.
   */
  private serveRetransmitList(token: TokenMessage, ring: RingLog): number {
    const held = takeRetransmissions(token, ring);
    for (const message of held) this.send('all', encodeMessage(message), true);
    this.stats.retransmitted += held.length;
    return held.length;
  }

  private requestMissing(token: TokenMessage, ring: RingLog): void {
    const added = requestMissing(token, ring, this.previousVisitSeq);
    if (added.length === 0) return;
    this.stats.retransmitRequested += added.length;
    // corosync logs every request; on a flapping link that floods the log, so at most one line per interval,
    // saying how many requests it stands for.
    if (this.now - this.retransmitLoggedAt < RETRANSMIT_LOG_INTERVAL_MS) {
      this.retransmitRequestsUnlogged += added.length;
      return;
    }
    const more = this.retransmitRequestsUnlogged;
    this.retransmitLoggedAt = this.now;
    this.retransmitRequestsUnlogged = 0;
    const list = added.map((seq) => seq.toString(16)).join(' ');
    this.log('notice', `Retransmit List: ${list}${more > 0 ? ` (and ${more} more since the last report)` : ''}`);
  }

  /**
   * Sends this visit's new MCASTs; returns their weight (flow control counts it as messages). With a packer, an
   * MCAST weighs one per pack budget it spans, as each of corosync's totempg fragments counts against max_messages:
   * a visit of 17 whole 64 KiB MCASTs (1.1 MiB, ≈ 1,600 datagrams to two peers, sealed and sent in one turn) held a
   * daemon's event loop up to 250 ms, its peers heard no pong and took its links down (docs/benchmarks.md
   * "bulk transfer"). The first MCAST of a visit goes whatever it weighs, or a big one would never go.
   */
  private sendNewMessages(token: TokenMessage, ring: RingLog, retransmittedNow: number): number {
    const allowed = allowedMessages(token, this.timings, retransmittedNow);
    let weight = 0;
    while (weight < allowed) {
      const nextWeight = this.nextOutgoingWeight();
      if (nextWeight === null || (weight > 0 && weight + nextWeight > allowed)) break;
      const message = this.nextOutgoing(token, ring)!;
      ring.add(message);
      this.send('all', encodeMessage(message), false);
      weight += nextWeight;
    }
    return weight;
  }

  /** The queue `nextOutgoing` takes from: old-ring messages in recovery, application messages when operational. */
  private outgoingQueue(): readonly { payload: Uint8Array }[] {
    return this.state === 'recovery' ? this.recoveryQueue : this.pending;
  }

  /** The flow-control weight of the next message `nextOutgoing` would take (null: none waits). */
  private nextOutgoingWeight(): number | null {
    const next = this.outgoingQueue()[0];
    if (next === undefined) return null;
    const budget = this.options.packer?.budgetBytes;
    return budget === undefined ? 1 : Math.max(1, Math.ceil(next.payload.length / budget));
  }

  /** The next message to order: an old-ring message in recovery, an application message when operational. */
  private nextOutgoing(token: TokenMessage, ring: RingLog): McastMessage | null {
    const base = { ringId: ring.ringId, sender: this.me };
    if (this.state === 'recovery') {
      const old = this.recoveryQueue.shift();
      if (!old) return null;
      token.seq++;
      return { type: 'mcast', ...base, seq: token.seq, guarantee: 'agreed', payload: new Uint8Array(0), inner: old };
    }
    const next = this.pending.shift();
    if (!next) return null;
    this.pendingBytes -= next.payload.length;
    token.seq++;
    const payload = this.packWithFollowers(next);
    return { type: 'mcast', ...base, seq: token.seq, guarantee: next.guarantee, payload, inner: null };
  }

  /** totempg packing: `first` joined with the pending payloads after it that fit the packer's budget. */
  private packWithFollowers(first: PendingMessage): Uint8Array {
    const packer = this.options.packer;
    const pending = this.pending;
    if (!packer || pending.length === 0) return first.payload;
    let count = 1;
    let bytes = first.payload.length;
    while (count <= pending.length) {
      const candidate = pending[count - 1]!;
      if (candidate.guarantee !== first.guarantee) break;
      if (packer.packedBytes(count + 1, bytes + candidate.payload.length) > packer.budgetBytes) break;
      count++;
      bytes += candidate.payload.length;
    }
    if (count === 1) return first.payload;
    const taken = pending.splice(0, count - 1);
    const payloads = [first.payload];
    for (const message of taken) payloads.push(message.payload);
    this.pendingBytes -= bytes - first.payload.length;
    return packer.pack(payloads);
  }

  private updateFlowControl(token: TokenMessage, sentNow: number): void {
    const backlogNow = this.outgoingQueue().length;
    updateFlowControl(token, {
      sentNow,
      sentLastVisit: this.sentLastVisit,
      backlogNow,
      backlogLastVisit: this.backlogLastVisit,
    });
    this.sentLastVisit = sentNow;
    this.backlogLastVisit = backlogNow;
  }

  /** corosync's FAILED TO RECEIVE: my aru held the ring back for failToRecvConst rotations → new membership. */
  private failedToReceive(token: TokenMessage): boolean {
    this.aruStuckCount = token.aru === this.lastTokenAru && token.aruAddr !== 0 ? this.aruStuckCount + 1 : 0;
    this.lastTokenAru = token.aru;
    if (this.aruStuckCount <= this.timings.failToRecvConst || token.aruAddr !== this.me) return false;
    this.log('error', 'FAILED TO RECEIVE');
    this.enterGather('failedToReceive');
    return true;
  }

  /**
   * Representative only: every member holds every new-ring message (aru = seq on two successive visits, nothing sent
   * meanwhile), no member has old messages left to re-send (backlog 0) and nobody asks for retransmissions.
   */
  private recoveryComplete(token: TokenMessage, sentNow: number): boolean {
    return (
      token.ringId.rep === this.me &&
      sentNow === 0 &&
      token.seq === this.previousVisitSeq &&
      token.aru === token.seq &&
      this.previousForwardAru === token.seq &&
      token.backlog === 0 &&
      token.rtr.length === 0 &&
      this.recoveryQueue.length === 0
    );
  }

  /**
   * The representative may hold the token: its idle arrivals in a row are above seqnoUnchangedConst. (A safe
   * message needs no more: `forwardToken` holds only once the rep delivered everything, and it delivers a safe
   * message one rotation after every member forwarded an aru covering it — they deliver it on the way.)
   */
  private isIdle(): boolean {
    return this.seqUnchangedCount > this.timings.seqnoUnchangedConst;
  }

  /**
   * A non-representative: the rep may be holding the token, so a new message asks it back (TOKEN_HOLD_CANCEL).
   * True after an idle visit here, and also when the token I forwarded last had aru = seq: the rep holds at its
   * first idle arrival (seqnoUnchangedConst 0), when a member the last message came after has seen the new seq
   * only once — its own count is still 0.
   */
  private mayBeHeld(): boolean {
    return this.seqUnchangedCount > 0 || this.previousForwardAru === this.previousVisitSeq;
  }

  private forwardToken(token: TokenMessage): void {
    const ring = this.activeRing()!;
    const next = successor(ring.members, this.me);
    const idle = this.state === 'operational' && this.pending.length === 0 && ring.highDelivered === ring.highSeq;
    const holding = idle && ring.ringId.rep === this.me && (next === this.me || (this.isIdle() && !this.holdCancelled));
    this.holdCancelled = false;
    if (holding || next === this.me) {
      this.kept = { token, phase: 'idle', until: holding ? this.now + this.timings.holdMs : this.now };
      return;
    }
    this.transmitToken(token, next);
  }

  /**
   * A multicast on the representative while it holds the (idle) token: the token is here, so this is a new visit
   * at once — the message is ordered now and the token goes on carrying it, instead of first making an empty
   * rotation and ordering the message one rotation later (that rotation was the whole self-delivery latency of
   * the representative). The held token is one hop newer than the one received, so the visit is accepted.
   */
  private revisitHeldToken(): void {
    this.onToken(this.takeKept('idle'));
  }

  private releaseHeldToken(): void {
    const token = this.takeKept('idle');
    const ring = this.activeRing();
    if (!ring) return;
    const next = successor(ring.members, this.me);
    if (next === this.me) this.onToken(token);
    else this.transmitToken(token, next);
  }

  private transmitToken(token: TokenMessage, next: number): void {
    const bytes = encodeMessage(token);
    this.send(next, bytes, true);
    this.lastSentToken = { to: next, bytes };
    this.tokenRetransmitAt = this.now + this.timings.tokenRetransmitMs;
  }

  /** token_retransmit expired: resend my last token (or commit token); the receiver drops it if it had it. */
  private retransmitToken(): void {
    const last = this.lastSentToken;
    this.tokenRetransmitAt = last ? this.now + this.timings.tokenRetransmitMs : Infinity;
    if (!last) return;
    this.stats.tokenRetransmits++;
    this.send(last.to, last.bytes, true);
  }

  private onTokenLoss(): void {
    this.tokenLossAt = Infinity;
    if (this.state === 'operational') {
      this.log(
        'notice',
        `A processor failed, forming new configuration: token timed out (${this.timings.tokenMs}ms), waiting ${this.timings.consensusMs}ms for consensus.`,
      );
      this.enterGather('tokenLostOperational');
    } else if (this.state === 'commit') {
      this.enterGather('tokenLostCommit');
    } else if (this.state === 'recovery') {
      this.enterGather('tokenLostRecovery');
    }
  }

  private restartTokenLossTimer(): void {
    this.tokenReceivedAt = this.now;
    this.tokenLossAt = this.now + this.timings.tokenMs;
    const warnPct = this.timings.tokenWarningPct;
    this.tokenWarningAt =
      warnPct > 0 && this.state === 'operational' ? this.now + (this.timings.tokenMs * warnPct) / PERCENT : Infinity;
  }

  private resetTokenBookkeeping(): void {
    this.lastTokenSeq = -1;
    this.lastSentToken = null;
    this.tokenRetransmitAt = Infinity;
    this.kept = null;
    this.holdCancelled = false;
    this.previousForwardAru = -1;
    this.previousVisitSeq = -1;
    this.previousVisitAt = -1;
    this.safeAru = 0;
    this.lastTokenAru = -1;
    this.aruStuckCount = 0;
    this.seqUnchangedCount = 0;
    this.sentLastVisit = 0;
    this.backlogLastVisit = 0;
  }

  /**
   * The representative's next MERGE_DETECT, due only while a configured node is outside the ring: with every node
   * in it, the timer would wake the process every `mergeMs` to send nothing (an idle 3-node daemon: ≈ 5 empty
   * ticks/s, docs/benchmarks.md *Idle cost*). A node that leaves makes a new ring, which arms it again.
   */
  private armMergeDetect(delayMs = this.timings.mergeMs): void {
    const ring = this.installed;
    const outsider = ring?.ringId.rep === this.me && this.options.nodes.some((id) => !ring.members.includes(id));
    this.mergeAt = outsider ? this.now + delayMs : Infinity;
  }

  private sendMergeDetect(): void {
    const installed = this.installed!;
    this.armMergeDetect();
    const bytes = encodeMessage(this.mergeDetectMessage(installed.ringId));
    for (const id of this.options.nodes) if (!installed.members.includes(id)) this.send(id, bytes, true);
  }

  // ---------------------------------------------------------------- delivery and output

  /** Delivers in seq order up to the first gap; a safe message waits until the token proved every member has it. */
  private deliverInOrder(ring: RingLog): void {
    for (;;) {
      const message = ring.get(ring.highDelivered + 1);
      if (!message) return;
      if (!message.inner) {
        if (message.guarantee === 'safe' && message.seq > this.safeAru) return;
        this.deliver(message);
      }
      ring.highDelivered = message.seq;
    }
  }

  private deliver(message: McastMessage): void {
    const { rep, seq } = message.ringId;
    if (rep === this.deliveredRingRep && seq === this.deliveredRingSeq) {
      assert(message.seq > this.deliveredSeq, 'Totem: delivery is strictly in seq order within a ring');
    }
    this.deliveredRingRep = rep;
    this.deliveredRingSeq = seq;
    this.deliveredSeq = message.seq;
    this.stats.delivered++;
    if (message.guarantee === 'safe') this.stats.deliveredSafe++;
    this.out.push({
      type: 'deliver',
      sender: message.sender,
      payload: message.payload,
      ringId: { ...message.ringId },
      seq: message.seq,
      guarantee: message.guarantee,
    });
  }

  private configChange(
    kind: 'transitional' | 'regular',
    members: number[],
    left: number[],
    joined: number[],
    failed: number[],
    ringId: RingId,
  ): void {
    this.out.push({ type: 'configChange', kind, members, left, joined, failed, ringId: { ...ringId } });
  }

  private send(to: number | 'all', payload: Uint8Array, control: boolean): void {
    this.out.push({ type: 'send', to, payload, control });
  }

  private log(level: TotemLogLevel, message: string): void {
    this.out.push({ type: 'log', level, subsystem: 'TOTEM', message });
  }
}
