/**
 * Recovery planning (TOCS §4.3, corosync `memb_state_recovery_enter`): from the commit token's entries, find the
 * transitional set (members that come from my old ring) and which old-ring messages this node must re-send on the
 * new ring so that every member of the transitional set ends up holding the same old-ring messages.
 *
 * Deviation: corosync makes every member re-send everything above the lowest aru; here a message is re-sent only by
 * holders that have no lower-id transitional member whose aru already covers it (that member re-sends it), which
 * sends each old message about once.
 */
import type { CommitEntry } from './messages.ts';
import { sameRingId } from './ring-id.ts';
import type { RingLog } from './ring-log.ts';

/** What the recovery of one old ring needs from this node. */
export interface RecoveryPlan {
  /** Members of the new ring that share my old ring (ascending); empty when I had no ring. */
  transitional: number[];
  /** Highest seq every transitional member already holds. */
  lowAru: number;
  /** Highest old-ring seq any transitional member received. */
  highSeq: number;
  /** Highest seq any transitional member delivered in the old regular configuration. */
  maxDelivered: number;
  /** Old-ring seqs this node re-sends on the new ring. */
  resend: number[];
}

/** Plans the recovery of my old ring `log` (null: I had none) from the commit token entries. */
export function planRecovery(me: number, log: RingLog | null, entries: readonly CommitEntry[]): RecoveryPlan {
  if (!log) return { transitional: [], lowAru: 0, highSeq: 0, maxDelivered: 0, resend: [] };
  const group = entries.filter((entry) => entry.oldRingId !== null && sameRingId(entry.oldRingId, log.ringId));
  const lowAru = Math.min(...group.map((entry) => entry.aru));
  const highSeq = Math.max(...group.map((entry) => entry.highSeq));
  const maxDelivered = Math.max(...group.map((entry) => entry.highDelivered));
  const resend: number[] = [];
  for (let seq = lowAru + 1; seq <= log.highSeq; seq++) {
    const coveredByLowerId = group.some((entry) => entry.nodeId < me && entry.aru >= seq);
    if (log.get(seq) && !coveredByLowerId) resend.push(seq);
  }
  return { transitional: group.map((entry) => entry.nodeId), lowAru, highSeq, maxDelivered, resend };
}
