/**
 * Invariants of the HA managers in a simulator run (docs/simulator.md "HA"), judged from what the simulated
 * service processes did (ha-run.ts): pure functions of plain records, with good and bad records in
 * test/sim/ha-checkers.test.ts.
 */
import { VIOLATIONS_PER_INVARIANT_MAX } from './checkers.ts';

export type HaInvariantName = 'ha-exclusive' | 'ha-command-once' | 'ha-liveness' | 'ha-admin-kept';

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

/** An admin request its node's managers acknowledged without error (`adminDone`, error null). */
export interface AdminAck {
  node: number;
  /** Grows per node in send order, across restarts. */
  id: number;
  sentAt: number;
  ackedAt: number;
  /** The ring seq of the configuration it was sent (and acknowledged) in. */
  ring: number;
}

/** A sync completed on one node: the table it adopted. */
export interface HaSync {
  node: number;
  at: number;
  ring: number;
  members: number[];
  quorate: boolean;
  /** The adopted table's `admins`: per node, the id of its latest admin request applied in the table's history. */
  admins: { node: number; id: number }[];
}

export interface HaRecords {
  intervals: ProcessInterval[];
  /** Every command run (`run` request) with its node. */
  runs: { id: string; node: number; at: number }[];
  acks: AdminAck[];
  syncs: HaSync[];
  /** When a daemon restarted: it holds only the table it started from. */
  starts: { node: number; at: number }[];
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

/**
 * An acknowledged admin request is not lost: every quorate sync of a later ring adopts a table whose history applied
 * it (its `admins` entry for the sender is at least the request's id). Not judged from the first sync of a later ring
 * with a member whose daemon restarted after the request was sent (on or after that ring): a restarted daemon holds
 * only the table it started from, so when every member that held the request restarted, losing it is no fault of
 * the managers. Ring seqs grow along every node's history, so no table adopted in a lower ring descends from that
 * sync.
 */
export function checkAdminKept(records: Pick<HaRecords, 'acks' | 'syncs' | 'starts'>): HaViolation[] {
  const out: HaViolation[] = [];
  for (const ack of records.acks) {
    const laterSyncs = records.syncs.filter((s) => s.ring > ack.ring);
    let judgedBelow = Number.POSITIVE_INFINITY;
    for (const s of laterSyncs) {
      const restarted = records.starts.some((r) => s.members.includes(r.node) && r.at > ack.sentAt && r.at <= s.at);
      if (restarted) judgedBelow = Math.min(judgedBelow, s.ring);
    }
    for (const s of laterSyncs) {
      if (!s.quorate || s.ring >= judgedBelow || out.length >= VIOLATIONS_PER_INVARIANT_MAX) continue;
      const held = s.admins.find((a) => a.node === ack.node)?.id ?? 0;
      if (held >= ack.id) continue;
      out.push({
        invariant: 'ha-admin-kept',
        nodes: [ack.node, s.node],
        detail:
          `node ${ack.node}'s admin request ${ack.id} (sent at ${ack.sentAt.toFixed(1)} ms in ring ${ack.ring}, ` +
          `acknowledged at ${ack.ackedAt.toFixed(1)} ms) is not in the table node ${s.node} adopted at ${s.at.toFixed(1)} ms in the quorate ring ` +
          `${s.ring} [${s.members}] (its latest from node ${ack.node}: ${held || 'none'})`,
      });
    }
  }
  return out;
}

function span(p: ProcessInterval): string {
  return `${p.from.toFixed(1)}–${p.to === null ? 'end' : p.to.toFixed(1)} ms`;
}
