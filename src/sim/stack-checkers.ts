/**
 * Checkers of a whole-stack simulator run (docs/simulator.md, "Whole stack"): what an application sees of quorum,
 * CPG and the replicated file store, judged from the records the simulated clients kept. Pure functions of plain
 * data, so each has hand-made good and bad records in test/sim/stack-checkers.test.ts.
 */
import { VIOLATIONS_PER_INVARIANT_MAX } from './checkers.ts';

/** Names of the whole-stack invariants (plus the runner's `exception` and `work-budget`). */
export type StackInvariantName =
  | 'quorum-safety'
  | 'cpg-no-duplication'
  | 'cpg-no-creation'
  | 'cpg-total-order'
  | 'cpg-sender-in-view'
  | 'cpg-view-agreement'
  | 'cpg-virtual-synchrony'
  | 'cpg-convergence'
  | 'cpg-liveness'
  | 'cfs-inquorate-write'
  | 'cfs-version-conflict'
  | 'cfs-ack-lost'
  | 'cfs-refused-applied'
  | 'cfs-replicas-differ'
  | 'cfs-liveness'
  | 'convergence'
  | 'exception'
  | 'assertion'
  | 'work-budget';

export interface StackViolation {
  invariant: StackInvariantName;
  nodes: number[];
  detail: string;
}

/** What one node incarnation's quorum service told its observers at virtual time `at` (`null`: it stopped). */
export interface QuorumRecord {
  at: number;
  node: number;
  incarnation: number;
  state: { quorate: boolean; members: number[]; expectedVotes: number } | null;
}

/** A CPG group view as one member saw it; `view` identifies it across members ({@link cpgViewId}). */
export type CpgEntry =
  | { kind: 'view'; view: string; members: string[] }
  | { kind: 'deliver'; msgId: string; sender: string };

/** Everything one process (`node#incarnation.pid`) saw of one group, and what it multicast there. */
export interface CpgMemberTrace {
  group: string;
  node: number;
  /** `node:pid` as CPG names the process in member lists. */
  address: string;
  entries: CpgEntry[];
  /** Message ids CPG accepted from this process, in order. */
  sent: string[];
  /** `alive`: still a member at the end; `gone`: left, killed, or its node crashed. */
  ended: 'alive' | 'gone';
}

/** One cfs write a simulated client submitted, with what the stack answered (absent: no answer yet). */
export interface CfsWriteRecord {
  node: number;
  incarnation: number;
  path: string;
  data: string;
  submittedAt: number;
  /** What the node's quorum service had last said when the write was submitted (the observer's record). */
  quorateAtSubmit: boolean;
  result?: { ok: true; version: number } | { ok: false; code: string };
}

/** A node's store at the end of a run. */
export interface CfsReplica {
  node: number;
  seq: number;
  entries: { path: string; version: number; data: string }[];
}

/** Records of a whole-stack run. */
export interface StackRecords {
  quorum: QuorumRecord[];
  cpg: CpgMemberTrace[];
  cfsWrites: CfsWriteRecord[];
  /** Stores at the stable end of a quiescent run (empty when the run did not get there). */
  replicas: CfsReplica[];
}

/**
 * Runs every checker. `quiescent`: the run converged after healing, so the end-of-run properties (replicas
 * identical, acknowledged writes present) are judged too.
 */
export function checkStackRecords(records: StackRecords, options: { quiescent: boolean }): StackViolation[] {
  const found = [
    ...checkQuorumSafety(records.quorum),
    ...checkCpg(records.cpg),
    ...checkCfsWrites(records.cfsWrites),
    ...(options.quiescent ? checkCfsReplicas(records.cfsWrites, records.replicas) : []),
  ];
  const perInvariant = new Map<StackInvariantName, number>();
  return found.filter((v) => {
    const count = (perInvariant.get(v.invariant) ?? 0) + 1;
    perInvariant.set(v.invariant, count);
    return count <= VIOLATIONS_PER_INVARIANT_MAX;
  });
}

/**
 * Quorum safety: after every virtual instant, no two node incarnations are quorate with disjoint member lists under
 * the same expected votes (a split brain).
 */
export function checkQuorumSafety(records: readonly QuorumRecord[]): StackViolation[] {
  const current = new Map<string, QuorumRecord>();
  const out: StackViolation[] = [];
  const reported = new Set<string>();
  const sorted = [...records].sort((a, b) => a.at - b.at);
  for (let i = 0; i < sorted.length; i++) {
    const record = sorted[i]!;
    const key = `${record.node}#${record.incarnation}`;
    if (record.state) current.set(key, record);
    else current.delete(key);
    if (sorted[i + 1]?.at === record.at) continue; // judge the instant once every change at it is in
    const quorate = [...current.values()].filter((r) => r.state?.quorate);
    for (let a = 0; a < quorate.length; a++) {
      for (let b = a + 1; b < quorate.length; b++) {
        const x = quorate[a]!;
        const y = quorate[b]!;
        if (x.state!.expectedVotes !== y.state!.expectedVotes) continue;
        if (x.state!.members.some((n) => y.state!.members.includes(n))) continue;
        const pair = `${x.node}#${x.incarnation}/${y.node}#${y.incarnation}:${x.state!.members}:${y.state!.members}`;
        if (reported.has(pair)) continue;
        reported.add(pair);
        out.push({
          invariant: 'quorum-safety',
          nodes: [x.node, y.node],
          detail:
            `at ${record.at.toFixed(1)} ms node ${x.node}#${x.incarnation} is quorate with [${x.state!.members}] and ` +
            `node ${y.node}#${y.incarnation} with [${y.state!.members}] (expected votes ${x.state!.expectedVotes})`,
        });
      }
    }
  }
  return out;
}

const memberLabel = (t: CpgMemberTrace) => `${t.group}@${t.address}`;
const deliveredIds = (entries: readonly CpgEntry[]) =>
  entries.filter((e): e is Extract<CpgEntry, { kind: 'deliver' }> => e.kind === 'deliver').map((e) => e.msgId);

/** One stretch of a member's trace: a view with what it delivered until the next one (`next`: absent at end). */
interface CpgSegment {
  view: string;
  next: string | undefined;
  messages: string[];
}

/**
 * What the pairwise checks need of one member, computed once per member rather than once per pair (a 128-node
 * run has thousands of pairs per group: the per-pair rebuild was 5 % of its profile).
 */
interface CpgMemberSummary {
  trace: CpgMemberTrace;
  delivered: string[];
  /** Index of each delivered message in `delivered`. */
  position: Map<string, number>;
  segments: CpgSegment[];
  segmentOf: Map<string, CpgSegment>;
}

function cpgSegments(trace: CpgMemberTrace): CpgSegment[] {
  const out: CpgSegment[] = [];
  for (const entry of trace.entries) {
    if (entry.kind === 'view') {
      const last = out[out.length - 1];
      if (last) last.next = entry.view;
      out.push({ view: entry.view, next: undefined, messages: [] });
    } else {
      out[out.length - 1]?.messages.push(entry.msgId);
    }
  }
  return out;
}

function cpgMemberSummary(trace: CpgMemberTrace): CpgMemberSummary {
  const delivered = deliveredIds(trace.entries);
  const segments = cpgSegments(trace);
  return {
    trace,
    delivered,
    position: new Map(delivered.map((id, i) => [id, i] as const)),
    segments,
    segmentOf: new Map(segments.map((s) => [s.view, s] as const)),
  };
}

/**
 * CPG extended virtual synchrony, per group: no message twice at a member; every message was multicast by the
 * process named as its sender and is delivered in a view that has its sender (messages of a member that left
 * come before the view without it); any two members deliver their common messages in the same order; two members that
 * install the same view and then next views naming both (they stayed together) install the same next view; members
 * that install the same two consecutive views deliver the same messages, in the same order, between them. (A view
 * may name a member that never installs it: a node partitioned away during CPG's sync; the next view drops it.)
 */
export function checkCpg(traces: readonly CpgMemberTrace[]): StackViolation[] {
  const out: StackViolation[] = [];
  const senderOf = new Map<string, string>();
  for (const t of traces) for (const msgId of t.sent) senderOf.set(msgId, t.address);
  for (const t of traces) {
    const seen = new Set<string>();
    let view: Extract<CpgEntry, { kind: 'view' }> | undefined;
    for (const entry of t.entries) {
      if (entry.kind === 'view') view = entry;
      if (entry.kind !== 'deliver') continue;
      if (!view?.members.includes(entry.sender)) {
        out.push({
          invariant: 'cpg-sender-in-view',
          nodes: [t.node],
          detail: `${memberLabel(t)} delivered ${entry.msgId} in view [${view?.members ?? ''}], which lacks its sender`,
        });
      }
      if (seen.has(entry.msgId)) {
        out.push({
          invariant: 'cpg-no-duplication',
          nodes: [t.node],
          detail: `${memberLabel(t)} delivered ${entry.msgId} twice`,
        });
      }
      seen.add(entry.msgId);
      if (senderOf.get(entry.msgId) !== entry.sender) {
        out.push({
          invariant: 'cpg-no-creation',
          nodes: [t.node],
          detail: `${memberLabel(t)} delivered ${entry.msgId} from ${entry.sender}, which never multicast it`,
        });
      }
    }
  }
  const groups = new Map<string, CpgMemberTrace[]>();
  for (const t of traces) groups.set(t.group, [...(groups.get(t.group) ?? []), t]);
  for (const members of groups.values()) {
    const summaries = members.map(cpgMemberSummary);
    for (let a = 0; a < summaries.length; a++) {
      for (let b = a + 1; b < summaries.length; b++) out.push(...checkCpgPair(summaries[a]!, summaries[b]!));
    }
  }
  return out;
}

function checkCpgPair(xm: CpgMemberSummary, ym: CpgMemberSummary): StackViolation[] {
  const out: StackViolation[] = [];
  const { trace: x, segments: xs } = xm;
  const y = ym.trace;
  const nodes = [x.node, y.node];
  const pair = `${memberLabel(x)} and ${y.address}`;
  let last = -1;
  let lastId = '';
  for (const id of ym.delivered) {
    const p = xm.position.get(id);
    if (p === undefined) continue;
    if (p < last) {
      out.push({ invariant: 'cpg-total-order', nodes, detail: `${pair} deliver ${lastId} and ${id} in either order` });
      break;
    }
    last = p;
    lastId = id;
  }
  for (const s of xs) {
    const other = ym.segmentOf.get(s.view);
    if (!other) continue;
    if (s.next !== undefined && other.next !== undefined && viewMembers(s.next) !== viewMembers(other.next)) {
      // Both moved on from V into views that name both: they stayed together, so it must be one view. (Members
      // only: the ordinals of two processes differ when one saw these members together before the other joined.)
      if (viewHas(s.next, y.address) && viewHas(other.next, x.address)) {
        out.push({
          invariant: 'cpg-view-agreement',
          nodes,
          detail: `${pair} both installed ${s.view}, then ${x.address} installed ${s.next} and ${y.address} ${other.next}`,
        });
      }
    }
    if (s.next !== undefined && s.next === other.next && s.messages.join(' ') !== other.messages.join(' ')) {
      out.push({
        invariant: 'cpg-virtual-synchrony',
        nodes,
        detail: `${pair} went from ${s.view} to ${s.next} together but delivered [${s.messages}] and [${other.messages}]`,
      });
    }
  }
  return out;
}

/** The members part of a view id (`member,member,…|#ordinal`). */
function viewMembers(view: string): string {
  return view.split('|')[0] ?? '';
}

function viewHas(view: string, address: string): boolean {
  return viewMembers(view).split(',').includes(address);
}

/**
 * The id a member records for a view (see {@link CpgEntry}): its sorted members and how many views with exactly
 * these members the process saw before. Not the Totem ring: a join ordered in the old ring is applied by some
 * nodes there and by others (that got it only in the transitional configuration) with the next ring's sync —
 * the same view at the same place in the message stream.
 */
export function cpgViewId(members: readonly string[], ordinal: number): string {
  return `${[...members].sort().join(',')}|#${ordinal}`;
}

/**
 * cfs while running: no write is acknowledged that was submitted while its node was not quorate, and no two
 * acknowledged writes got the same cluster-wide version (two partitions each committing "write n": a split brain).
 */
export function checkCfsWrites(writes: readonly CfsWriteRecord[]): StackViolation[] {
  const out: StackViolation[] = [];
  const byVersion = new Map<number, CfsWriteRecord>();
  for (const w of writes) {
    if (!w.result?.ok) continue;
    if (!w.quorateAtSubmit) {
      out.push({
        invariant: 'cfs-inquorate-write',
        nodes: [w.node],
        detail: `node ${w.node}#${w.incarnation} acknowledged ${w.path}=${w.data} (version ${w.result.version}), submitted at ${w.submittedAt.toFixed(1)} ms while not quorate`,
      });
    }
    const other = byVersion.get(w.result.version);
    if (other && (other.path !== w.path || other.data !== w.data)) {
      out.push({
        invariant: 'cfs-version-conflict',
        nodes: [other.node, w.node],
        detail: `version ${w.result.version} acknowledged for ${other.path}=${other.data} (node ${other.node}) and ${w.path}=${w.data} (node ${w.node})`,
      });
    }
    byVersion.set(w.result.version, w);
  }
  return out;
}

/** Refusals that say the write is in no agreed history ("retry": not multicast, or dropped by every member). */
const NOT_APPLIED_CODES: ReadonlySet<string> = new Set(['syncing', 'not_quorate']);

/**
 * cfs at the stable end: every replica is identical, every acknowledged write is in it (its path holds that
 * write or a later one, never an older one or something else under its version), and no write refused as "not
 * applied" is in it (unless another submission of the same content was not refused so).
 */
export function checkCfsReplicas(writes: readonly CfsWriteRecord[], replicas: readonly CfsReplica[]): StackViolation[] {
  const out: StackViolation[] = [];
  const first = replicas[0];
  if (!first) return out;
  const text = (r: CfsReplica) => `${r.seq}:${r.entries.map((e) => `${e.path}@${e.version}=${e.data}`).join(' ')}`;
  for (const r of replicas.slice(1)) {
    if (text(r) !== text(first)) {
      out.push({
        invariant: 'cfs-replicas-differ',
        nodes: [first.node, r.node],
        detail: `node ${first.node} has ${text(first)}; node ${r.node} has ${text(r)}`,
      });
    }
  }
  const mayHold = new Set(
    writes.filter((w) => w.result?.ok !== false || !NOT_APPLIED_CODES.has(w.result.code)).map(contentKey),
  );
  for (const w of writes) {
    if (w.result?.ok !== false || !NOT_APPLIED_CODES.has(w.result.code) || mayHold.has(contentKey(w))) continue;
    const holder = replicas.find((r) => r.entries.some((e) => e.path === w.path && e.data === w.data));
    if (holder === undefined) continue;
    out.push({
      invariant: 'cfs-refused-applied',
      nodes: [w.node, holder.node],
      detail: `${w.path}=${w.data} refused "${w.result.code}" (not applied) by node ${w.node}#${w.incarnation}, but node ${holder.node} holds it`,
    });
  }
  for (const w of writes) {
    if (!w.result?.ok) continue;
    const version = w.result.version;
    for (const r of replicas) {
      const entry = r.entries.find((e) => e.path === w.path);
      const lost = !entry || entry.version < version || (entry.version === version && entry.data !== w.data);
      if (!lost) continue;
      out.push({
        invariant: 'cfs-ack-lost',
        nodes: [w.node, r.node],
        detail: `${w.path}=${w.data} acknowledged at version ${version} by node ${w.node}#${w.incarnation}, but node ${r.node} has ${entry ? `${entry.data} at version ${entry.version}` : 'no such file'}`,
      });
    }
  }
  return out;
}

const contentKey = (w: CfsWriteRecord) => `${w.path}\u0000${w.data}`;
