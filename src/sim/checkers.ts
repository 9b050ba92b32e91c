// Extended virtual synchrony (EVS) invariant checkers over the delivery traces of a simulated run.
//
// Sources: Moser, Amir, Melliar-Smith, Agarwal, "Extended Virtual Synchrony" (ICDCS 1994) and the Totem TOCS
// paper §2 (reference doc §3.5). Each checker reads the per-incarnation traces (shape in docs/contracts.md,
// "Simulated cluster traces") and returns typed violations; an empty list means the run kept the invariant.
// Corosync implements 'safe' as 'agreed'; the safe-delivery checker only judges messages delivered as 'safe'.
//
// This module runs them all; the checkers live in message-checkers.ts and configuration-checkers.ts, the trace
// types in trace.ts.

import {
  checkMembershipAgreement,
  checkRingIdMonotonic,
  checkSafeDelivery,
  checkVirtualSynchrony,
  checkWellFormed,
} from './configuration-checkers.ts';
import {
  checkDeliveryRing,
  checkNoCreation,
  checkNoDuplication,
  checkRingSeq,
  checkSelfDelivery,
  checkSenderFifo,
  checkTotalOrder,
} from './message-checkers.ts';
import type { InvariantName, NodeTrace, Violation } from './trace.ts';

export * from './configuration-checkers.ts';
export * from './message-checkers.ts';
export * from './trace.ts';

/** Options of {@link checkTraces}. */
export interface CheckOptions {
  /**
   * The run ended converged with every queue drained: also check self-delivery, and that live nodes in the same
   * last configuration delivered the same messages in it.
   */
  quiescent: boolean;
}

/** Upper bound on violations reported per invariant, so a badly broken run still prints a short report. */
export const VIOLATIONS_PER_INVARIANT_MAX = 20;

/** Runs every checker; returns all violations (at most {@link VIOLATIONS_PER_INVARIANT_MAX} per invariant). */
export function checkTraces(traces: readonly NodeTrace[], options: CheckOptions): Violation[] {
  const found = [
    ...checkWellFormed(traces),
    ...checkNoDuplication(traces),
    ...checkNoCreation(traces),
    ...checkSenderFifo(traces),
    ...checkTotalOrder(traces),
    ...checkRingSeq(traces),
    ...checkDeliveryRing(traces),
    ...checkVirtualSynchrony(traces, options.quiescent),
    ...checkSafeDelivery(traces),
    ...checkRingIdMonotonic(traces),
    ...checkMembershipAgreement(traces),
    ...(options.quiescent ? checkSelfDelivery(traces) : []),
  ];
  const perInvariant = new Map<InvariantName, number>();
  return found.filter((violation) => {
    const count = (perInvariant.get(violation.invariant) ?? 0) + 1;
    perInvariant.set(violation.invariant, count);
    return count <= VIOLATIONS_PER_INVARIANT_MAX;
  });
}
