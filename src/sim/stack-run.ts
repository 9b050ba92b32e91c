/**
 * One randomized run of the whole stack (docs/simulator.md, "Whole stack"): the seeded fault schedule of
 * faults.ts plays on a StackSimCluster while its clients work — each scheduled `multicast` event becomes a client
 * action on that node (a `safe` one a cfs write; otherwise CPG multicasts, and now and then a process joining,
 * leaving or dying). Then everything heals and the liveness phase must converge (one quorate ring, synchronised
 * store replicas, agreed CPG views), deliver a message from every process and commit a write from every node.
 * The checkers of stack-checkers.ts judge what the clients recorded.
 */

import { SYNC_RETRY_INTERVAL_MS } from '../cfs/limits.ts';
import { type FaultEvent, planFaults } from './faults.ts';
import {
  applyNetworkFault,
  DEFAULT_LIVENESS_MS_MAX,
  healEverything,
  LIVENESS_POLL_MS,
  runWithinBudget,
  thrownViolation,
} from './fuzz-run.ts';
import { FUZZ_TOTEM_TIMINGS, FUZZ_TRANSPORT_TIMINGS } from './fuzz-target.ts';
import { Rng } from './rng.ts';
import {
  checkStackRecords,
  type StackInvariantName,
  type StackRecords,
  type StackViolation,
} from './stack-checkers.ts';
import { type StackFactory, StackSimCluster } from './stack-cluster.ts';

/**
 * Default length of the safety phase. Shorter than the Totem runs' 3 s: a virtual second of the whole stack costs
 * about twice the CPU (measured: 0.11 s of CPU per seed at 1 s, 0.17 s at 2 s, seeds 1001–1060), and CI runs
 * 2,000 seeds. `npm run soak:sim -- --safety-ms N` runs longer schedules.
 */
export const STACK_SAFETY_MS = 1000;
/** The CPG groups client processes join. */
export const CPG_GROUPS = ['g0', 'g1'] as const;
/** Files the writers write to (few, so writes overwrite each other). */
const CFS_PATHS = 4;
/** Most CPG messages one client action multicasts. */
const MULTICASTS_PER_ACTION_MAX = 3;

export interface StackSeedOptions {
  seed: number;
  nodes: number;
  links: number;
  /** Length of the safety phase (virtual ms). */
  safetyMs?: number;
  /** Longest each liveness step may take (virtual ms). */
  livenessMsMax?: number;
  /** Builds each node's stack (a test double in the broken-service tests). */
  createStack?: StackFactory;
}

export interface StackSeedResult {
  seed: number;
  nodes: number;
  links: number;
  safetyMs: number;
  schedule: FaultEvent[];
  /** False when the schedule was given rather than drawn from the seed. */
  seeded: boolean;
  violations: StackViolation[];
  records: StackRecords;
  stats: {
    cpgDeliveries: number;
    cfsWrites: number;
    cfsAcknowledged: number;
    quorumChanges: number;
    virtualMs: number;
    /** Datagrams the nodes sent (heartbeats included): the run's work, see datagramBudget. */
    datagrams: number;
  };
}

/** The one-line command that replays a whole-stack run. */
export function stackReplayCommand(result: Pick<StackSeedResult, 'seed' | 'nodes' | 'links' | 'safetyMs'>): string {
  const safety = result.safetyMs === STACK_SAFETY_MS ? '' : ` --safety-ms ${result.safetyMs}`;
  return `npm run soak:sim -- --seed ${result.seed} --nodes ${result.nodes} --links ${result.links}${safety}`;
}

/** Runs one seed of the whole stack; `schedule` replaces the seeded schedule. */
export function runStackSeed(options: StackSeedOptions, schedule?: FaultEvent[]): StackSeedResult {
  const safetyMs = options.safetyMs ?? STACK_SAFETY_MS;
  const nodeIds = Array.from({ length: options.nodes }, (_, i) => i + 1);
  const root = new Rng(options.seed);
  const seeded = root.fork();
  const plan = schedule ?? planFaults(seeded, { nodeIds, links: options.links, safetyMs });
  const cluster = new StackSimCluster({
    seed: options.seed,
    nodes: nodeIds,
    links: options.links,
    totem: FUZZ_TOTEM_TIMINGS,
    transport: FUZZ_TRANSPORT_TIMINGS,
    ...(options.createStack ? { createStack: options.createStack } : {}),
  });
  const clients = new Clients(cluster, root.fork());
  let violations: StackViolation[];
  try {
    for (const node of nodeIds) clients.startProcesses(node);
    for (const event of plan) cluster.scheduler.at(event.at, () => applyFault(cluster, clients, event, options.links));
    runWithinBudget(cluster, safetyMs);
    healEverything(
      {
        network: cluster.network,
        isUp: (node) => cluster.isUp(node),
        restart: (node) => clients.restart(node),
        setTimerLateness: (node, lateMs) => cluster.setTimerLateness(node, lateMs),
      },
      nodeIds,
      options.links,
    );
    violations = runLivenessPhase(cluster, options.livenessMsMax ?? DEFAULT_LIVENESS_MS_MAX);
  } catch (error) {
    violations = [{ ...thrownViolation(error, cluster.scheduler.now()), nodes: [] }];
  }
  const records = cluster.records;
  cluster.close();
  const all = [...checkStackRecords(records, { quiescent: violations.length === 0 }), ...violations];
  const acknowledged = records.cfsWrites.filter((w) => w.result?.ok).length;
  return {
    seed: options.seed,
    nodes: options.nodes,
    links: options.links,
    safetyMs,
    schedule: plan,
    seeded: schedule === undefined,
    violations: all,
    records,
    stats: {
      cpgDeliveries: records.cpg.reduce((sum, t) => sum + t.entries.filter((e) => e.kind === 'deliver').length, 0),
      cfsWrites: records.cfsWrites.length,
      cfsAcknowledged: acknowledged,
      quorumChanges: records.quorum.length,
      virtualMs: cluster.scheduler.now(),
      datagrams: cluster.network.stats.sent,
    },
  };
}

function applyFault(cluster: StackSimCluster, clients: Clients, event: FaultEvent, links: number): void {
  switch (event.kind) {
    case 'crash':
      cluster.crash(event.node);
      return;
    case 'restart':
      clients.restart(event.node);
      return;
    case 'timerLateness':
      cluster.setTimerLateness(event.node, event.lateMs);
      return;
    case 'multicast':
      if (event.guarantee === 'safe') clients.write(event.node);
      else clients.act(event.node);
      return;
    default:
      applyNetworkFault(cluster.network, event, links);
  }
}

/** The simulated applications: CPG processes on every node and store writers, their choices from one stream. */
class Clients {
  private writes = 0;

  constructor(
    private readonly cluster: StackSimCluster,
    private readonly rng: Rng,
  ) {}

  /** Every (re)started node gets one process in each group. */
  startProcesses(node: number): void {
    for (const group of CPG_GROUPS) this.cluster.spawn(node, group);
  }

  restart(node: number): void {
    if (this.cluster.isUp(node)) return;
    this.cluster.restart(node);
    this.startProcesses(node);
  }

  write(node: number): void {
    this.cluster.write(node, `f${this.rng.int(0, CFS_PATHS - 1)}`, `w${this.writes++}`);
  }

  /** A CPG client action: mostly multicasts, sometimes a process joins, leaves or dies. */
  act(node: number): void {
    const pids = this.cluster.livePids(node);
    const roll = this.rng.int(0, 19);
    if (roll < 2 || pids.length === 0) {
      this.cluster.spawn(node, this.rng.pick(CPG_GROUPS));
    } else if (roll === 2) {
      this.cluster.leave(node, this.rng.pick(pids));
    } else if (roll === 3) {
      this.cluster.kill(node, this.rng.pick(pids));
    } else {
      const pid = this.rng.pick(pids);
      for (let n = this.rng.int(1, MULTICASTS_PER_ACTION_MAX); n > 0; n--) this.cluster.multicast(node, pid);
    }
  }
}

function runLivenessPhase(cluster: StackSimCluster, boundMs: number): StackViolation[] {
  const unstable = runUntilStable(cluster, boundMs);
  if (unstable.length > 0) return unstable;
  const expected = new Map<string, string[]>();
  for (const [group, traces] of cluster.liveGroups()) {
    const sent = traces.map((t) => cluster.multicast(t.node, Number(t.address.split(':')[1])));
    expected.set(
      group,
      sent.filter((id): id is string => id !== undefined),
    );
  }
  const writes = cluster.nodeIds.map((node) => cluster.write(node, `live/${node}`, `live${node}`)!);
  const pending = () => {
    const problems: { invariant: StackInvariantName; node: number; detail: string }[] = [];
    writes.forEach((w, i) => {
      if (w.result?.ok) return;
      if (
        w.result &&
        w.result.code === 'syncing' &&
        w.submittedAt + SYNC_RETRY_INTERVAL_MS <= cluster.scheduler.now()
      ) {
        writes[i] = cluster.write(w.node, w.path, w.data)!;
      }
      problems.push({
        invariant: 'cfs-liveness',
        node: w.node,
        detail: `node ${w.node}'s write after healing: ${w.result ? w.result.code : 'no answer'}`,
      });
    });
    for (const [group, traces] of cluster.liveGroups()) {
      for (const trace of traces) {
        const delivered = new Set(trace.entries.map((e) => (e.kind === 'deliver' ? e.msgId : '')));
        const missing = (expected.get(group) ?? []).filter((id) => !delivered.has(id));
        if (missing.length > 0) {
          problems.push({
            invariant: 'cpg-liveness',
            node: trace.node,
            detail: `${group}@${trace.address} did not deliver [${missing}] multicast after healing`,
          });
        }
      }
    }
    return problems;
  };
  const deadline = cluster.scheduler.now() + boundMs;
  let problems = pending();
  while (problems.length > 0 && cluster.scheduler.now() < deadline) {
    runWithinBudget(cluster, LIVENESS_POLL_MS);
    problems = pending();
  }
  if (problems.length > 0) return problems.map((p) => ({ invariant: p.invariant, nodes: [p.node], detail: p.detail }));
  // Every node applies the same writes in the same order; wait until the last one is in everywhere.
  while (new Set(cluster.appliedSeqs()).size > 1 && cluster.scheduler.now() < deadline + boundMs) {
    runWithinBudget(cluster, LIVENESS_POLL_MS);
  }
  cluster.recordReplicas();
  return [];
}

/**
 * Advances virtual time until {@link StackSimCluster.unconverged} is empty and nothing it looks at changed for the
 * cluster's `stableMs`; at most `boundMs`.
 */
function runUntilStable(cluster: StackSimCluster, boundMs: number): StackViolation[] {
  const deadline = cluster.scheduler.now() + boundMs;
  let fingerprint = '';
  let stableSince = cluster.scheduler.now();
  for (;;) {
    const problems = cluster.unconverged();
    const now = cluster.scheduler.now();
    const current = cluster.fingerprint();
    if (problems.length > 0 || current !== fingerprint) {
      fingerprint = current;
      stableSince = now;
    }
    if (problems.length === 0 && now - stableSince >= cluster.stableMs) return [];
    if (now >= deadline) {
      const cpgOnly = problems.length > 0 && problems.every((p) => p.startsWith('cpg:'));
      return [
        {
          invariant: cpgOnly ? 'cpg-convergence' : 'convergence',
          nodes: [...cluster.nodeIds],
          detail:
            problems.length > 0
              ? `not converged ${boundMs} ms after healing: ${problems.slice(0, 5).join('; ')}`
              : `never unchanged for ${cluster.stableMs} ms within ${boundMs} ms`,
        },
      ];
    }
    runWithinBudget(cluster, LIVENESS_POLL_MS);
  }
}

/** Multi-line failure report: the violations and the replay command (`trace`: every record too). */
export function formatStackFailure(result: StackSeedResult, options: { trace?: boolean } = {}): string {
  return [
    `seed ${result.seed} (${result.nodes} nodes, ${result.links} links, whole stack): ${result.violations.length} violations`,
    ...result.violations.map((v) => `  [${v.invariant}] nodes ${v.nodes.join(',')}: ${v.detail}`),
    ...(options.trace ? formatRecords(result) : []),
    `  replay: ${stackReplayCommand(result)} --trace`,
  ].join('\n');
}

/** The schedule and every record of a run, for `--trace`. */
function formatRecords(result: StackSeedResult): string[] {
  const { records } = result;
  const lines = [`  schedule (${result.schedule.length} events):`];
  for (const e of result.schedule) lines.push(`    ${e.at.toFixed(1).padStart(8)} ms  ${JSON.stringify(e)}`);
  lines.push('  quorum:');
  for (const q of records.quorum) {
    const state = q.state ? `${q.state.quorate ? 'quorate' : 'inquorate'} [${q.state.members}]` : 'stopped';
    lines.push(`    ${q.at.toFixed(1).padStart(8)} ms  node ${q.node}#${q.incarnation} ${state}`);
  }
  lines.push('  cfs writes:');
  for (const w of records.cfsWrites) {
    const result = w.result ? (w.result.ok ? `ok version ${w.result.version}` : w.result.code) : 'no answer';
    lines.push(
      `    ${w.submittedAt.toFixed(1).padStart(8)} ms  node ${w.node}#${w.incarnation} ${w.path}=${w.data}: ${result}`,
    );
  }
  lines.push('  cfs replicas at the end:');
  for (const r of records.replicas) {
    lines.push(
      `    node ${r.node} seq ${r.seq}: ${r.entries.map((e) => `${e.path}@${e.version}=${e.data}`).join(' ')}`,
    );
  }
  lines.push('  cpg members:');
  for (const t of records.cpg) {
    const entries = t.entries.map((e) => (e.kind === 'view' ? `view(${e.view})` : e.msgId));
    lines.push(`    ${t.group}@${t.address} (${t.ended}): ${entries.join(' ')}`);
  }
  return lines;
}
