/**
 * A simulated corolink cluster: N nodes (transport core + Totem core each, see node.ts) on a VirtualNetwork, driven
 * by one Scheduler, all randomness from one seed. Faults come from the network (cut, partition, loss …) and from
 * crash / restart / leave / timer lateness here. Each node incarnation keeps a trace of what Totem delivered
 * (docs/contracts.md § Simulated cluster) for the EVS checkers.
 */
import { MESSAGE_BYTES_MAX } from '../base/limits.ts';
import {
  DEFAULT_FAIL_TO_RECV_CONST,
  DEFAULT_JOIN_MS,
  DEFAULT_LINK_MTU,
  DEFAULT_MAX_MESSAGES,
  DEFAULT_MERGE_MS,
  DEFAULT_SEQNO_UNCHANGED_CONST,
  DEFAULT_TOKEN_COEFFICIENT_MS,
  DEFAULT_TOKEN_MS,
  DEFAULT_WINDOW_SIZE,
  derivedConsensusMs,
  derivedTokenRetransmitMs,
  effectiveTokenMs,
  FAST_PING_INTERVAL_MS,
  FAST_PING_TIMEOUT_MS,
  PROFILE_PONG_COUNT,
} from '../config/defaults.ts';
import { TotemCore } from '../totem/totem.ts';
import type { Guarantee, TotemOptions, TotemSnapshot } from '../totem/types.ts';
import { Transport } from '../transport/transport.ts';
import type { LinkMode } from '../transport/types.ts';
import { clusterIdFromName } from '../wire/cluster-id.ts';
import type { ClusterTrace, FuzzCluster } from './fuzz-run.ts';
import { VirtualNetwork } from './network.ts';
import { SimNode } from './node.ts';
import { Rng } from './rng.ts';
import { eventsPerInstantMax, Scheduler } from './scheduler.ts';

/** Totem options without the per-node fields. */
export type SimTotemOptions = Omit<TotemOptions, 'localNodeId' | 'nodes' | 'initialRingSeq'>;

/** Link timing of the simulated transports (corolink's fast profile by default). */
export interface SimTransportOptions {
  linkMode: LinkMode;
  pingIntervalMs: number;
  pingTimeoutMs: number;
  pongCount: number;
  failbackHoldMs: number;
  mtu: number;
}

/** Options of a simulated cluster. */
export interface SimClusterOptions {
  seed: number;
  /** Node ids (the nodelist). */
  nodes: number[];
  /** Links per node (default 2). */
  links?: number;
  /** Overrides of corosync's default Totem timings (derived for the node count). */
  totem?: Partial<SimTotemOptions>;
  transport?: Partial<SimTransportOptions>;
  /** One-way network latency (default: the network's 0.1 ms). */
  baseDelayMs?: number;
}

/** Default passive-mode failback hold. */
const SIM_FAILBACK_HOLD_MS = 1000;
/**
 * Time after a cluster's start by which the transport's start-up pong-timeout backoff (×PONG_TIMEOUT_BACKOFF_START,
 * one less every PONG_TIMEOUT_BACKOFF_STEP_MS) has decayed: a link failure is then detected in ≈ the ping timeout.
 */
export const TRANSPORT_SETTLED_MS = 11_000;
/** How often scenarios make every node multicast, as quorum and CPG do in the daemon. */
export const TRAFFIC_EVERY_MS = 100;

/** corosync's derived Totem timings for a nodelist of `nodeCount` nodes (reference §1.3). */
export function corosyncTotemOptions(nodeCount: number): SimTotemOptions {
  const tokenMs = effectiveTokenMs(DEFAULT_TOKEN_MS, DEFAULT_TOKEN_COEFFICIENT_MS, nodeCount);
  return {
    tokenMs,
    tokenRetransmitMs: derivedTokenRetransmitMs(tokenMs),
    joinMs: DEFAULT_JOIN_MS,
    consensusMs: derivedConsensusMs(tokenMs),
    mergeMs: DEFAULT_MERGE_MS,
    maxMessages: DEFAULT_MAX_MESSAGES,
    windowSize: DEFAULT_WINDOW_SIZE,
    failToRecvConst: DEFAULT_FAIL_TO_RECV_CONST,
    seqnoUnchangedConst: DEFAULT_SEQNO_UNCHANGED_CONST,
  };
}

/** A simulated cluster; implements the fuzz runner's {@link FuzzCluster}. */
export class SimCluster implements FuzzCluster {
  readonly scheduler: Scheduler;
  readonly network: VirtualNetwork;
  readonly nodeIds: number[];
  private readonly rng: Rng;
  private readonly totemOptions: SimTotemOptions;
  private readonly transportOptions: SimTransportOptions;
  private readonly links: number;
  private readonly current = new Map<number, SimNode>();
  private readonly incarnations: SimNode[] = [];
  /** Highest ring seq each node used (corosync's /var/lib/corosync/ringid_<nodeid>, survives a crash). */
  private readonly ringSeqOnDisk = new Map<number, number>();

  /** Builds and starts every node. */
  constructor(options: SimClusterOptions) {
    this.scheduler = new Scheduler(eventsPerInstantMax(options.nodes.length));
    this.nodeIds = [...options.nodes].sort((a, b) => a - b);
    this.links = options.links ?? 2;
    this.rng = new Rng(options.seed);
    const networkOptions =
      options.baseDelayMs === undefined
        ? { links: this.links }
        : { links: this.links, baseDelayMs: options.baseDelayMs };
    this.network = new VirtualNetwork(this.scheduler, this.rng.fork(), networkOptions);
    this.totemOptions = { ...corosyncTotemOptions(this.nodeIds.length), ...options.totem };
    this.transportOptions = simTransportOptions(options.transport);
    for (const node of this.nodeIds) this.start(node);
  }

  /**
   * How long a configuration must stay unchanged to be called stable (the fuzz runner waits this long before its
   * liveness multicasts): a consensus round plus a link's ping timeout, so failure evidence from before a heal has
   * either played out or expired.
   */
  get stableMs(): number {
    return this.totemOptions.consensusMs + this.transportOptions.pingTimeoutMs;
  }

  /** The Totem timings every node uses. */
  get totem(): SimTotemOptions {
    return this.totemOptions;
  }

  /** The running incarnation of `node` (throws when it is down). */
  node(node: number): SimNode {
    const sim = this.current.get(node);
    if (!sim) throw new Error(`sim: node ${node} is down`);
    return sim;
  }

  /** Totem status of a running node. */
  snapshot(node: number): TotemSnapshot {
    return this.node(node).totem.snapshot();
  }

  /** Multicasts from `node`; false when the node is down or refused it (backpressure). */
  multicast(node: number, payload: Uint8Array, guarantee: Guarantee = 'agreed'): boolean {
    return this.current.get(node)?.multicast(payload, guarantee) ?? false;
  }

  /** Stops the node; its state is lost except the ring seq "on disk". */
  crash(node: number): void {
    const sim = this.current.get(node);
    if (!sim) return;
    this.ringSeqOnDisk.set(node, sim.totem.snapshot().highestRingSeq);
    sim.stop();
    this.current.delete(node);
  }

  /** Clean shutdown: the node sends its leave notice and stops. */
  leave(node: number): void {
    const sim = this.current.get(node);
    if (!sim) return;
    this.ringSeqOnDisk.set(node, sim.totem.snapshot().highestRingSeq);
    sim.leave();
    this.current.delete(node);
  }

  /** Starts a stopped node again with fresh state (a new incarnation). */
  restart(node: number): void {
    if (!this.current.has(node)) this.start(node);
  }

  /** True while the node runs. */
  isUp(node: number): boolean {
    return this.current.has(node);
  }

  /** From now on every timer of `node` fires `lateMs` late (0 = on time). */
  setTimerLateness(node: number, lateMs: number): void {
    this.current.get(node)?.setTimerLateness(lateMs);
  }

  /** Every incarnation's trace so far (in start order). */
  traces(): ClusterTrace[] {
    return this.incarnations.map((sim) => sim.trace);
  }

  /** Runs the virtual clock for `ms`. */
  runFor(ms: number): void {
    this.scheduler.runFor(ms);
  }

  /** Runs until `predicate()` holds (checked every `pollMs`) or `limitMs` passed; returns whether it held. */
  runUntil(predicate: () => boolean, limitMs: number, pollMs = 10): boolean {
    const deadline = this.scheduler.now() + limitMs;
    while (!predicate()) {
      if (this.scheduler.now() >= deadline) return false;
      this.scheduler.runFor(Math.min(pollMs, deadline - this.scheduler.now()));
    }
    return true;
  }

  /** True when every running node in `nodes` (default: all running) is operational on one ring of exactly them. */
  converged(nodes: readonly number[] = [...this.current.keys()]): boolean {
    const expected = [...nodes].sort((a, b) => a - b).join(' ');
    const rings = new Set<string>();
    for (const node of nodes) {
      const sim = this.current.get(node);
      if (!sim) return false;
      const status = sim.totem.snapshot();
      if (status.state !== 'operational' || status.members.join(' ') !== expected || !status.ringId) return false;
      rings.add(`${status.ringId.rep}.${status.ringId.seq}`);
    }
    return rings.size === 1;
  }

  private start(node: number): void {
    const now = this.scheduler.now();
    const transport = simTransport(node, this.nodeIds, this.links, this.transportOptions, this.rng, now);
    const ringSeq = this.ringSeqOnDisk.get(node);
    const totem = new TotemCore(
      {
        ...this.totemOptions,
        localNodeId: node,
        nodes: this.nodeIds,
        ...(ringSeq === undefined ? {} : { initialRingSeq: ringSeq }),
      },
      now,
    );
    const incarnation = this.incarnations.filter((sim) => sim.nodeId === node).length;
    const sim = new SimNode(node, incarnation, transport, totem, this.scheduler, this.network);
    this.current.set(node, sim);
    this.incarnations.push(sim);
  }
}

/** The transport options of a simulated cluster: corolink's fast link profile unless overridden. */
export function simTransportOptions(overrides: Partial<SimTransportOptions> = {}): SimTransportOptions {
  return {
    linkMode: 'passive',
    pingIntervalMs: FAST_PING_INTERVAL_MS,
    pingTimeoutMs: FAST_PING_TIMEOUT_MS,
    pongCount: PROFILE_PONG_COUNT,
    failbackHoldMs: SIM_FAILBACK_HOLD_MS,
    mtu: DEFAULT_LINK_MTU,
    ...overrides,
  };
}

/** A fresh transport core for one incarnation of `node` (its random incarnation number drawn from `rng`). */
export function simTransport(
  node: number,
  nodeIds: readonly number[],
  links: number,
  options: SimTransportOptions,
  rng: Rng,
  now: number,
): Transport {
  const allLinks = Array.from({ length: links }, (_, link) => link);
  const { linkMode, failbackHoldMs, pingIntervalMs, pingTimeoutMs, pongCount, mtu } = options;
  return new Transport(
    {
      localNodeId: node,
      clusterId: clusterIdFromName('sim'),
      linkMode,
      links: allLinks.map((link) => ({ link, priority: 1, pingIntervalMs, pingTimeoutMs, pongCount, mtu })),
      peers: nodeIds.filter((peer) => peer !== node).map((nodeId) => ({ nodeId, links: allLinks })),
      failbackHoldMs,
      maxMessageBytes: MESSAGE_BYTES_MAX,
      incarnation: rng.int(0, 0xffffffff),
    },
    now,
  );
}
