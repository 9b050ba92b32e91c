// Delivery traces of a simulated run as the EVS checkers read them (shape: docs/contracts.md, "Simulated cluster
// traces and the fuzz runner"), the violation record, and helpers shared by the checkers.

import type { Guarantee, RingId } from '../totem/types.ts';

/** One message delivered to the layer above Totem. `ringId` is the ring the message was sent in. */
export interface DeliverEntry {
  kind: 'deliver';
  sender: number;
  msgId: string;
  ringId: RingId;
  seq: number;
  guarantee: Guarantee;
}

/** One configuration change delivered to the layer above Totem (transitional carries the new ring's id). */
export interface ConfigEntry {
  kind: 'config';
  type: 'transitional' | 'regular';
  members: number[];
  ringId: RingId;
}

/** One entry of a node's delivery trace. */
export type TraceEntry = DeliverEntry | ConfigEntry;

/** Everything one incarnation of a node delivered and submitted; a restart starts a new incarnation. */
export interface NodeTrace {
  node: number;
  incarnation: number;
  entries: TraceEntry[];
  submitted: { msgId: string; guarantee: Guarantee }[];
  ended: 'alive' | 'crashed';
}

/** Names of the checked invariants. */
export type InvariantName =
  | 'well-formed'
  | 'no-duplication'
  | 'no-creation'
  | 'self-delivery'
  | 'sender-fifo'
  | 'total-order'
  | 'ring-seq'
  | 'delivery-ring'
  | 'virtual-synchrony'
  | 'safe-delivery'
  | 'ring-id-monotonic'
  | 'membership-agreement'
  | 'convergence'
  | 'liveness-delivery'
  | 'exception'
  | 'assertion'
  | 'work-budget';

/** One broken invariant: which, where (node ids), which messages, and a human-readable explanation. */
export interface Violation {
  invariant: InvariantName;
  nodes: number[];
  messages: string[];
  detail: string;
}

/** `node#incarnation`, used in violation details. */
export function traceLabel(trace: NodeTrace): string {
  return `${trace.node}#${trace.incarnation}`;
}

/** Ring id as corosync prints it (`rep.seq`, hex seq). */
export function formatRingId(ringId: RingId): string {
  return `${ringId.rep}.${ringId.seq.toString(16)}`;
}

/** True when both name the same ring. */
export function sameRingId(a: RingId, b: RingId): boolean {
  return a.rep === b.rep && a.seq === b.seq;
}

/** Map key of a ring id. */
export function ringKey(ringId: RingId): string {
  return `${ringId.rep}.${ringId.seq}`;
}

/** The `deliver` entries of a trace, in order. */
export function deliveries(trace: NodeTrace): DeliverEntry[] {
  return trace.entries.filter((entry): entry is DeliverEntry => entry.kind === 'deliver');
}

/** Builds a violation naming the (distinct) nodes of `traces`. */
export function violation(
  invariant: InvariantName,
  traces: NodeTrace[],
  messages: string[],
  detail: string,
): Violation {
  return { invariant, nodes: [...new Set(traces.map((trace) => trace.node))], messages, detail };
}

/** A stretch of a trace between two consecutive configuration changes. */
export interface Segment {
  trace: NodeTrace;
  start: ConfigEntry;
  end: ConfigEntry | undefined;
  messages: DeliverEntry[];
}

/** Cuts a trace at every configuration change. */
export function segments(trace: NodeTrace): Segment[] {
  const out: Segment[] = [];
  let current: Segment | undefined;
  for (const entry of trace.entries) {
    if (entry.kind === 'deliver') {
      current?.messages.push(entry);
      continue;
    }
    if (current) current.end = entry;
    current = { trace, start: entry, end: undefined, messages: [] };
    out.push(current);
  }
  return out;
}

/**
 * Identity of a configuration: nodes coming from different old rings install transitional configurations with
 * the same new ring id but different members — different configurations in EVS terms.
 */
export function configKey(config: ConfigEntry): string {
  return `${config.type}:${ringKey(config.ringId)}:[${[...config.members].sort((a, b) => a - b).join(' ')}]`;
}
