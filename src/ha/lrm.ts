/**
 * The local resource manager (ha-manager's LRM, PVE::HA::LRM) of one node: it runs the command of every unit the
 * manager status places on this node, once per command uid — a unit's members started in order, stopped in
 * reverse, each as one `run` request with the id `uid/step` — and reports the outcome. It may run services only
 * while `mayRun` (in a quorate membership, lease fresh: core.ts); the moment that ends it asks for `stopAll` and
 * forgets every command under way, and it feeds the watchdog only while it may run.
 *
 * **Monitor** (ha-manager's LRM check of its started services): every `monitorIntervalMs` of a unit started here
 * with no command under way, it runs each member's monitor (LSB: 0 running, 7 not running, anything else or a
 * timeout failed). A failure stops the whole unit here (reverse order, as a failed start does) and reports
 * `failed` with the row's `since`, which the manager handles as a failed start: restart, relocate, error.
 */
import { assert } from '../base/assert.ts';
import type { HaTimings } from '../config/defaults.ts';
import { HA_EXIT_OK, type HaOp, type HaOpResult, type HaResourceSpec } from './contract.ts';
import { commandOf, STOP_FAILED } from './crm.ts';
import type { HaTable, LrmReport } from './messages.ts';
import type { HaUnit } from './units.ts';

/** Command uids remembered as done (a uid never comes back once the table moved past it; this bounds memory). */
const DONE_UIDS_MAX = 4096;

export type LrmAction =
  | { type: 'run'; id: string; op: HaOp; spec: HaResourceSpec }
  /** Stop every resource this node started, now (after any command under way), and forget them. */
  | { type: 'stopAll' }
  | { type: 'feed' }
  /** A command finished: multicast its result. */
  | { type: 'result'; uid: string; ok: boolean; message: string | null }
  /** A monitor failed: the unit is stopped here; multicast it. */
  | { type: 'failed'; unit: string; since: number; message: string };

interface Job {
  uid: string;
  unit: string;
  /** Each step: op and resource; a failed start appends the stops that undo it. */
  steps: { op: HaOp; spec: HaResourceSpec }[];
  step: number;
  failure: string | null;
  stopFailed: boolean;
  command: 'start' | 'stop' | 'monitor';
  /** A monitor's: the `since` of the row it checks. */
  since: number;
}

export class LocalManager {
  mayRun = false;
  /** Units started here and not stopped since. */
  readonly running = new Set<string>();
  /** unit → its command under way. */
  private readonly jobs = new Map<string, Job>();
  private readonly done = new Set<string>();
  private lastFeedAt = Number.NEGATIVE_INFINITY;
  /** unit → when its next monitor is due (only units started here with no command under way). */
  private readonly monitorAt = new Map<string, number>();
  private monitors = 0;
  readonly counters = { commands: 0, stopAlls: 0 };

  constructor(
    private readonly localNodeId: number,
    private readonly timings: HaTimings,
  ) {}

  /** Re-reads the table (after every change, tick and membership event) with whether this node may run services. */
  update(table: HaTable | null, units: ReadonlyMap<string, HaUnit>, mayRun: boolean, now: number): LrmAction[] {
    const out: LrmAction[] = [];
    if (this.mayRun && !mayRun) {
      for (const job of this.jobs.values()) this.remember(job.uid);
      this.jobs.clear();
      this.running.clear();
      this.counters.stopAlls++;
      out.push({ type: 'stopAll' });
    }
    this.mayRun = mayRun;
    if (!mayRun || table === null) this.monitorAt.clear();
    if (!mayRun) return out;
    if (now >= this.lastFeedAt + this.timings.feedIntervalMs) {
      this.lastFeedAt = now;
      out.push({ type: 'feed' });
    }
    if (table === null) return out;
    for (const e of table.services) {
      if (e.node !== this.localNodeId) {
        assert(!this.running.has(e.id) || this.jobs.has(e.id), 'HA: a unit this node runs is placed on this node');
        continue;
      }
      const command = commandOf(e);
      const unit = units.get(e.id);
      if (command === null || unit === undefined || this.jobs.has(e.id) || this.done.has(e.uid)) continue;
      const members = command === 'start' ? unit.members : [...unit.members].reverse();
      const job: Job = {
        uid: e.uid,
        unit: e.id,
        steps: members.map((spec) => ({ op: command, spec })),
        step: 0,
        failure: null,
        stopFailed: false,
        command,
        since: e.since,
      };
      this.jobs.set(e.id, job);
      this.counters.commands++;
      out.push(this.runStep(job));
    }
    this.monitor(table, units, now, out);
    return out;
  }

  /** Schedules the monitor of every unit started here and idle, and runs the ones due. */
  private monitor(table: HaTable, units: ReadonlyMap<string, HaUnit>, now: number, out: LrmAction[]): void {
    const idle = new Set<string>();
    for (const e of table.services) {
      const unit = units.get(e.id);
      if (e.node !== this.localNodeId || e.state !== 'started' || !this.running.has(e.id) || unit === undefined) {
        continue;
      }
      if (this.jobs.has(e.id)) continue;
      idle.add(e.id);
      const due = this.monitorAt.get(e.id);
      if (due === undefined) this.monitorAt.set(e.id, now + unit.monitorIntervalMs);
      if (due === undefined || now < due) continue;
      idle.delete(e.id);
      const job: Job = {
        uid: `monitor:${e.id}@${this.localNodeId}#${++this.monitors}`,
        unit: e.id,
        steps: unit.members.map((spec, i) => ({
          op: 'monitor',
          spec: { ...spec, timeoutMs: unit.monitorTimeoutsMs[i]! },
        })),
        step: 0,
        failure: null,
        stopFailed: false,
        command: 'monitor',
        since: e.since,
      };
      this.jobs.set(e.id, job);
      out.push(this.runStep(job));
    }
    // A deadline only for what can run: no stale entry may make the driver tick in a loop.
    for (const id of this.monitorAt.keys()) if (!idle.has(id)) this.monitorAt.delete(id);
  }

  /** The outcome of one `run` request; ids of forgotten commands are ignored. */
  onResult(id: string, result: HaOpResult): LrmAction[] {
    const slash = id.lastIndexOf('/');
    const uid = id.slice(0, slash);
    const job = [...this.jobs.values()].find((j) => j.uid === uid && `${j.uid}/${j.step}` === id);
    if (job === undefined) return [];
    const { op, spec } = job.steps[job.step]!;
    const ok = result.exitCode === HA_EXIT_OK && !result.timedOut;
    if (!ok) {
      const what = `${op} ${spec.sid} ${result.timedOut ? 'timed out' : `exited ${result.exitCode}`}`;
      if (op === 'start' && job.failure === null) {
        job.failure = what;
        // Undo: stop what this command started, the failed member included, in reverse.
        const started = job.steps.slice(0, job.step + 1).map((s) => s.spec);
        job.steps = [
          ...job.steps.slice(0, job.step + 1),
          ...started.reverse().map((s) => ({ op: 'stop' as const, spec: s })),
        ];
      } else if (op === 'monitor') {
        job.failure = what;
        // The unit is broken here: stop all of it, in reverse, before the manager restarts or moves it.
        const stops = [...job.steps].reverse().map((s) => ({ op: 'stop' as const, spec: s.spec }));
        job.steps = [...job.steps.slice(0, job.step + 1), ...stops];
      } else {
        job.stopFailed = true;
        job.failure ??= what;
      }
    }
    job.step++;
    if (job.step < job.steps.length) return [this.runStep(job)];
    this.jobs.delete(job.unit);
    const success = job.failure === null;
    if (job.command === 'monitor') {
      if (success) return [];
      this.running.delete(job.unit);
      const message = job.stopFailed ? `${STOP_FAILED}: ${job.failure}` : job.failure!;
      return [{ type: 'failed', unit: job.unit, since: job.since, message }];
    }
    this.remember(job.uid);
    if (job.command === 'start' && success) this.running.add(job.unit);
    else this.running.delete(job.unit);
    if (job.command === 'start' && !success && job.stopFailed) {
      return [{ type: 'result', uid: job.uid, ok: false, message: `${STOP_FAILED}: ${job.failure}` }];
    }
    return [{ type: 'result', uid: job.uid, ok: success, message: job.failure }];
  }

  report(seen: number): LrmReport {
    return {
      seen,
      running: [...this.running].sort(),
      busy: [...this.jobs.values()].map((j) => j.uid).sort(),
    };
  }

  /** When the watchdog needs its next feed (Infinity while this node may not run services). */
  nextDeadline(): number {
    if (!this.mayRun) return Number.POSITIVE_INFINITY;
    return Math.min(this.lastFeedAt + this.timings.feedIntervalMs, ...this.monitorAt.values());
  }

  private runStep(job: Job): LrmAction {
    const { op, spec } = job.steps[job.step]!;
    return { type: 'run', id: `${job.uid}/${job.step}`, op, spec };
  }

  private remember(uid: string): void {
    this.done.add(uid);
    if (this.done.size > DONE_UIDS_MAX) this.done.delete(this.done.values().next().value!);
  }
}
