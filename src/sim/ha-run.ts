/**
 * One randomized run of the HA managers on the whole stack (docs/simulator.md "HA"): every node registers the HA
 * service engine (src/daemon/ha-engine.ts, the daemon's own code) on a StackSimCluster; a model of service
 * processes stands in for the resource agents and the watchdog supervisor:
 *
 * - the runner: one command at a time per resource and node, a start or stop taking a few virtual ms; a process
 *   counts as running from its start command's begin to its stop command's end (the conservative reading);
 *   `stopAll` stops every process of the node after the command under way. A crashed daemon's commands die with
 *   it: what they started keeps running.
 * - the watchdog: the supervisor of each node kills every process of its node at `last feed + fence timeout` when
 *   no feed came since — whether the daemon hung, crashed or was cut off; a restarted daemon's supervisor first
 *   stops what the previous daemon left (it cannot vouch for it).
 *
 * The seeded fault schedule of faults.ts plays (crashes, restarts, partitions, cable and switch faults); some of
 * its client events become `ha migrate`/`relocate` requests. Then everything heals, the ring
 * must re-form, and every unit must run on exactly one node. ha-checkers.ts judges the records.
 */
import { type HaTimings, haTimings } from '../config/defaults.ts';
import { HA_SERVICE_ID, HaEngine, type HaEngineOutput, type HaEngineRequest } from '../daemon/ha-engine.ts';
import type { ConfigChange, EngineAction, RegularChange } from '../daemon/service-engine.ts';
import type { StackEvent } from '../daemon/stack.ts';
import { HA_EXIT_NOT_RUNNING } from '../ha/contract.ts';
import type { HaCoreOptions } from '../ha/core.ts';
import { parseResources } from '../ha/resources-file.ts';
import { type HaUnit, nodePriority, unitsOf } from '../ha/units.ts';
import { type FaultEvent, planFaults } from './faults.ts';
import { applyNetworkFault, healEverything, LIVENESS_POLL_MS, runWithinBudget, thrownViolation } from './fuzz-run.ts';
import { FUZZ_TOTEM_TIMINGS, FUZZ_TRANSPORT_TIMINGS } from './fuzz-target.ts';
import {
  checkAdminKept,
  checkCommandOnce,
  checkExclusive,
  checkRunning,
  type HaRecords,
  type HaViolation,
  type ProcessInterval,
} from './ha-checkers.ts';
import { Rng } from './rng.ts';
import { StackSimCluster } from './stack-cluster.ts';

/** Length of the fault phase (virtual ms): CI runs 2,000 seeds of it. */
export const HA_SAFETY_MS = 1000;
/** The watchdog's fence timeout in the simulator: above the feed interval plus the largest timer lateness. */
const SIM_FENCE_TIMEOUT_MS = 300;
const SIM_FENCE_MARGIN_MS = 100;
/** HA timings of the simulator, derived from the fuzz Totem timings as the daemon derives its own. */
export const HA_SIM_TIMINGS: HaTimings = haTimings(
  { tokenMs: FUZZ_TOTEM_TIMINGS.tokenMs! },
  SIM_FENCE_TIMEOUT_MS,
  SIM_FENCE_MARGIN_MS,
);
/** How long a start or stop command takes (virtual ms, drawn per command). */
const COMMAND_MS_MIN = 2;
const COMMAND_MS_MAX = 40;
/**
 * After the faults, the cluster stays as they left it (no new fault, nothing healed) for one recovery wait and a
 * lease: a quorate partition recovers the services of the nodes it lost, under the watchdogs' deadlines.
 */
const HOLD_MS = HA_SIM_TIMINGS.recoveryWaitMs + HA_SIM_TIMINGS.leaseMs;
/** A quorate partition synced this long ago has recovered what it lost: a recovery wait and two report rounds. */
const PARTITION_STABLE_MS = HA_SIM_TIMINGS.recoveryWaitMs + 2 * HA_SIM_TIMINGS.reportIntervalMs;
/** Longest the ring may take to re-form after healing. */
const CONVERGE_MS_MAX = 20_000;
/** After the ring re-formed, every unit must run within this (a sync, a report round, commands). */
const RUNNING_MS_MAX = HA_SIM_TIMINGS.recoveryWaitMs + HA_SIM_TIMINGS.leaseMs;
/** Share of the schedule's client events that become a migrate or relocate request. */
const ADMIN_SHARE = 0.1;

/**
 * The resources every run manages: a group (address before the server, monitored every virtual second), a lone
 * unit, a group with rules.
 */
export const HA_SIM_RESOURCES = `ip: vip
\taddress 198.18.100.100/24
\tinterface sim0

exec: web
\tstart web start
\tstop web stop
\tmonitor web status
\tmonitor_interval 1

systemd: db
\tunit db.service

exec: batch
\tstart batch start
\tstop batch stop
\tmonitor batch status

group: webgroup
\tresources ip:vip,exec:web
\tnodes n1:2,n2:1

group: batchgroup
\tresources exec:batch
\tnodes n2:1,n3:1
\trestricted 1
`;

export interface HaSeedOptions {
  seed: number;
  nodes: number;
  links: number;
  safetyMs?: number;
  /** HA timings (a test breaks the fencing argument with a shorter recovery wait). */
  timings?: HaTimings;
  /** HA messages multicast agreed instead of safe (a test shows `ha-admin-kept` catches the loss it allows). */
  agreed?: boolean;
}

export interface HaSeedResult {
  seed: number;
  nodes: number;
  links: number;
  safetyMs: number;
  schedule: FaultEvent[];
  violations: HaViolation[];
  /** The ring did not re-form after healing (a known Totem defect on a few seeds): liveness was not judged. */
  unconverged: boolean;
  records: HaRecords;
  /** Quorate partitions judged at the end of the hold (see `partitionViolations`). */
  stats: { commands: number; recoveries: number; partitionsJudged: number; virtualMs: number };
}

/** The shape of a seed: 3–4 nodes, 1–2 links (small clusters: a seed costs CPU per virtual second and node). */
export function haShapeForSeed(seed: number): { nodes: number; links: number } {
  return { nodes: 3 + (seed % 2), links: 1 + (Math.floor(seed / 2) % 2) };
}

export function haReplayCommand(result: Pick<HaSeedResult, 'seed' | 'nodes' | 'links' | 'safetyMs'>): string {
  const safety = result.safetyMs === HA_SAFETY_MS ? '' : ` --safety-ms ${result.safetyMs}`;
  return `npm run soak:sim -- --ha --seed ${result.seed} --nodes ${result.nodes} --links ${result.links}${safety}`;
}

export function runHaSeed(options: HaSeedOptions): HaSeedResult {
  const safetyMs = options.safetyMs ?? HA_SAFETY_MS;
  const nodeIds = Array.from({ length: options.nodes }, (_, i) => i + 1);
  const root = new Rng(options.seed);
  // Impairments (loss, duplicates, reordering) and late timers cost most of a stack run's CPU and are the stack
  // seeds' subject; HA runs keep the faults that change memberships: crashes, restarts, partitions, cuts.
  const schedule = planFaults(root.fork(), { nodeIds, links: options.links, safetyMs }).filter(
    (e) => e.kind !== 'conditions' && e.kind !== 'clearConditions' && e.kind !== 'timerLateness',
  );
  const timings = options.timings ?? HA_SIM_TIMINGS;
  const model = new ServiceModel(root.fork(), timings);
  const engines = new Map<number, HaEngine>();
  const cluster = new StackSimCluster({
    seed: options.seed,
    nodes: nodeIds,
    links: options.links,
    totem: FUZZ_TOTEM_TIMINGS,
    transport: FUZZ_TRANSPORT_TIMINGS,
    services: (node, _incarnation, context) => {
      const engine = new RecordedHaEngine(
        {
          localNodeId: node,
          timings,
          nodelist: nodeIds,
          nodeName: (id) => `n${id}`,
          quorate: context.quorate,
          readConfig: () => HA_SIM_RESOURCES,
        },
        context.payloadBytesMax,
        (now) => model.synced(node, engine, context.quorate(), now),
        options.agreed ?? false,
      );
      engines.set(node, engine);
      return [engine];
    },
    onServiceOutput: (node, incarnation, service, output) => {
      if (service === HA_SERVICE_ID) model.onOutput(node, incarnation, output as HaEngineOutput);
    },
  });
  model.attach(cluster);
  const admin = root.fork();
  const units = unitsOf((parseResources(HA_SIM_RESOURCES) as { ok: true; config: never }).config);
  let violations: HaViolation[] = [];
  let unconverged = false;
  let partitionsJudged = 0;
  try {
    for (const event of schedule) {
      cluster.scheduler.at(event.at, () => {
        if (event.kind === 'crash') {
          cluster.crash(event.node);
        } else if (event.kind === 'restart') {
          if (!cluster.isUp(event.node)) model.restarted(event.node);
          cluster.restart(event.node);
        } else if (event.kind === 'multicast') {
          if (admin.chance(ADMIN_SHARE)) {
            const request: HaEngineRequest = {
              type: 'admin',
              id: model.adminSent(event.node, engines.get(event.node)!),
              request: {
                op: admin.pick(['migrate', 'relocate']),
                unit: admin.pick(units).id,
                node: admin.pick(nodeIds),
              },
            };
            cluster.serviceRequest(event.node, HA_SERVICE_ID, request);
          }
        } else {
          applyNetworkFault(cluster.network, event, options.links);
        }
      });
    }
    runWithinBudget(cluster, safetyMs + HOLD_MS);
    const judged = partitionViolations(cluster, engines, units, model.records.intervals);
    partitionsJudged = judged.partitions;
    violations = judged.violations;
    healEverything(
      {
        network: cluster.network,
        isUp: (node) => cluster.isUp(node),
        restart: (node) => {
          model.restarted(node);
          cluster.restart(node);
        },
        setTimerLateness: (node, lateMs) => cluster.setTimerLateness(node, lateMs),
      },
      nodeIds,
      options.links,
    );
    const convergeBy = cluster.scheduler.now() + CONVERGE_MS_MAX;
    while (cluster.unconverged().length > 0 && cluster.scheduler.now() < convergeBy) {
      runWithinBudget(cluster, LIVENESS_POLL_MS);
    }
    unconverged = cluster.unconverged().length > 0;
    if (!unconverged) {
      const started = units.filter((u) => u.requested === 'started').map((u) => u.members.map((m) => m.sid));
      const runningBy = cluster.scheduler.now() + RUNNING_MS_MAX;
      while (checkRunning(model.records.intervals, started).length > 0 && cluster.scheduler.now() < runningBy) {
        runWithinBudget(cluster, LIVENESS_POLL_MS);
      }
      violations = [...violations, ...checkRunning(model.records.intervals, started)];
    }
  } catch (error) {
    const thrown = thrownViolation(error, cluster.scheduler.now());
    violations = [{ invariant: 'ha-liveness', nodes: [], detail: `${thrown.invariant}: ${thrown.detail}` }];
  }
  cluster.close();
  const records = model.records;
  violations = [
    ...checkExclusive(records.intervals),
    ...checkCommandOnce(records.runs),
    ...checkAdminKept(records),
    ...violations,
  ];
  let recoveries = 0;
  for (const engine of engines.values()) recoveries = Math.max(recoveries, engine.core.crm.table.counters.recoveries);
  return {
    seed: options.seed,
    nodes: options.nodes,
    links: options.links,
    safetyMs,
    schedule,
    violations,
    unconverged,
    records,
    stats: { commands: records.runs.length, recoveries, partitionsJudged, virtualMs: cluster.scheduler.now() },
  };
}

/**
 * At the end of the hold: every quorate partition synced long enough ago runs every unit requested started that has
 * an allowed node in it, on one of its members.
 */
function partitionViolations(
  cluster: StackSimCluster,
  engines: ReadonlyMap<number, HaEngine>,
  units: readonly HaUnit[],
  intervals: readonly ProcessInterval[],
): { violations: HaViolation[]; partitions: number } {
  const now = cluster.scheduler.now();
  const out: HaViolation[] = [];
  const judged = new Set<string>();
  for (const [node, engine] of engines) {
    const core = engine.core;
    if (!cluster.isUp(node) || !core.active || now - core.syncedAt < PARTITION_STABLE_MS) continue;
    const members = core.membership;
    // A partition in the middle of a membership change is not stable: its members may have stopped their services
    // on purpose (a change longer than the lease, docs/ha.md "Fencing"); the runs after healing judge what follows.
    if (members.some((n) => cluster.totemState(n) !== 'operational')) continue;
    if (judged.has(members.join(','))) continue;
    judged.add(members.join(','));
    const open = intervals.filter((p) => p.to === null && members.includes(p.node));
    for (const unit of units) {
      if (unit.requested !== 'started') continue;
      if (!members.some((n) => nodePriority(unit, n, (id) => `n${id}`) !== null)) continue;
      const where = unit.members.map((m) => open.filter((p) => p.sid === m.sid).map((p) => p.node));
      if (where.every((w) => w.length === 1 && w[0] === where[0]![0])) continue;
      out.push({
        invariant: 'ha-liveness',
        nodes: [...members],
        detail: `quorate partition [${members}] synced at ${core.syncedAt.toFixed(1)} ms: ${unit.id} runs on [${where.map((w) => `[${w}]`)}] at ${now.toFixed(1)} ms`,
      });
    }
  }
  return { violations: out, partitions: judged.size };
}

export function formatHaFailure(result: HaSeedResult, options: { trace?: boolean } = {}): string {
  const lines = [
    `seed ${result.seed} (${result.nodes} nodes, ${result.links} links, HA): ${result.violations.length} violations`,
    ...result.violations.map((v) => `  [${v.invariant}] nodes ${v.nodes.join(',')}: ${v.detail}`),
  ];
  if (options.trace) {
    for (const e of result.schedule) lines.push(`    ${e.at.toFixed(1).padStart(8)} ms  ${JSON.stringify(e)}`);
    for (const p of result.records.intervals) {
      lines.push(`    ${p.sid} on node ${p.node}: ${p.from.toFixed(1)}–${p.to === null ? 'end' : p.to.toFixed(1)}`);
    }
  }
  lines.push(`  replay: ${haReplayCommand(result)} --trace`);
  return lines.join('\n');
}

interface Command {
  id: string | null;
  op: 'start' | 'stop' | 'monitor';
  sid: string;
}

/** The daemon's engine, telling the model of every sync it completed (the table it adopted); `agreed`: see HaSeedOptions. */
class RecordedHaEngine extends HaEngine {
  constructor(
    options: HaCoreOptions,
    payloadBytesMax: number | undefined,
    private readonly onSync: (now: number) => void,
    private readonly agreed: boolean,
  ) {
    super(options, payloadBytesMax);
  }

  override request(event: StackEvent, now: number): EngineAction[] {
    return this.delivery(super.request(event, now));
  }

  override deliver(sender: number, payload: Uint8Array, now: number): EngineAction[] {
    const merges = this.core.counters.merges;
    const out = super.deliver(sender, payload, now);
    if (this.core.counters.merges !== merges) this.onSync(now);
    return this.delivery(out);
  }

  override confchg(change: ConfigChange, now: number): EngineAction[] {
    return this.delivery(super.confchg(change, now));
  }

  override syncInit(change: RegularChange, now: number): EngineAction[] {
    return this.delivery(super.syncInit(change, now));
  }

  override tick(now: number): EngineAction[] {
    return this.delivery(super.tick(now));
  }

  private delivery(actions: EngineAction[]): EngineAction[] {
    if (!this.agreed) return actions;
    return actions.map((a) => (a.type === 'multicast' ? { ...a, guarantee: 'agreed' } : a));
  }
}

/** The service processes, runners and watchdog supervisors of every node, and the admin requests' records. */
class ServiceModel {
  readonly records: HaRecords = { intervals: [], runs: [], acks: [], syncs: [], starts: [] };
  /** Admin requests not answered yet: `node:id` → what `ha-admin-kept` needs of it. */
  private readonly adminPending = new Map<string, { sentAt: number; ring: number }>();
  /** Last admin request id per node: ids grow per node across restarts (`ha-admin-kept` compares them). */
  private readonly adminIds = new Map<number, number>();
  private cluster!: StackSimCluster;
  /** node → sid → its running process. */
  private readonly open = new Map<number, Map<string, ProcessInterval>>();
  private readonly lastFeedAt = new Map<number, number>();
  /** `node#incarnation/sid` → commands waiting, the first one running. */
  private readonly queues = new Map<string, Command[]>();

  constructor(
    private readonly rng: Rng,
    private readonly timings: HaTimings,
  ) {}

  attach(cluster: StackSimCluster): void {
    this.cluster = cluster;
  }

  /** The id of `node`'s next admin request. */
  adminSent(node: number, engine: HaEngine): number {
    const id = (this.adminIds.get(node) ?? 0) + 1;
    this.adminIds.set(node, id);
    this.adminPending.set(`${node}:${id}`, { sentAt: this.cluster.scheduler.now(), ring: engine.core.ring });
    return id;
  }

  synced(node: number, engine: HaEngine, quorate: boolean, now: number): void {
    const core = engine.core;
    const admins = structuredClone(core.crm.table.admins);
    this.records.syncs.push({ node, at: now, ring: core.ring, members: [...core.membership], quorate, admins });
  }

  onOutput(node: number, incarnation: number, output: HaEngineOutput): void {
    const now = this.cluster.scheduler.now();
    switch (output.type) {
      case 'adminDone': {
        const sent = this.adminPending.get(`${node}:${output.id}`);
        this.adminPending.delete(`${node}:${output.id}`);
        if (sent !== undefined && output.error === null)
          this.records.acks.push({ node, id: output.id, ...sent, ackedAt: now });
        return;
      }
      case 'run':
        // Monitors are the local manager's own checks, not the manager's commands that must run once.
        if (output.op !== 'monitor') this.records.runs.push({ id: output.id, node, at: now });
        this.enqueue(node, incarnation, { id: output.id, op: output.op, sid: output.spec.sid });
        return;
      case 'stopAll':
        for (const sid of this.processes(node).keys()) this.enqueue(node, incarnation, { id: null, op: 'stop', sid });
        return;
      case 'feed': {
        this.lastFeedAt.set(node, now);
        this.cluster.scheduler.at(now + this.timings.fenceTimeoutMs, () => this.watchdog(node));
        return;
      }
      default:
        return;
    }
  }

  /** A new daemon on `node`: its supervisor stops what the previous one left running. */
  restarted(node: number): void {
    this.records.starts.push({ node, at: this.cluster.scheduler.now() });
    this.killAll(node);
  }

  private processes(node: number): Map<string, ProcessInterval> {
    let map = this.open.get(node);
    if (map === undefined) {
      map = new Map();
      this.open.set(node, map);
    }
    return map;
  }

  private watchdog(node: number): void {
    const now = this.cluster.scheduler.now();
    if (now >= (this.lastFeedAt.get(node) ?? Number.NEGATIVE_INFINITY) + this.timings.fenceTimeoutMs) {
      this.killAll(node);
    }
  }

  private killAll(node: number): void {
    const now = this.cluster.scheduler.now();
    for (const p of this.processes(node).values()) p.to = now;
    this.processes(node).clear();
  }

  private enqueue(node: number, incarnation: number, command: Command): void {
    const key = `${node}#${incarnation}/${command.sid}`;
    const queue = this.queues.get(key) ?? [];
    this.queues.set(key, queue);
    queue.push(command);
    if (queue.length === 1) this.begin(node, incarnation, key);
  }

  private begin(node: number, incarnation: number, key: string): void {
    const command = this.queues.get(key)![0]!;
    const now = this.cluster.scheduler.now();
    const processes = this.processes(node);
    if (command.op === 'start' && !processes.has(command.sid)) {
      const p: ProcessInterval = { sid: command.sid, node, from: now, to: null };
      processes.set(command.sid, p);
      this.records.intervals.push(p);
    }
    this.cluster.scheduler.after(this.rng.int(COMMAND_MS_MIN, COMMAND_MS_MAX), () => {
      // The daemon that ran it is gone: so is its runner (what it started keeps running).
      if (this.cluster.incarnation(node) !== incarnation) {
        this.queues.delete(key);
        return;
      }
      if (command.op === 'stop') {
        const p = processes.get(command.sid);
        if (p) p.to = this.cluster.scheduler.now();
        processes.delete(command.sid);
      }
      const queue = this.queues.get(key)!;
      queue.shift();
      // The queue is settled before the result goes back: the engine may ask for the next command at once.
      if (queue.length > 0) this.begin(node, incarnation, key);
      else this.queues.delete(key);
      if (command.id !== null) {
        const dead = command.op === 'monitor' && !processes.has(command.sid);
        const result = { exitCode: dead ? HA_EXIT_NOT_RUNNING : 0, timedOut: false, output: '' };
        this.cluster.serviceRequest(node, HA_SERVICE_ID, { type: 'runResult', id: command.id, result });
      }
    });
  }
}
