/**
 * Invariants of the HA managers in a simulator run (docs/simulator.md "HA"), judged from what the simulated
 * service processes did (ha-run.ts): pure functions of plain records, with good and bad records in
 * test/sim/ha-checkers.test.ts.
 */
import { VIOLATIONS_PER_INVARIANT_MAX } from './checkers.ts';

export type HaInvariantName = 'ha-exclusive' | 'ha-command-once' | 'ha-liveness';

export interface HaViolation {
  invariant: HaInvariantName;
  nodes: number[];
  detail: string;
}

/** One service process on one node: from its start command's begin to its stop's end (or the watchdog's kill). */
export interface ProcessInterval {
  sid: string;
  node: number;
  from: number;
  /** null: still running at the end. */
  to: number | null;
}

export interface HaRecords {
  intervals: ProcessInterval[];
  /** Every command run (`run` request) with its node. */
  runs: { id: string; node: number; at: number }[];
}

/** At no instant do two nodes run the same service. */
export function checkExclusive(intervals: readonly ProcessInterval[]): HaViolation[] {
  const out: HaViolation[] = [];
  const bySid = new Map<string, ProcessInterval[]>();
  for (const p of intervals) bySid.set(p.sid, [...(bySid.get(p.sid) ?? []), p]);
  for (const [sid, list] of bySid) {
    const sorted = [...list].sort((a, b) => a.from - b.from);
    for (let i = 0; i < sorted.length; i++) {
      for (let j = i + 1; j < sorted.length; j++) {
        const a = sorted[i]!;
        const b = sorted[j]!;
        if (b.from >= (a.to ?? Number.POSITIVE_INFINITY)) break;
        if (a.node === b.node || out.length >= VIOLATIONS_PER_INVARIANT_MAX) continue;
        out.push({
          invariant: 'ha-exclusive',
          nodes: [a.node, b.node],
          detail: `${sid} ran on node ${a.node} (${span(a)}) and node ${b.node} (${span(b)}) at once`,
        });
      }
    }
  }
  return out;
}

/** No command id runs twice. */
export function checkCommandOnce(runs: HaRecords['runs']): HaViolation[] {
  const seen = new Map<string, number>();
  const out: HaViolation[] = [];
  for (const run of runs) {
    const first = seen.get(run.id);
    if (first !== undefined && out.length < VIOLATIONS_PER_INVARIANT_MAX) {
      out.push({ invariant: 'ha-command-once', nodes: [first, run.node], detail: `command ${run.id} ran twice` });
    }
    seen.set(run.id, run.node);
  }
  return out;
}

/**
 * Each unit requested started (`units`: its member sids, in start order) runs, every member on one node, at the
 * end of a healed run.
 */
export function checkRunning(intervals: readonly ProcessInterval[], units: readonly string[][]): HaViolation[] {
  const out: HaViolation[] = [];
  for (const sids of units) {
    const nodes = sids.map((sid) => intervals.filter((p) => p.sid === sid && p.to === null).map((p) => p.node));
    const where = new Set(nodes.flat());
    if (nodes.every((n) => n.length === 1) && where.size === 1) continue;
    out.push({
      invariant: 'ha-liveness',
      nodes: [...where],
      detail: `after healing, ${sids.map((sid, i) => `${sid} runs on [${nodes[i]}]`).join(', ')}`,
    });
  }
  return out;
}

function span(p: ProcessInterval): string {
  return `${p.from.toFixed(1)}–${p.to === null ? 'end' : p.to.toFixed(1)} ms`;
}
