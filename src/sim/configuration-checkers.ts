// Configuration-level EVS checkers (well-formed configuration sequences, virtual synchrony, safe delivery, ring id
// order, membership agreement) and the liveness checkers of a healed run.

import type { RingId } from '../totem/types.ts';
import {
  type ConfigEntry,
  configKey,
  type DeliverEntry,
  deliveries,
  formatRingId,
  type NodeTrace,
  ringKey,
  type Segment,
  sameRingId,
  segments,
  traceLabel,
  type Violation,
  violation,
} from './trace.ts';

/** Deliveries only inside a configuration; a transitional configuration is followed by its regular one. */
export function checkWellFormed(traces: readonly NodeTrace[]): Violation[] {
  const out: Violation[] = [];
  for (const trace of traces) {
    let seenRegular = false;
    let openTransitional: ConfigEntry | undefined;
    for (const entry of trace.entries) {
      if (entry.kind === 'deliver') {
        if (!seenRegular) {
          out.push(
            violation(
              'well-formed',
              [trace],
              [entry.msgId],
              `${traceLabel(trace)} delivered before any regular configuration`,
            ),
          );
        }
        continue;
      }
      if (entry.type === 'transitional') {
        if (!seenRegular || openTransitional) {
          out.push(
            violation(
              'well-formed',
              [trace],
              [],
              `${traceLabel(trace)} transitional ${formatRingId(entry.ringId)} without a preceding regular configuration`,
            ),
          );
        }
        openTransitional = entry;
        continue;
      }
      if (openTransitional && !sameRingId(openTransitional.ringId, entry.ringId)) {
        out.push(
          violation(
            'well-formed',
            [trace],
            [],
            `${traceLabel(trace)} transitional ${formatRingId(openTransitional.ringId)} followed by regular ${formatRingId(entry.ringId)}`,
          ),
        );
      }
      if (seenRegular && !openTransitional) {
        out.push(
          violation(
            'well-formed',
            [trace],
            [],
            `${traceLabel(trace)} regular ${formatRingId(entry.ringId)} without a transitional configuration before it`,
          ),
        );
      }
      seenRegular = true;
      openTransitional = undefined;
    }
  }
  return out;
}

/**
 * Nodes that install the same two consecutive configurations deliver the same set of messages between them
 * (covers "configuration changes are delivered at the same place in the message stream"). With `quiescent`,
 * live nodes whose last configuration is the same count as moving together to the end of the run.
 */
export function checkVirtualSynchrony(traces: readonly NodeTrace[], quiescent: boolean): Violation[] {
  const byKey = new Map<string, Segment>();
  const out: Violation[] = [];
  for (const trace of traces) {
    for (const segment of segments(trace)) {
      const endKey = segment.end ? configKey(segment.end) : quiescent && trace.ended === 'alive' ? 'end of run' : '';
      if (!endKey) continue;
      const key = `${configKey(segment.start)} -> ${endKey}`;
      const first = byKey.get(key);
      if (!first) {
        byKey.set(key, segment);
        continue;
      }
      const mine = new Set(segment.messages.map((entry) => entry.msgId));
      const theirs = new Set(first.messages.map((entry) => entry.msgId));
      const differ = [...mine].filter((id) => !theirs.has(id)).concat([...theirs].filter((id) => !mine.has(id)));
      if (differ.length > 0) {
        out.push(
          violation(
            'virtual-synchrony',
            [first.trace, trace],
            differ,
            `${traceLabel(first.trace)} and ${traceLabel(trace)} both went ${key} but delivered different messages in between`,
          ),
        );
      }
    }
  }
  return out;
}

/**
 * A message delivered as safe in a configuration was received by all its members: every member that installs
 * that configuration and lives on to a later configuration change delivers it before its next regular one.
 */
export function checkSafeDelivery(traces: readonly NodeTrace[]): Violation[] {
  const installs = new Map<string, { trace: NodeTrace; delivered: Set<string>; closed: boolean }[]>();
  const safe: { config: ConfigEntry; entry: DeliverEntry; trace: NodeTrace }[] = [];
  for (const trace of traces) {
    const all = segments(trace);
    all.forEach((segment, index) => {
      const key = configKey(segment.start);
      const delivered = new Set<string>();
      let closed = false;
      for (let i = index; i < all.length; i++) {
        for (const entry of all[i]!.messages) delivered.add(entry.msgId);
        const end = all[i]!.end;
        if (!end) break;
        closed = true;
        if (end.type === 'regular') break;
      }
      const list = installs.get(key) ?? [];
      list.push({ trace, delivered, closed });
      installs.set(key, list);
      for (const entry of segment.messages)
        if (entry.guarantee === 'safe') safe.push({ config: segment.start, entry, trace });
    });
  }
  const out: Violation[] = [];
  for (const { config, entry, trace } of safe) {
    const missing = (installs.get(configKey(config)) ?? []).filter(
      (member) => member.closed && !member.delivered.has(entry.msgId),
    );
    if (missing.length > 0) {
      out.push(
        violation(
          'safe-delivery',
          [trace, ...missing.map((member) => member.trace)],
          [entry.msgId],
          `${traceLabel(trace)} delivered ${entry.msgId} as safe in ${configKey(config)}, but ${missing.map((member) => traceLabel(member.trace)).join(', ')} did not`,
        ),
      );
    }
  }
  return out;
}

/** Regular ring ids strictly increase along every trace. */
export function checkRingIdMonotonic(traces: readonly NodeTrace[]): Violation[] {
  const out: Violation[] = [];
  for (const trace of traces) {
    let previous: RingId | undefined;
    for (const entry of trace.entries) {
      if (entry.kind !== 'config' || entry.type !== 'regular') continue;
      if (previous && entry.ringId.seq <= previous.seq) {
        out.push(
          violation(
            'ring-id-monotonic',
            [trace],
            [],
            `${traceLabel(trace)} installed ring ${formatRingId(entry.ringId)} after ring ${formatRingId(previous)}`,
          ),
        );
      }
      previous = entry.ringId;
    }
  }
  return out;
}

/**
 * Every node installing a regular configuration is a member and agrees on its members with every other node
 * installing it; a transitional set is a subset of both the regular configuration before and the one after.
 */
export function checkMembershipAgreement(traces: readonly NodeTrace[]): Violation[] {
  const out: Violation[] = [];
  const regularMembers = new Map<string, { members: string; trace: NodeTrace }>();
  for (const trace of traces) {
    let before: ConfigEntry | undefined;
    let transitional: ConfigEntry | undefined;
    for (const entry of trace.entries) {
      if (entry.kind !== 'config') continue;
      const where = `${traceLabel(trace)} ${entry.type} ${formatRingId(entry.ringId)} [${entry.members.join(' ')}]`;
      if (!entry.members.includes(trace.node))
        out.push(violation('membership-agreement', [trace], [], `${where} does not contain the node itself`));
      if (entry.type === 'transitional') {
        if (before && !isSubset(entry.members, before.members))
          out.push(
            violation(
              'membership-agreement',
              [trace],
              [],
              `${where} is not a subset of the previous regular configuration [${before.members.join(' ')}]`,
            ),
          );
        transitional = entry;
        continue;
      }
      if (transitional && !isSubset(transitional.members, entry.members))
        out.push(
          violation(
            'membership-agreement',
            [trace],
            [],
            `${where} does not contain the transitional set [${transitional.members.join(' ')}]`,
          ),
        );
      const members = [...entry.members].sort((a, b) => a - b).join(' ');
      const other = regularMembers.get(ringKey(entry.ringId));
      if (other && other.members !== members)
        out.push(
          violation(
            'membership-agreement',
            [trace, other.trace],
            [],
            `${where} but ${traceLabel(other.trace)} installed it as [${other.members}]`,
          ),
        );
      if (!other) regularMembers.set(ringKey(entry.ringId), { members, trace });
      before = entry;
      transitional = undefined;
    }
  }
  return out;
}

function isSubset(small: readonly number[], large: readonly number[]): boolean {
  return small.every((id) => large.includes(id));
}

/**
 * Liveness, after faults are healed: every expected node has a live incarnation whose latest configuration is one
 * regular ring of exactly the expected nodes, the same ring everywhere. Empty when converged.
 */
export function checkConvergence(traces: readonly NodeTrace[], expectedNodes: readonly number[]): Violation[] {
  const expected = [...expectedNodes].sort((a, b) => a - b).join(' ');
  const rings = new Set<string>();
  const out: Violation[] = [];
  for (const node of expectedNodes) {
    const trace = traces.find((candidate) => candidate.node === node && candidate.ended === 'alive');
    const last = trace?.entries.findLast((entry): entry is ConfigEntry => entry.kind === 'config');
    const members = last ? [...last.members].sort((a, b) => a - b).join(' ') : '';
    if (!trace || !last || last.type !== 'regular' || members !== expected) {
      const state = last ? `${last.type} ${formatRingId(last.ringId)} [${members}]` : 'no configuration';
      out.push({
        invariant: 'convergence',
        nodes: [node],
        messages: [],
        detail: `node ${node} is in ${state}, not in one ring of [${expected}]`,
      });
      continue;
    }
    rings.add(ringKey(last.ringId));
  }
  if (out.length === 0 && rings.size > 1) {
    out.push({
      invariant: 'convergence',
      nodes: [...expectedNodes],
      messages: [],
      detail: `nodes installed different rings ${[...rings].join(', ')}`,
    });
  }
  return out;
}

/** Liveness: every live incarnation delivered every message of `msgIds` (those multicast after healing). */
export function checkLivenessDelivery(traces: readonly NodeTrace[], msgIds: readonly string[]): Violation[] {
  const out: Violation[] = [];
  for (const trace of traces) {
    if (trace.ended !== 'alive') continue;
    const delivered = new Set(deliveries(trace).map((entry) => entry.msgId));
    const missing = msgIds.filter((id) => !delivered.has(id));
    if (missing.length > 0) {
      out.push(
        violation(
          'liveness-delivery',
          [trace],
          missing,
          `${traceLabel(trace)} did not deliver ${missing.length} messages multicast after healing`,
        ),
      );
    }
  }
  return out;
}
