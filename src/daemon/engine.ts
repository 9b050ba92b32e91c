/**
 * One running cluster node: the UDP transport driver (src/transport/udp.ts) under the pure service stack
 * (Totem + votequorum + CPG, ./stack.ts), wired together with the real clock. The admin socket, the CLI and the
 * demo talk to this class; everything it learns is also logged in corosync's words.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { STAGE_TRACE_ON, stamp } from '../base/stage-trace.ts';
import { wallClockGridOriginMs } from '../base/time-grid.ts';
import {
  type CheckedConfig,
  type ConfigChangePlan,
  type ConfigStamp,
  configStampOf,
  DEFAULT_LINK_MTU,
  type EffectiveLink,
  type NodeConfig,
} from '../config/index.ts';
import { type CpgError, LOCAL_MEMBERSHIPS_MAX } from '../cpg/index.ts';
import { type Aead, nativeAead } from '../crypto/aead.ts';
import { PacketCrypto } from '../crypto/packet-crypto.ts';
import { parseAutoTieBreakerNode, type QuorumOptions } from '../quorum/index.ts';
import {
  formatRingId,
  type Guarantee,
  peekMessageType,
  type RingId,
  type TotemOptions,
  type TotemTimings,
} from '../totem/index.ts';
import { type DatagramEngine, nativeDatagramEngine } from '../transport/datagram-socket.ts';
import { Transport } from '../transport/transport.ts';
import type { LinkOptions } from '../transport/types.ts';
import { UdpTransport } from '../transport/udp.ts';
import type { LinkEndpoint } from '../transport/udp-endpoints.ts';
import { clusterIdFromName } from '../wire/cluster-id.ts';
import { CarrierWatch, type LocalLinkAddress } from './carrier-watch.ts';
import { CoreDriver } from './core-driver.ts';
import { type FailStopLog, failStop, watchAssertions } from './fail-stop.ts';
import { TOTEM_PAYLOAD_BYTES_MAX } from './limits.ts';
import type { Logger } from './log.ts';
import { RingSeqFile } from './ring-seq-file.ts';
import { ServiceStack, type StackAction, type StackEvent, type StackOptions, stackSizes } from './stack.ts';
import { TokenTrace } from './token-trace.ts';

export interface EngineOptions {
  /** The running cluster config (replaced by reconfigure). */
  checked: CheckedConfig;
  localNode: NodeConfig;
  /** The authkey bytes (undefined only with crypto_cipher: none + allow_crypto_none). */
  authkey: Uint8Array | undefined;
  /** Where the ring sequence file lives (corosync: /var/lib/corosync). */
  stateDir: string;
  logger: Logger;
  /** Log one line per token hop (`logging.debug: trace`; see ./token-trace.ts). */
  tokenTrace?: boolean;
  /** The AES-256-GCM implementation (default: the native addon where it loads; docs/crypto.md "The AEAD engine"). */
  aead?: Aead;
  /** How the link sockets read and write (default: the native addon's batched sockets where it loads). */
  datagramEngine?: DatagramEngine;
  /** The service engines the stack registers after votequorum and CPG (the file store). */
  services?: StackOptions['services'];
}

/** Events the engine emits for the admin socket and embedding applications. */
export interface EngineEvents {
  /** One token rotation measured here (seconds between two arrivals of the token). */
  tokenRotation: [seconds: number];
  link: [event: { nodeid: number; link: number; state: 'UP' | 'DOWN'; reason: string | null }];
  membership: [
    event: { kind: 'transitional' | 'regular'; members: number[]; left: number[]; joined: number[]; ring_id: string },
  ];
  quorum: [event: { quorate: boolean; changed: boolean; members: number[] }];
  cpgDeliver: [event: { group: string; pid: number; sender: { nodeId: number; pid: number }; payload: Uint8Array }];
  cpgConfchg: [event: Extract<StackAction, { type: 'cpgConfchg' }>];
  cpgRequestFailed: [event: Extract<StackAction, { type: 'cpgRequestFailed' }>];
  /** A node with another cluster config was kept out of the membership (docs/reconfiguration.md). */
  configMismatch: [event: { nodeId: number; theirs: ConfigStamp; ours: ConfigStamp }];
  /** A point-to-point message from another daemon (`sendPeerMessage`). */
  peerMessage: [from: number, payload: Uint8Array];
  /** Output of a registered service engine (see `serviceRequest`). */
  serviceOutput: [service: number, output: unknown];
  /** A committed cluster config was applied (`reconfigure`); `checked` is the new running config. */
  reconfigured: [checked: CheckedConfig];
}

/** A refused request (CPG multicast under backpressure, an invalid expected-votes value, a second CPG join). */
export class EngineRefusal extends Error {
  constructor(
    readonly code: 'backpressure' | 'invalid' | 'not_found' | 'exists',
    message: string,
  ) {
    super(message);
  }
}

/** A local CPG request, as the CPG core names it in `cpgRequestFailed`. */
type CpgRequest = 'join' | 'leave' | 'multicast';

/**
 * The `reason` under which a refusal of the CPG core is counted (corolink_admin_refused_total), per libcpg error:
 * CS_ERR_EXIST a second join, CS_ERR_NOT_EXIST a leave or multicast outside the group, CS_ERR_TRY_AGAIN CPG's queue
 * for the end of a sync full (or this node's processes at LOCAL_MEMBERSHIPS_MAX memberships).
 */
const CPG_REFUSAL_REASONS = {
  CS_ERR_EXIST: 'cpg_already_member',
  CS_ERR_NOT_EXIST: 'cpg_not_member',
  CS_ERR_TRY_AGAIN: 'cpg_try_again',
  CS_ERR_TOO_BIG: 'cpg_invalid',
  CS_ERR_INVALID_PARAM: 'cpg_invalid',
} as const satisfies Record<CpgError, string>;
export type CpgRefusalReason = (typeof CPG_REFUSAL_REASONS)[CpgError];
/** Every reason of {@link CPG_REFUSAL_REASONS}, once (metrics show each from the start). */
export const CPG_REFUSALS: readonly CpgRefusalReason[] = [...new Set(Object.values(CPG_REFUSAL_REASONS))];

/**
 * The answer to a local request the CPG core refused (libcpg's cpg_join / cpg_leave / cpg_mcast_joined errors):
 * CS_ERR_TRY_AGAIN is backpressure, the caller retries; the others are final.
 */
function cpgRefusal(error: CpgError, request: CpgRequest, group: string): EngineRefusal {
  if (error === 'CS_ERR_TRY_AGAIN') return request === 'multicast' ? BACKPRESSURE_REFUSAL : CPG_BUSY_REFUSAL;
  if (error === 'CS_ERR_NOT_EXIST') {
    return new EngineRefusal(
      'not_found',
      `not a member of group ${group}${request === 'multicast' ? ': join it first' : ''}`,
    );
  }
  if (error === 'CS_ERR_EXIST') return new EngineRefusal('exists', `already a member of group ${group}`);
  return new EngineRefusal('invalid', `CPG refused the ${request}: ${error}`);
}

/** Most CPG multicasts that may wait for room in Totem's queue, and their total bytes; beyond: backpressure. */
const WAITING_MULTICASTS_MAX = 1024;
const WAITING_BYTES_MAX = 16 * 1024 * 1024;

/**
 * Totem payloads a CPG message may take (CPG fragments above TOTEM_PAYLOAD_BYTES_MAX; generous): a message is let
 * into Totem's queue only when all its fragments fit, so no fragment is refused half-way through a message.
 */
function totemPayloadsFor(payload: Uint8Array): number {
  return 2 + Math.floor(payload.length / (TOTEM_PAYLOAD_BYTES_MAX / 2));
}

/**
 * The one backpressure refusal, made once: a sender retrying against a full queue meets it thousands of times a
 * second, and building an Error (with its stack trace) each time was a visible cost in the daemon's profile.
 */
export const BACKPRESSURE_REFUSAL = new EngineRefusal(
  'backpressure',
  'backpressure: the totem send queue is full; retry later',
);

/**
 * A CPG request once the engine is stopping: its leave is sent and the stack sends nothing more, so the request would
 * be answered ok and go nowhere (engine.stop() runs before the daemon's sockets close). Final, not backpressure.
 */
const STOPPING_REFUSAL = new EngineRefusal('invalid', 'the daemon is stopping: it takes no more CPG requests');

/** A CPG join or leave refused with CS_ERR_TRY_AGAIN: backpressure too, the caller retries (made once, as above). */
const CPG_BUSY_REFUSAL = new EngineRefusal(
  'backpressure',
  `backpressure: CPG cannot take a join or leave now (its queue for the end of a sync is full, or this node's processes hold ${LOCAL_MEMBERSHIPS_MAX} group memberships); retry later`,
);

/** The transport's options of one configured link. */
function linkOptionsOf(l: EffectiveLink): LinkOptions {
  return {
    link: l.link,
    priority: l.priority,
    pingIntervalMs: l.pingIntervalMs,
    pingTimeoutMs: l.pingTimeoutMs,
    pongCount: l.pongCount,
    mtu: l.mtu > 0 ? l.mtu : DEFAULT_LINK_MTU,
  };
}

/** A node's address on a link with the link's configured port. */
function endpointOf(checked: CheckedConfig, a: { link: number; address: string }): LinkEndpoint {
  const port = checked.effective.links.find((l) => l.link === a.link)?.mcastport;
  return { link: a.link, address: a.address, ...(port === undefined ? {} : { port }) };
}

/** The links of `checked` that `node` has an address on, with that address (what the carrier watch reads). */
function localLinkAddressesOf(checked: CheckedConfig, node: NodeConfig | undefined): LocalLinkAddress[] {
  return (node?.addresses ?? []).filter((a) => checked.effective.links.some((l) => l.link === a.link));
}

/** The node ids of a config's nodelist. */
function nodeIdsOf(checked: CheckedConfig): number[] {
  return checked.config.nodes.flatMap((n) => (n.nodeid === undefined ? [] : [n.nodeid]));
}

/** Totem's timers and limits, as the config layer derived them. */
function totemTimingsOf(checked: CheckedConfig): TotemTimings {
  const t = checked.effective.totem;
  return {
    tokenMs: t.tokenMs,
    tokenRetransmitMs: t.tokenRetransmitMs,
    holdMs: t.holdMs,
    joinMs: t.joinMs,
    consensusMs: t.consensusMs,
    mergeMs: t.mergeMs,
    maxMessages: t.maxMessages,
    windowSize: t.windowSize,
    failToRecvConst: t.failToRecvConst,
    seqnoUnchangedConst: t.seqnoUnchangedConst,
    tokenWarningPct: t.tokenWarningPct,
  };
}

export class NodeEngine extends EventEmitter<EngineEvents> {
  readonly localNodeId: number;
  private stackDriver!: CoreDriver<StackEvent, StackAction>;
  private udp!: UdpTransport;
  private lastQuorumRequest: Extract<StackAction, { type: 'quorumRequest' }> | undefined;
  private ringId: RingId | null = null;
  private readonly startedAt = performance.now();
  private stopped = false;
  /**
   * Per sender (`pid/group`) that numbers its multicasts (`seq`, the client library does): the seq of its refused
   * multicast. Every later one is refused until that one comes back, so a refusal never reorders a sender's
   * messages when it keeps several in flight. At most one entry per local process × group.
   */
  private readonly refusedSeqs = new Map<string, number>();
  /** Multicasts waiting for room in Totem's queue, oldest first (see cpgMulticast). */
  private waiting: {
    group: string;
    pid: number;
    payload: Uint8Array;
    guarantee: Guarantee;
    resolve: () => void;
    reject: (error: Error) => void;
  }[] = [];
  private waitingBytes = 0;
  /** The CPG core's refusal of the local request being fed now (`feedCpgRequest`), from `dispatch`. */
  private cpgFailure: CpgError | undefined;
  /** Local CPG requests answered with the CPG core's refusal, by reason (corolink_admin_refused_total). */
  readonly cpgRefused: Partial<Record<CpgRefusalReason, number>> = {};
  /**
   * Local multicasts refused with backpressure because Totem's queue and the wait behind it were full, or behind a
   * refused one of the same sender (corolink_admin_refused_total{reason="totem_queue_full"}).
   */
  queueFullRefused = 0;
  private admitScheduled = false;
  private ringSeqFile!: RingSeqFile;
  private unwatchAssertions: () => void = () => {};
  private tokenTrace!: TokenTrace;
  private carrierWatch: CarrierWatch | undefined;

  private constructor(readonly options: EngineOptions) {
    super();
    this.localNodeId = options.localNode.nodeid!;
  }

  /** Binds the link sockets and starts the protocol. Rejects when a socket cannot be bound. */
  static async start(options: EngineOptions): Promise<NodeEngine> {
    const engine = new NodeEngine(options);
    await engine.open();
    return engine;
  }

  get checked(): CheckedConfig {
    return this.options.checked;
  }

  /** The current ring id (`rep.seq` in hex), or null before the first membership. */
  get ringIdText(): string | null {
    return this.ringId ? formatRingId(this.ringId) : null;
  }

  /** The stack's Totem/quorum snapshots. */
  stackSnapshot(): ReturnType<ServiceStack['snapshot']> {
    return this.stack.snapshot();
  }

  /** Every registered service engine with the messages it sent and received (cmap runtime.services.*). */
  serviceStats(): ReturnType<ServiceStack['services']> {
    return this.stack.services();
  }

  /** The transport driver's snapshot (links, peers, counters). */
  transportSnapshot(): ReturnType<UdpTransport['snapshot']> {
    return this.udp.snapshot();
  }

  /** Milliseconds since the engine started (monotonic). */
  uptimeMs(): number {
    return performance.now() - this.startedAt;
  }

  setLinkEnabled(link: number, enabled: boolean): void {
    if (!this.options.checked.effective.links.some((l) => l.link === link)) {
      throw new EngineRefusal('not_found', `link ${link} is not configured on this node`);
    }
    this.log('notice', `link ${link} administratively ${enabled ? 'enabled' : 'disabled'}`);
    this.udp.setLinkEnabled(link, enabled);
  }

  /**
   * Applies a committed cluster config whose plan (src/config/change-plan.ts) is ok: opens, closes and re-tunes
   * links. Everything else the plan lists takes effect at the next start (the caller logs which).
   */
  async reconfigure(next: CheckedConfig, plan: ConfigChangePlan): Promise<void> {
    const me = next.config.nodes.find((n) => n.nodeid === this.localNodeId);
    for (const nodeId of plan.nodesRemoved) this.udp.removePeer(nodeId);
    for (const link of plan.linksRemoved) {
      if (this.udp.snapshot().links.some((l) => l.link === link)) await this.udp.removeLink(link);
    }
    for (const nodeId of plan.nodesAdded) {
      const node = next.config.nodes.find((n) => n.nodeid === nodeId);
      if (node === undefined || nodeId === this.localNodeId) continue;
      this.udp.addPeer(
        nodeId,
        node.addresses.map((a) => endpointOf(next, a)),
      );
    }
    for (const link of plan.linksAdded) {
      const local = me?.addresses.find((a) => a.link === link);
      const options = next.effective.links.find((l) => l.link === link);
      if (local === undefined || options === undefined) continue;
      const peers = next.config.nodes.flatMap((n) => {
        const address = n.addresses.find((a) => a.link === link);
        return n.nodeid === this.localNodeId || n.nodeid === undefined || address === undefined
          ? []
          : [{ nodeId: n.nodeid, endpoint: endpointOf(next, address) }];
      });
      this.options.logger.log(
        'notice',
        'TOTEM',
        `Configured link number ${link}: local addr: ${local.address}, port=${options.mcastport}`,
      );
      await this.udp.addLink(endpointOf(next, local), peers, linkOptionsOf(options));
    }
    for (const link of plan.linksUpdated) {
      const options = next.effective.links.find((l) => l.link === link);
      if (options === undefined) continue;
      const { priority, pingIntervalMs, pingTimeoutMs, pongCount } = linkOptionsOf(options);
      this.udp.updateLink(link, { priority, pingIntervalMs, pingTimeoutMs, pongCount });
    }
    this.options.checked = next;
    this.carrierWatch?.follow(localLinkAddressesOf(next, me));
    this.stackDriver.feed({
      type: 'reconfigure',
      totem: { nodes: nodeIdsOf(next), configStamp: configStampOf(next), timings: totemTimingsOf(next) },
      quorum: this.quorumOptions(),
    });
    this.emit('reconfigured', next);
  }

  /** Sends a point-to-point message to another daemon, outside Totem's order (best effort). */
  sendPeerMessage(to: number, payload: Uint8Array): void {
    this.stackDriver.feed({ type: 'peerSend', to, payload });
  }

  /** A request to the registered service engine `service` (its answers come as `serviceOutput` events). */
  serviceRequest(service: number, request: unknown): void {
    this.stackDriver.feed({ type: 'serviceRequest', service, request });
  }

  /** Sets expected votes cluster-wide (`corolink expected`). */
  setExpected(votes: number): void {
    this.quorumRequest({ type: 'setExpected', votes }, `expected votes ${votes}`);
  }

  /** Sets a node's votes cluster-wide (`corolink votes`, `corosync-quorumtool -v votes -n nodeid`). */
  setVotes(votes: number, nodeId?: number): void {
    const what = `votes ${votes} for node ${nodeId ?? this.localNodeId}`;
    this.quorumRequest({ type: 'setVotes', votes, ...(nodeId === undefined ? {} : { nodeId }) }, what);
  }

  private quorumRequest(event: Extract<StackEvent, { type: 'setExpected' | 'setVotes' }>, what: string): void {
    this.lastQuorumRequest = undefined;
    this.stackDriver.feed(event);
    const result = this.lastQuorumRequest as Extract<StackAction, { type: 'quorumRequest' }> | undefined;
    if (result && !result.ok) {
      const code = result.error === 'CS_ERR_NAME_NOT_FOUND' ? 'not_found' : 'invalid';
      throw new EngineRefusal(code, `${what} refused (${result.error ?? 'invalid'})`);
    }
  }

  /**
   * Joins `group` for process `pid` (libcpg's cpg_join). Throws the CPG core's refusal (`exists` when already a
   * member, backpressure when CPG cannot take it now) — a refused join changes nothing.
   */
  cpgJoin(group: string, pid: number): void {
    if (this.stopped) throw STOPPING_REFUSAL;
    const failure = this.feedCpgRequest({ type: 'cpgJoin', group, pid });
    if (failure !== undefined) throw this.refuseCpg(failure, 'join', group);
    this.refusedSeqs.delete(senderKey(pid, group)); // a new membership numbers its sends afresh
  }

  /** A group's members as this node sees them (libcpg's cpg_membership_get). */
  cpgMembers(group: string): { nodeId: number; pid: number }[] {
    return this.stack.cpg.members(group);
  }

  /** Every group with members (libcpg's cpg_iteration). */
  cpgGroups(): string[] {
    return this.stack.cpg.groups();
  }

  /** Leaves `group` (libcpg's cpg_leave). Throws the CPG core's refusal (`not_found` when not a member, backpressure). */
  cpgLeave(group: string, pid: number): void {
    if (this.stopped) throw STOPPING_REFUSAL;
    const failure = this.feedCpgRequest({ type: 'cpgLeave', group, pid });
    if (failure !== undefined) throw this.refuseCpg(failure, 'leave', group);
    this.refusedSeqs.delete(senderKey(pid, group));
  }

  /**
   * Multicasts to a group in agreed order; `guarantee` 'safe' asks Totem to deliver it (everywhere, the sender
   * included) only once every member has it (libcpg's CPG_TYPE_SAFE). When Totem's queue is full the request waits (FIFO, behind every
   * earlier waiting one) and the returned promise settles once it entered the queue: a busy sender is paced by
   * late answers instead of thousands of refusals a second, each of which cost the daemon a whole request.
   * Beyond WAITING_MULTICASTS_MAX / WAITING_BYTES_MAX waiting, it is refused with `backpressure`. A sender that
   * numbers its multicasts (`seq`) keeps its order through a refusal (see `refusedSeqs`).
   */
  cpgMulticast(
    group: string,
    pid: number,
    payload: Uint8Array,
    seq?: number,
    guarantee: Guarantee = 'agreed',
  ): undefined | Promise<void> {
    if (this.stopped) throw STOPPING_REFUSAL;
    // The sender's key only when a refusal is on record: no string built per message on the common path.
    const sender = seq === undefined || this.refusedSeqs.size === 0 ? undefined : senderKey(pid, group);
    const refusedSeq = sender === undefined ? undefined : this.refusedSeqs.get(sender);
    if (refusedSeq !== undefined) {
      // A later message while the refused one is not back: refused too, so the sender's order survives.
      if (seq !== refusedSeq) throw this.refuseQueueFull();
      this.refusedSeqs.delete(sender!);
    }
    try {
      return this.admitMulticast(group, pid, payload, guarantee);
    } catch (error) {
      if (seq !== undefined && error === BACKPRESSURE_REFUSAL) this.refusedSeqs.set(senderKey(pid, group), seq);
      throw error;
    }
  }

  private admitMulticast(
    group: string,
    pid: number,
    payload: Uint8Array,
    guarantee: Guarantee,
  ): undefined | Promise<void> {
    if (this.waiting.length === 0 && this.stack.canSend(totemPayloadsFor(payload), payload.length)) {
      if (STAGE_TRACE_ON) stamp('queue');
      const failure = this.feedCpgRequest({ type: 'cpgMulticast', group, pid, payload, guarantee });
      if (failure !== undefined) throw this.refuseCpg(failure, 'multicast', group);
      if (STAGE_TRACE_ON) stamp('queued');
      return undefined;
    }
    if (this.waiting.length >= WAITING_MULTICASTS_MAX || this.waitingBytes + payload.length > WAITING_BYTES_MAX) {
      throw this.refuseQueueFull();
    }
    this.waitingBytes += payload.length;
    return new Promise((resolve, reject) => this.waiting.push({ group, pid, payload, guarantee, resolve, reject }));
  }

  /** A local process (an admin-socket client) went away: its group memberships end (CPG_REASON_PROCDOWN). */
  processDown(pid: number): void {
    const prefix = senderKey(pid, '');
    for (const sender of this.refusedSeqs.keys()) if (sender.startsWith(prefix)) this.refusedSeqs.delete(sender);
    const gone = this.waiting.filter((w) => w.pid === pid);
    if (gone.length > 0) {
      this.waiting = this.waiting.filter((w) => w.pid !== pid);
      for (const w of gone) {
        this.waitingBytes -= w.payload.length;
        w.reject(BACKPRESSURE_REFUSAL);
      }
    }
    this.stackDriver.feed({ type: 'processDown', pid });
  }

  /** Moves waiting multicasts into Totem's queue while it has room (run outside a stack step). */
  private admitWaiting(): void {
    this.admitScheduled = false;
    let admitted = 0;
    while (admitted < this.waiting.length) {
      const w = this.waiting[admitted]!;
      if (!this.stack.canSend(totemPayloadsFor(w.payload), w.payload.length)) break;
      const { group, pid, payload, guarantee } = w;
      const failure = this.feedCpgRequest({ type: 'cpgMulticast', group, pid, payload, guarantee });
      // CPG's own queue is full until its sync ends: this one and those behind it wait on, in order.
      if (failure === 'CS_ERR_TRY_AGAIN') break;
      admitted++;
      this.waitingBytes -= w.payload.length;
      if (failure === undefined) w.resolve();
      else w.reject(this.refuseCpg(failure, 'multicast', group));
    }
    if (admitted > 0) this.waiting = this.waiting.slice(admitted);
  }

  /**
   * Feeds one local CPG request to the stack; returns the CPG core's refusal of it, if any. The core refuses in the
   * step the request is fed in (never inside another step: requests come from the sockets), so an answer `ok`
   * always means the request went to Totem or to CPG's queue for the end of a sync — a refusal is never acknowledged.
   */
  private feedCpgRequest(
    event: Extract<StackEvent, { type: 'cpgJoin' | 'cpgLeave' | 'cpgMulticast' }>,
  ): CpgError | undefined {
    this.cpgFailure = undefined;
    this.stackDriver.feed(event);
    const failure = this.cpgFailure;
    this.cpgFailure = undefined;
    return failure;
  }

  /** The backpressure answer to a multicast that found no room to wait in, counted. */
  private refuseQueueFull(): EngineRefusal {
    this.queueFullRefused++;
    return BACKPRESSURE_REFUSAL;
  }

  /** The answer to a request the CPG core refused, counted by reason. */
  private refuseCpg(error: CpgError, request: CpgRequest, group: string): EngineRefusal {
    const reason = CPG_REFUSAL_REASONS[error];
    this.cpgRefused[reason] = (this.cpgRefused[reason] ?? 0) + 1;
    return cpgRefusal(error, request, group);
  }

  /** Clean leave: tells the peers (they see a leave, not a failure), then closes the sockets. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const w of this.waiting) w.reject(STOPPING_REFUSAL);
    this.waiting = [];
    this.log('notice', 'leaving the cluster');
    this.stackDriver.feed({ type: 'leave' });
    // Let the leave datagrams go out before the sockets close.
    await new Promise((resolve) => setImmediate(resolve));
    this.stackDriver.close();
    this.carrierWatch?.stop();
    await this.udp.close();
    await this.ringSeqFile.settled();
    this.unwatchAssertions();
  }

  /** What a failed assertion is logged with: every core's snapshot. */
  private readonly failureState = () => ({ stack: this.stack.snapshot(), transport: this.udp?.snapshot() });
  private readonly failStopLog: FailStopLog = (level, subsystem, message) =>
    this.options.logger.log(level, subsystem, message);

  private get stack(): ServiceStack {
    return this.stackDriver.core as ServiceStack;
  }

  private async open(): Promise<void> {
    const { checked, localNode, authkey } = this.options;
    const { effective, config } = checked;
    const me = this.localNodeId;
    const peers = config.nodes.filter((n) => n.nodeid !== undefined && n.nodeid !== me);
    const localLinks = effective.links.filter((l) => localNode.addresses.some((a) => a.link === l.link));
    const linkOptions = localLinks.map(linkOptionsOf);
    const now = performance.now();
    const clusterName = effective.totem.clusterName ?? '';
    const transportCore = new Transport(
      {
        localNodeId: me,
        clusterId: clusterIdFromName(clusterName),
        linkMode: effective.totem.linkMode,
        links: linkOptions,
        peers: peers.map((p) => ({ nodeId: p.nodeid!, links: p.addresses.map((a) => a.link) })),
        failbackHoldMs: effective.failbackHoldMs,
        maxMessageBytes: effective.maxMessageBytes,
        // Peers reset their duplicate filters for us when this changes: it must differ at every restart.
        incarnation: randomBytes(4).readUInt32BE(0),
        // Every node pings on the same wall-clock grid.
        pingGridOriginMs: wallClockGridOriginMs(),
      },
      now,
    );
    const crypto = new PacketCrypto({
      localNodeId: me,
      clusterName,
      cipher: effective.crypto.cipher === 'none' ? 'none' : 'aes256',
      ...(authkey ? { authkey } : {}),
      allowCryptoNone: effective.crypto.allowNone,
      nodelist: config.nodes.flatMap((n) => n.addresses.map((a) => ({ nodeId: n.nodeid ?? 0, address: a.address }))),
      onWarning: (message) => this.log('warning', message),
      ...(this.options.aead ? { aead: this.options.aead } : {}),
    });
    if (effective.crypto.cipher !== 'none') {
      const native = nativeAead();
      if (this.options.aead === undefined && native instanceof Error) {
        this.options.logger.log('warning', 'KNET', `${native.message}: sealing with node:crypto`);
      }
      this.options.logger.log('notice', 'KNET', `crypto: aes256 (AES-256-GCM) sealed by ${crypto.engine}`);
    }
    const endpoint = (a: { link: number; address: string }) => endpointOf(checked, a);
    this.ringSeqFile = new RingSeqFile(this.options.stateDir, me, (message) => this.log('warning', message));
    this.tokenTrace = new TokenTrace({
      clock: () => performance.now(),
      timeOrigin: performance.timeOrigin,
      onRotation: (seconds) => this.emit('tokenRotation', seconds),
      trace: this.options.tokenTrace ? (line) => this.options.logger.log('debug', 'TOTEM', line) : null,
      loopIdle: () => performance.eventLoopUtilization().idle,
      queued: () => this.stack.totem.snapshot().pending + this.waiting.length,
    });
    const { packer, totemPayloadBytesMax } = stackSizes(Math.min(...linkOptions.map((l) => l.mtu)));
    const totem = { ...this.totemOptions(), initialRingSeq: this.ringSeqFile.read(), packer };
    const stack = new ServiceStack(
      {
        totem,
        quorum: this.quorumOptions(),
        totemPayloadBytesMax,
        ...(this.options.services === undefined ? {} : { services: this.options.services }),
      },
      now,
    );
    this.stackDriver = new CoreDriver<StackEvent, StackAction>(
      stack,
      (actions) => this.dispatch(actions),
      { type: 'tick' },
      undefined,
      (error) => failStop(error, this.failureState, this.failStopLog),
    );
    for (const line of stack.startupLog()) this.dispatch([line]);
    for (const l of localLinks) {
      const address = localNode.addresses.find((a) => a.link === l.link)?.address;
      this.options.logger.log(
        'notice',
        'TOTEM',
        `Configured link number ${l.link}: local addr: ${address}, port=${l.mcastport}`,
      );
    }
    this.udp = await UdpTransport.open({
      onAssertion: (error) => failStop(error, this.failureState, this.failStopLog),
      core: transportCore,
      crypto,
      localEndpoints: localNode.addresses.filter((a) => localLinks.some((l) => l.link === a.link)).map(endpoint),
      peers: peers.map((p) => ({ nodeId: p.nodeid!, endpoints: p.addresses.map(endpoint) })),
      ...(this.options.datagramEngine ? { datagramEngine: this.options.datagramEngine } : {}),
    });
    const nativeSockets = nativeDatagramEngine();
    if (this.options.datagramEngine === undefined && nativeSockets instanceof Error) {
      this.options.logger.log('warning', 'KNET', `${nativeSockets.message}: reading with node:dgram`);
    }
    this.options.logger.log('notice', 'KNET', `link sockets: ${this.udp.datagramEngine}`);
    this.unwatchAssertions = watchAssertions(this.failureState, this.failStopLog);
    this.udp.on('deliver', (from, payload) => {
      this.tokenTrace.received(from, payload, this.udp.lastReceiveAt);
      if (STAGE_TRACE_ON) stamp(`rx.${peekMessageType(payload)} ${from}`);
      this.stackDriver.feed({ type: 'transportDeliver', from, payload });
      if (STAGE_TRACE_ON) stamp('stepped');
      this.tokenTrace.stepped();
    });
    this.udp.on('hostUp', (nodeId) => this.stackDriver.feed({ type: 'hostUp', nodeId }));
    this.udp.on('hostDown', (nodeId) => this.stackDriver.feed({ type: 'hostDown', nodeId }));
    this.udp.on('linkUp', (c) => this.emit('link', { nodeid: c.nodeId, link: c.link, state: 'UP', reason: null }));
    this.udp.on('linkDown', (c) =>
      this.emit('link', { nodeid: c.nodeId, link: c.link, state: 'DOWN', reason: c.reason }),
    );
    this.udp.on('log', (record) => this.options.logger.log(record.level, 'KNET', record.message));
    this.carrierWatch = CarrierWatch.start({
      links: localLinkAddressesOf(checked, localNode),
      setLinkCarrier: (link, carrier) => this.udp.setLinkCarrier(link, carrier),
      log: (level, message) => this.options.logger.log(level, 'KNET', message),
    });
    this.stackDriver.feed({ type: 'tick' });
  }

  private totemOptions(): TotemOptions {
    const { checked } = this.options;
    return {
      localNodeId: this.localNodeId,
      nodes: nodeIdsOf(checked),
      configStamp: configStampOf(checked),
      burstHoldMs: checked.effective.burstHoldMs,
      ...totemTimingsOf(checked),
    };
  }

  private quorumOptions(): QuorumOptions {
    const { effective, config } = this.options.checked;
    const q = effective.quorum;
    return {
      localNodeId: this.localNodeId,
      nodelist: config.nodes.map((n) => ({ nodeId: n.nodeid!, quorumVotes: n.quorum_votes ?? 1 })),
      ...(config.quorum.expected_votes === undefined ? {} : { expectedVotes: config.quorum.expected_votes }),
      twoNode: q.twoNode,
      waitForAll: q.waitForAll,
      lastManStanding: q.lastManStanding,
      lastManStandingWindowMs: q.lastManStandingWindowMs,
      autoTieBreaker: q.autoTieBreaker,
      // The key as written, not its default: corosync warns about it only when it is set.
      autoTieBreakerNode: parseAutoTieBreakerNode(config.quorum.auto_tie_breaker_node),
      ...(q.device === null
        ? {}
        : {
            device: {
              ...(q.device.votesSet ? { votes: q.device.votes } : {}),
              timeoutMs: q.device.timeoutMs,
              syncTimeoutMs: q.device.syncTimeoutMs,
            },
          }),
    };
  }

  private dispatch(actions: StackAction[]): void {
    // Totem makes room when the token visits; admit waiting multicasts once this step is over.
    if (this.waiting.length > 0 && !this.admitScheduled) {
      this.admitScheduled = true;
      setImmediate(() => this.admitWaiting());
    }
    for (const action of actions) {
      switch (action.type) {
        case 'transportSend':
          if (STAGE_TRACE_ON) stamp(`tx.${peekMessageType(action.payload)} ${action.to}`);
          this.udp.send(action.to, action.payload, { urgent: action.urgent });
          if (action.urgent) this.tokenTrace.sent(action.to, action.payload);
          break;
        case 'membership':
          if (action.kind === 'regular') {
            this.ringId = action.ringId;
            this.ringSeqFile.write(this.stack.totem.snapshot().highestRingSeq);
          }
          this.emit('membership', {
            kind: action.kind,
            members: action.members,
            left: action.left,
            joined: action.joined,
            ring_id: formatRingId(action.ringId),
          });
          break;
        case 'quorum':
          this.emit('quorum', { quorate: action.quorate, changed: action.changed, members: action.members });
          break;
        case 'quorumRequest':
          this.lastQuorumRequest = action;
          break;
        case 'cpgDeliver':
          if (STAGE_TRACE_ON) stamp(`deliver ${action.sender.nodeId}`);
          this.emit('cpgDeliver', action);
          break;
        case 'cpgConfchg':
          this.emit('cpgConfchg', action);
          break;
        case 'cpgRequestFailed':
          this.cpgFailure = action.error;
          this.emit('cpgRequestFailed', action);
          break;
        case 'backpressure':
          break;
        case 'configMismatch':
          this.emit('configMismatch', { nodeId: action.nodeId, theirs: action.theirs, ours: action.ours });
          break;
        case 'peerDeliver':
          this.emit('peerMessage', action.from, action.payload);
          break;
        case 'serviceOutput':
          this.emit('serviceOutput', action.service, action.output);
          break;
        case 'log':
          this.options.logger.log(action.level, action.subsystem, action.message);
          break;
      }
    }
  }

  private log(level: 'notice' | 'warning', message: string): void {
    this.options.logger.log(level, 'MAIN', message);
  }
}

/** A CPG sender's key in `refusedSeqs`: its process and group. */
function senderKey(pid: number, group: string): string {
  return `${pid}/${group}`;
}
