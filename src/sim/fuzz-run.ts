// One randomized simulator run (TigerBeetle VOPR style): a safety phase that plays a seeded fault schedule with
// traffic from every node, then a liveness phase with every fault healed that must converge to one ring of all
// nodes and deliver everything multicast after healing. The EVS checkers judge the traces of the whole run.
// Generic over {@link FuzzCluster}, which src/sim/cluster.ts implements.

import { AssertionError } from '../base/assert.ts';
import type { Guarantee } from '../totem/types.ts';
import {
  type ConfigEntry,
  checkConvergence,
  checkLivenessDelivery,
  checkTraces,
  type NodeTrace,
  type Violation,
} from './checkers.ts';
import { describeFault, type FaultEvent, planFaults } from './faults.ts';
import type { VirtualNetwork } from './network.ts';
import { Rng } from './rng.ts';
import type { Scheduler } from './scheduler.ts';

/** A delivered message as the cluster records it: the runner decodes the message id from the payload. */
export interface ClusterDeliverEntry {
  kind: 'deliver';
  sender: number;
  payload: Uint8Array;
  ringId: ConfigEntry['ringId'];
  seq: number;
  guarantee: Guarantee;
}

/** One incarnation's trace as the cluster records it (incarnations count restarts of a node from 0). */
export interface ClusterTrace {
  node: number;
  incarnation: number;
  entries: (ClusterDeliverEntry | ConfigEntry)[];
  ended: 'alive' | 'crashed';
}

/** What the runner needs from a simulated cluster. */
export interface FuzzCluster {
  readonly scheduler: Scheduler;
  readonly network: VirtualNetwork;
  /** The nodelist. */
  readonly nodeIds: readonly number[];
  /** Multicasts from `node`; false when the node is down or refused it (backpressure). */
  multicast(node: number, payload: Uint8Array, guarantee: Guarantee): boolean;
  /** Stops the node (its state is lost). */
  crash(node: number): void;
  /** Starts a crashed node again with fresh state (a new incarnation). */
  restart(node: number): void;
  isUp(node: number): boolean;
  /** From now on every timer of `node` fires `lateMs` late (0 = on time): a jumping or stalled clock. */
  setTimerLateness(node: number, lateMs: number): void;
  /** Every incarnation's trace so far. */
  traces(): ClusterTrace[];
  /**
   * True when every running node in `nodes` is *now* operational on one ring of exactly them. Traces lag the cores: a
   * node that already left its ring (GATHER) still shows that ring as its last configuration. Optional (an oracle
   * cluster whose traces are its state need not implement it).
   */
  converged?(nodes: readonly number[]): boolean;
  /**
   * How long (virtual ms) the configuration must stay unchanged before the liveness multicasts: long enough for
   * failure evidence from before the heal (a link timeout, a consensus round) to have played out. Default
   * {@link DEFAULT_LIVENESS_STABLE_MS}.
   */
  readonly stableMs?: number;
}

/** Builds a cluster of `nodes` nodes (ids 1…nodes) on `links` links, all randomness derived from `seed`. */
export type ClusterFactory = (options: { seed: number; nodes: number; links: number }) => FuzzCluster;

/** Parameters of one run. */
export interface SeedOptions {
  seed: number;
  nodes: number;
  links: number;
  /** Length of the safety phase (virtual ms). */
  safetyMs?: number;
  /** Longest the liveness phase may take to converge, and then to deliver (virtual ms each). */
  livenessMsMax?: number;
}

/** Outcome of one run. */
export interface SeedResult {
  seed: number;
  nodes: number;
  links: number;
  schedule: FaultEvent[];
  /** False when the schedule was given (minimised or replayed) rather than drawn from the seed. */
  seeded: boolean;
  violations: Violation[];
  /** Multicasts submitted and delivered (summed over incarnations), and virtual time used. */
  stats: { submitted: number; deliveries: number; configurations: number; virtualMs: number };
}

/** Default length of the safety phase. */
export const DEFAULT_SAFETY_MS = 3000;
/** Default bound on each liveness step (convergence, then delivery). */
export const DEFAULT_LIVENESS_MS_MAX = 60_000;
/** How often the liveness phase looks at the traces. */
export const LIVENESS_POLL_MS = 100;
/** Default time one ring of all nodes must stay unchanged before the liveness multicasts (see FuzzCluster.stableMs). */
export const DEFAULT_LIVENESS_STABLE_MS = 1000;
/** Messages each node multicasts once the cluster has converged. */
export const LIVENESS_MULTICASTS_PER_NODE = 3;
/**
 * Most datagrams one run may send: a deterministic work budget, so a message storm or livelock in the stack ends
 * the run as a `work-budget` violation instead of running for hours …
 */
export const DATAGRAMS_PER_RUN_MAX = 1_000_000;
/**
 * … raised for large rings to this many per (sender, receiver, link): heartbeats alone are nodes × (nodes − 1) ×
 * links pings and pongs per ping interval: the fixed budget ended a 128-node run after 1 virtual second (seed 1,
 * 1 link: 1,000,000 datagrams at 1000 ms). No CI shape (≤ 7 nodes × 3 links: 945,000) gets more than the fixed one.
 */
export const DATAGRAMS_PER_PEER_LINK_MAX = 7500;

/** The datagram budget of one run on `nodes` nodes and `links` links. */
export function datagramBudget(nodes: number, links: number): number {
  return Math.max(DATAGRAMS_PER_RUN_MAX, nodes * (nodes - 1) * links * DATAGRAMS_PER_PEER_LINK_MAX);
}
/** Most re-runs the minimiser may spend on one failure. */
export const MINIMISE_RUNS_MAX = 200;

/** Node count and link count the soak run uses for a seed (3–7 nodes, 1–3 links). */
export function shapeForSeed(seed: number): { nodes: number; links: number } {
  return { nodes: 3 + (seed % 5), links: 1 + (Math.floor(seed / 5) % 3) };
}

/** The one-line command that replays a run; with `schedule`, a run of that exact (e.g. minimised) schedule. */
export function replayCommand(result: Pick<SeedResult, 'seed' | 'nodes' | 'links'>, schedule?: FaultEvent[]): string {
  const command = `npm run soak:sim -- --seed ${result.seed} --nodes ${result.nodes} --links ${result.links} --totem`;
  return schedule ? `${command} --schedule '${JSON.stringify(schedule)}'` : command;
}

/** Runs one seed; `schedule` replaces the seeded schedule (used by the minimiser). */
export function runSeed(createCluster: ClusterFactory, options: SeedOptions, schedule?: FaultEvent[]): SeedResult {
  const safetyMs = options.safetyMs ?? DEFAULT_SAFETY_MS;
  const nodeIds = Array.from({ length: options.nodes }, (_, i) => i + 1);
  const plan = schedule ?? planFaults(new Rng(options.seed).fork(), { nodeIds, links: options.links, safetyMs });
  const cluster = createCluster({ seed: options.seed, nodes: options.nodes, links: options.links });
  const traffic = new Traffic(cluster, nodeIds);
  let violations: Violation[];
  try {
    for (const event of plan) cluster.scheduler.at(event.at, () => applyFault(cluster, traffic, event, options.links));
    runWithinBudget(cluster, safetyMs);
    healEverything(cluster, nodeIds, options.links);
    violations = runLivenessPhase(cluster, traffic, nodeIds, options.livenessMsMax ?? DEFAULT_LIVENESS_MS_MAX);
  } catch (error) {
    violations = [{ ...thrownViolation(error, cluster.scheduler.now()), nodes: [], messages: [] }];
  }
  const traces = traffic.traces();
  const all = [...checkTraces(traces, { quiescent: violations.length === 0 }), ...violations];
  const count = (kind: 'deliver' | 'config') =>
    traces.reduce((sum, t) => sum + t.entries.filter((e) => e.kind === kind).length, 0);
  return {
    seed: options.seed,
    nodes: options.nodes,
    links: options.links,
    schedule: plan,
    seeded: schedule === undefined,
    violations: all,
    stats: {
      submitted: traces.reduce((sum, trace) => sum + trace.submitted.length, 0),
      deliveries: count('deliver'),
      configurations: count('config'),
      virtualMs: cluster.scheduler.now(),
    },
  };
}

/**
 * Converge to one stable ring of every node, then deliver messages multicast by every node; returns what failed.
 * Liveness is promised for messages multicast in a stable configuration: a message sent while the membership is
 * still changing is ordered in whatever ring its sender is in next and delivered there (extended virtual synchrony),
 * which need not contain every node — self-delivery and the EVS checkers still judge those.
 */
function runLivenessPhase(cluster: FuzzCluster, traffic: Traffic, nodeIds: number[], boundMs: number): Violation[] {
  const converged = runUntilStable(cluster, traffic, nodeIds, boundMs);
  if (converged.length > 0) return converged;
  const perNode = nodeIds.map((node) =>
    Array.from({ length: LIVENESS_MULTICASTS_PER_NODE }, () => traffic.multicastUntilAccepted(node, boundMs)),
  );
  const accepted = perNode.flat().filter((msgId): msgId is string => msgId !== undefined);
  const violations = runUntilEmpty(cluster, boundMs, () => checkLivenessDelivery(traffic.traces(), accepted));
  const refused = nodeIds.filter((_, i) => perNode[i]!.includes(undefined));
  if (refused.length > 0) {
    violations.push({
      invariant: 'liveness-delivery',
      nodes: refused,
      messages: [],
      detail: `nodes ${refused.join(',')} refused multicasts after healing`,
    });
  }
  return violations;
}

/**
 * Advances virtual time until one ring of every node is installed (in the traces and, when the cluster can tell, in
 * the cores right now) and no node installed any configuration for the cluster's `stableMs`; at most `boundMs`.
 * Returns the convergence violations of the last poll (none when the ring became stable).
 */
function runUntilStable(cluster: FuzzCluster, traffic: Traffic, nodeIds: number[], boundMs: number): Violation[] {
  const stableMs = cluster.stableMs ?? DEFAULT_LIVENESS_STABLE_MS;
  const deadline = cluster.scheduler.now() + boundMs;
  let configurations = -1;
  let stableSince = cluster.scheduler.now();
  for (;;) {
    const traces = traffic.traces();
    const violations = checkConvergence(traces, nodeIds);
    const count = traces.reduce((sum, t) => sum + t.entries.filter((e) => e.kind === 'config').length, 0);
    const now = cluster.scheduler.now();
    if (violations.length > 0 || count !== configurations || !(cluster.converged?.(nodeIds) ?? true)) {
      configurations = count;
      stableSince = now;
    }
    if (violations.length === 0 && now - stableSince >= stableMs) return [];
    if (now >= deadline) {
      if (violations.length > 0) return violations;
      return [
        {
          invariant: 'convergence',
          nodes: [...nodeIds],
          messages: [],
          detail: `one ring of all nodes never stayed unchanged for ${stableMs} ms within ${boundMs} ms`,
        },
      ];
    }
    runWithinBudget(cluster, LIVENESS_POLL_MS);
  }
}

/** Advances virtual time in polls until `check` returns no violation or `boundMs` passed; returns the last result. */
function runUntilEmpty(cluster: FuzzCluster, boundMs: number, check: () => Violation[]): Violation[] {
  const deadline = cluster.scheduler.now() + boundMs;
  let violations = check();
  while (violations.length > 0 && cluster.scheduler.now() < deadline) {
    runWithinBudget(cluster, LIVENESS_POLL_MS);
    violations = check();
  }
  return violations;
}

/**
 * Runs `ms` of virtual time in poll steps; throws once the run has sent more than its datagram budget
 * ({@link datagramBudget} of the cluster's nodes and links).
 */
export function runWithinBudget(cluster: Pick<FuzzCluster, 'scheduler' | 'network' | 'nodeIds'>, ms: number): void {
  const end = cluster.scheduler.now() + ms;
  const budget = datagramBudget(cluster.nodeIds.length, cluster.network.options.links);
  while (cluster.scheduler.now() < end) {
    cluster.scheduler.runUntil(Math.min(end, cluster.scheduler.now() + LIVENESS_POLL_MS));
    if (cluster.network.stats.sent > budget) {
      throw new WorkBudgetExceeded(`more than ${budget} datagrams sent (message storm or livelock?)`);
    }
  }
}

/** What an exception that ended a run at virtual time `now` is: its invariant and a short detail. */
export function thrownViolation(
  error: unknown,
  now: number,
): { invariant: 'work-budget' | 'assertion' | 'exception'; detail: string } {
  // A failed assertion names the invariant a core broke: the seed fails with it, like a checker's violation.
  const invariant =
    error instanceof WorkBudgetExceeded ? 'work-budget' : error instanceof AssertionError ? 'assertion' : 'exception';
  const detail =
    error instanceof Error ? (error.stack ?? error.message).split('\n').slice(0, 3).join(' | ') : String(error);
  return { invariant, detail: `at ${now} ms: ${detail}` };
}

/** The run exceeded its {@link datagramBudget}. */
export class WorkBudgetExceeded extends Error {}

function applyFault(cluster: FuzzCluster, traffic: Traffic, event: FaultEvent, links: number): void {
  switch (event.kind) {
    case 'crash':
      if (cluster.isUp(event.node)) traffic.crash(event.node);
      return;
    case 'restart':
      if (!cluster.isUp(event.node)) traffic.restart(event.node);
      return;
    case 'timerLateness':
      if (cluster.isUp(event.node)) cluster.setTimerLateness(event.node, event.lateMs);
      return;
    case 'multicast':
      traffic.multicast(event.node, event.guarantee);
      return;
    default:
      applyNetworkFault(cluster.network, event, links);
  }
}

/** Plays a fault of the network (partition, cut, impairment …) on it; false for node faults and multicasts. */
export function applyNetworkFault(network: VirtualNetwork, event: FaultEvent, links: number): boolean {
  switch (event.kind) {
    case 'partition':
      network.partition(event.groups);
      return true;
    case 'heal':
      network.heal();
      return true;
    case 'cut':
      network.cut(event.node, event.link, event.direction);
      return true;
    case 'restore':
      network.restore(event.node, event.link);
      return true;
    case 'cutSwitch':
      network.cutSwitch(event.link);
      return true;
    case 'restoreSwitch':
      network.restoreSwitch(event.link);
      return true;
    case 'conditions':
      if (event.link < links) network.setConditions(event.link, event.conditions, event.host);
      return true;
    case 'clearConditions':
      network.clearConditions();
      return true;
    default:
      return false;
  }
}

/** Liveness phase entry: every cable, switch and partition healed, impairments gone, clocks fixed, nodes up. */
export function healEverything(
  cluster: Pick<FuzzCluster, 'network' | 'isUp' | 'restart' | 'setTimerLateness'>,
  nodeIds: readonly number[],
  links: number,
): void {
  const network = cluster.network;
  network.heal();
  network.clearConditions();
  for (let link = 0; link < links; link++) {
    network.restoreSwitch(link);
    for (const node of nodeIds) network.restore(node, link);
  }
  for (const node of nodeIds) {
    if (!cluster.isUp(node)) cluster.restart(node);
    cluster.setTimerLateness(node, 0);
  }
}

/**
 * Multicasts with unique message ids (`node#incarnation:n`, the payload's UTF-8 text) and keeps what each
 * incarnation submitted, so the cluster's traces can be turned into checker traces.
 */
class Traffic {
  private readonly incarnation = new Map<number, number>();
  private readonly submitted = new Map<string, NodeTrace['submitted']>();
  private counter = 0;

  constructor(
    private readonly cluster: FuzzCluster,
    nodeIds: readonly number[],
  ) {
    for (const node of nodeIds) this.incarnation.set(node, 0);
  }

  multicast(node: number, guarantee: Guarantee): string | undefined {
    if (!this.cluster.isUp(node)) return undefined;
    const msgId = `${node}#${this.incarnation.get(node)}:${this.counter++}`;
    if (!this.cluster.multicast(node, encoder.encode(msgId), guarantee)) return undefined;
    const key = `${node}#${this.incarnation.get(node)}`;
    this.submitted.set(key, [...(this.submitted.get(key) ?? []), { msgId, guarantee }]);
    return msgId;
  }

  /** Multicasts after healing: a refusal (backpressure) is retried every poll interval for up to `boundMs`. */
  multicastUntilAccepted(node: number, boundMs: number): string | undefined {
    const deadline = this.cluster.scheduler.now() + boundMs;
    for (;;) {
      const msgId = this.multicast(node, 'agreed');
      if (msgId || this.cluster.scheduler.now() >= deadline) return msgId;
      this.cluster.scheduler.runFor(LIVENESS_POLL_MS);
    }
  }

  crash(node: number): void {
    this.cluster.crash(node);
  }

  restart(node: number): void {
    this.incarnation.set(node, (this.incarnation.get(node) ?? 0) + 1);
    this.cluster.restart(node);
  }

  traces(): NodeTrace[] {
    return checkerTraces(this.cluster.traces(), this.submitted);
  }
}

/**
 * A cluster's traces as the EVS checkers read them: payloads are message ids (UTF-8), and each incarnation gets
 * what it submitted (`submitted` keyed `node#incarnation`).
 */
export function checkerTraces(
  traces: readonly ClusterTrace[],
  submitted: ReadonlyMap<string, NodeTrace['submitted']>,
): NodeTrace[] {
  return traces.map((trace) => ({
    node: trace.node,
    incarnation: trace.incarnation,
    ended: trace.ended,
    submitted: submitted.get(`${trace.node}#${trace.incarnation}`) ?? [],
    entries: trace.entries.map((entry) =>
      entry.kind === 'config'
        ? entry
        : {
            kind: 'deliver',
            sender: entry.sender,
            msgId: decodeMessageId(entry.payload),
            ringId: entry.ringId,
            seq: entry.seq,
            guarantee: entry.guarantee,
          },
    ),
  }));
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function decodeMessageId(payload: Uint8Array): string {
  return decoder.decode(payload);
}

/**
 * Shrinks a failing schedule (delta debugging): removes ever smaller chunks of events while the run still fails
 * with a violation of the same invariant. Returns the smallest failing run found.
 */
export function minimise(createCluster: ClusterFactory, failing: SeedResult, options: SeedOptions): SeedResult {
  const invariant = failing.violations[0]?.invariant;
  let best = failing;
  let runs = 0;
  for (
    let chunk = Math.ceil(best.schedule.length / 2);
    chunk >= 1 && runs < MINIMISE_RUNS_MAX;
    chunk = Math.floor(chunk / 2)
  ) {
    for (let start = 0; start < best.schedule.length && runs < MINIMISE_RUNS_MAX; ) {
      const candidate = [...best.schedule.slice(0, start), ...best.schedule.slice(start + chunk)];
      runs++;
      const result = runSeed(createCluster, options, candidate);
      if (result.violations.some((violation) => violation.invariant === invariant)) best = result;
      else start += chunk;
    }
  }
  return best;
}

/** Multi-line failure report: the violations, the schedule (unless left out), and the replay command. */
export function formatFailure(result: SeedResult, options: { schedule: boolean } = { schedule: true }): string {
  return [
    `seed ${result.seed} (${result.nodes} nodes, ${result.links} links): ${result.violations.length} violations`,
    ...result.violations.map((v) => `  [${v.invariant}] nodes ${v.nodes.join(',')}: ${v.detail}`),
    ...(options.schedule
      ? [
          `  schedule (${result.schedule.length} events):`,
          ...result.schedule.map((event) => `    ${describeFault(event)}`),
        ]
      : []),
    `  replay: ${replayCommand(result, result.seeded ? undefined : result.schedule)}`,
  ].join('\n');
}
