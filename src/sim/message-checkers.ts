// Message-level EVS checkers: each message delivered at most once, only if multicast, back to its sender, in its
// sender's order, in one total order, at the same ring seq everywhere, in the configuration it was sent in.

import {
  type ConfigEntry,
  deliveries,
  formatRingId,
  type NodeTrace,
  ringKey,
  sameRingId,
  traceLabel,
  type Violation,
  violation,
} from './trace.ts';

/** No incarnation delivers a message twice. */
export function checkNoDuplication(traces: readonly NodeTrace[]): Violation[] {
  const out: Violation[] = [];
  for (const trace of traces) {
    const seen = new Set<string>();
    for (const entry of deliveries(trace)) {
      if (seen.has(entry.msgId)) {
        out.push(
          violation('no-duplication', [trace], [entry.msgId], `${traceLabel(trace)} delivered ${entry.msgId} twice`),
        );
      }
      seen.add(entry.msgId);
    }
  }
  return out;
}

/** Every delivered message was multicast, by the node named as its sender. */
export function checkNoCreation(traces: readonly NodeTrace[]): Violation[] {
  const submitter = new Map<string, number>();
  for (const trace of traces) for (const sent of trace.submitted) submitter.set(sent.msgId, trace.node);
  const out: Violation[] = [];
  for (const trace of traces) {
    for (const entry of deliveries(trace)) {
      const origin = submitter.get(entry.msgId);
      if (origin === entry.sender) continue;
      const why = origin === undefined ? 'which nobody multicast' : `multicast by ${origin}`;
      out.push(
        violation(
          'no-creation',
          [trace],
          [entry.msgId],
          `${traceLabel(trace)} delivered ${entry.msgId} from ${entry.sender}, ${why}`,
        ),
      );
    }
  }
  return out;
}

/** An incarnation still alive at the end of a converged run has delivered every message it multicast. */
export function checkSelfDelivery(traces: readonly NodeTrace[]): Violation[] {
  const out: Violation[] = [];
  for (const trace of traces) {
    if (trace.ended !== 'alive') continue;
    const delivered = new Set(deliveries(trace).map((entry) => entry.msgId));
    const missing = trace.submitted.filter((sent) => !delivered.has(sent.msgId)).map((sent) => sent.msgId);
    if (missing.length > 0) {
      out.push(
        violation(
          'self-delivery',
          [trace],
          missing,
          `${traceLabel(trace)} never delivered ${missing.length} of its own messages`,
        ),
      );
    }
  }
  return out;
}

/** Messages of one sender incarnation are delivered in the order it multicast them (gaps allowed). */
export function checkSenderFifo(traces: readonly NodeTrace[]): Violation[] {
  const position = new Map<string, { origin: NodeTrace; index: number }>();
  for (const trace of traces) {
    trace.submitted.forEach((sent, index) => {
      position.set(sent.msgId, { origin: trace, index });
    });
  }
  const out: Violation[] = [];
  for (const trace of traces) {
    const lastIndex = new Map<NodeTrace, { index: number; msgId: string }>();
    for (const entry of deliveries(trace)) {
      const sent = position.get(entry.msgId);
      if (!sent) continue;
      const previous = lastIndex.get(sent.origin);
      if (previous && previous.index > sent.index) {
        out.push(
          violation(
            'sender-fifo',
            [trace, sent.origin],
            [previous.msgId, entry.msgId],
            `${traceLabel(trace)} delivered ${previous.msgId} before ${entry.msgId}, sent in the other order by ${traceLabel(sent.origin)}`,
          ),
        );
      }
      lastIndex.set(sent.origin, { index: Math.max(previous?.index ?? -1, sent.index), msgId: entry.msgId });
    }
  }
  return out;
}

/** Every pair of incarnations delivers their common messages in the same order, and one global order exists. */
export function checkTotalOrder(traces: readonly NodeTrace[]): Violation[] {
  const out = checkPairwiseOrder(traces);
  return out.length > 0 ? out : checkGlobalOrder(traces);
}

function checkPairwiseOrder(traces: readonly NodeTrace[]): Violation[] {
  const positions = traces.map((trace) => new Map(deliveries(trace).map((entry, index) => [entry.msgId, index])));
  const out: Violation[] = [];
  for (let a = 0; a < traces.length; a++) {
    for (let b = a + 1; b < traces.length; b++) {
      let lastPosition = -1;
      let lastMsgId = '';
      for (const entry of deliveries(traces[a]!)) {
        const position = positions[b]!.get(entry.msgId);
        if (position === undefined) continue;
        if (position < lastPosition) {
          out.push(
            violation(
              'total-order',
              [traces[a]!, traces[b]!],
              [lastMsgId, entry.msgId],
              `${traceLabel(traces[a]!)} delivered ${lastMsgId} before ${entry.msgId}, ${traceLabel(traces[b]!)} the other way round`,
            ),
          );
          break;
        }
        lastPosition = position;
        lastMsgId = entry.msgId;
      }
    }
  }
  return out;
}

/** The union of all delivery orders must be acyclic (three nodes can disagree pairwise-consistently). */
function checkGlobalOrder(traces: readonly NodeTrace[]): Violation[] {
  const successors = new Map<string, Set<string>>();
  const predecessors = new Map<string, Set<string>>();
  const edgeOwner = new Map<string, NodeTrace>();
  const link = (map: Map<string, Set<string>>, from: string, to: string) => {
    const set = map.get(from) ?? new Set<string>();
    set.add(to);
    map.set(from, set);
  };
  for (const trace of traces) {
    const ids = deliveries(trace).map((entry) => entry.msgId);
    for (let i = 1; i < ids.length; i++) {
      const [from, to] = [ids[i - 1]!, ids[i]!];
      if (from === to || successors.get(from)?.has(to)) continue; // a self-loop is a duplicate, reported elsewhere
      link(successors, from, to);
      link(predecessors, to, from);
      edgeOwner.set(`${from}\u0000${to}`, trace);
    }
  }
  const inDegree = new Map([...predecessors].map(([id, from]) => [id, from.size]));
  const ready = [...successors.keys()].filter((id) => !inDegree.has(id));
  while (ready.length > 0) {
    for (const next of successors.get(ready.pop()!) ?? []) {
      const degree = inDegree.get(next)! - 1;
      inDegree.set(next, degree);
      if (degree === 0) ready.push(next);
    }
  }
  const leftOver = new Set([...inDegree].filter(([, degree]) => degree > 0).map(([id]) => id));
  if (leftOver.size === 0) return [];
  const cycle = findCycle(leftOver, predecessors);
  const owners = cycle.map((id, i) => edgeOwner.get(`${id}\u0000${cycle[(i + 1) % cycle.length]}`)!);
  return [
    violation(
      'total-order',
      owners,
      cycle,
      `no global total order: the traces of ${[...new Set(owners.map(traceLabel))].join(', ')} order ${cycle.join(' < ')} < ${cycle[0]}`,
    ),
  ];
}

/**
 * Every message left over by the topological sort has a left-over predecessor, so walking predecessors must
 * repeat a message; returns that cycle in delivery order.
 */
function findCycle(leftOver: Set<string>, predecessors: Map<string, Set<string>>): string[] {
  const path: string[] = [];
  const onPath = new Map<string, number>();
  let current = leftOver.values().next().value!;
  while (!onPath.has(current)) {
    onPath.set(current, path.length);
    path.push(current);
    current = [...predecessors.get(current)!].find((previous) => leftOver.has(previous))!;
  }
  return path.slice(onPath.get(current)).reverse();
}

/** Within one ring, seq numbers increase along every trace and name the same message at every node. */
export function checkRingSeq(traces: readonly NodeTrace[]): Violation[] {
  const out: Violation[] = [];
  const messageAt = new Map<string, { msgId: string; trace: NodeTrace }>();
  for (const trace of traces) {
    const lastSeq = new Map<string, number>();
    for (const entry of deliveries(trace)) {
      const ring = ringKey(entry.ringId);
      const previous = lastSeq.get(ring);
      if (previous !== undefined && entry.seq <= previous) {
        out.push(
          violation(
            'ring-seq',
            [trace],
            [entry.msgId],
            `${traceLabel(trace)} delivered seq ${entry.seq} after seq ${previous} in ring ${formatRingId(entry.ringId)}`,
          ),
        );
      }
      lastSeq.set(ring, entry.seq);
      const slot = `${ring}/${entry.seq}`;
      const other = messageAt.get(slot);
      if (other && other.msgId !== entry.msgId) {
        out.push(
          violation(
            'ring-seq',
            [trace, other.trace],
            [other.msgId, entry.msgId],
            `ring ${formatRingId(entry.ringId)} seq ${entry.seq} is ${other.msgId} at ${traceLabel(other.trace)} but ${entry.msgId} at ${traceLabel(trace)}`,
          ),
        );
      }
      if (!other) messageAt.set(slot, { msgId: entry.msgId, trace });
    }
  }
  return out;
}

/** A message is delivered in the configuration it was sent in (or in that configuration's transitional one). */
export function checkDeliveryRing(traces: readonly NodeTrace[]): Violation[] {
  const out: Violation[] = [];
  for (const trace of traces) {
    let regular: ConfigEntry | undefined;
    for (const entry of trace.entries) {
      if (entry.kind === 'config') {
        if (entry.type === 'regular') regular = entry;
        continue;
      }
      if (regular && !sameRingId(regular.ringId, entry.ringId)) {
        out.push(
          violation(
            'delivery-ring',
            [trace],
            [entry.msgId],
            `${traceLabel(trace)} delivered ${entry.msgId} of ring ${formatRingId(entry.ringId)} in configuration ${formatRingId(regular.ringId)}`,
          ),
        );
      }
    }
  }
  return out;
}
