/** Ring id helpers (corosync prints a ring id as `rep.seq`, seq in hex — e.g. `1.2c`). */
import type { RingId } from './types.ts';

/** True when both ids name the same ring. */
export function sameRingId(a: RingId, b: RingId): boolean {
  return a.rep === b.rep && a.seq === b.seq;
}

/** `rep.seq` with seq in hex, as corosync logs it. */
export function formatRingId(ringId: RingId): string {
  return `${ringId.rep.toString(16)}.${ringId.seq.toString(16)}`;
}

/** The member after `nodeId` in ring order (ascending node ids, wrapping). */
export function successor(members: readonly number[], nodeId: number): number {
  const index = members.indexOf(nodeId);
  return members[(index + 1) % members.length]!;
}
