/**
 * The per-visit rules of the ORF token (TOCS §3; corosync `message_handler_orf_token`, `orf_token_rtr`,
 * `fcc_calculate`, `fcc_token_update`), as pure functions over the token (mutated in place) and my ring log.
 */
import { type McastMessage, RETRANSMIT_ENTRIES_MAX, type TokenMessage } from './messages.ts';
import type { RingLog } from './ring-log.ts';

/** Most messages in flight on a ring (corosync's sort-queue window, QUEUE_RTR_ITEMS_SIZE_MAX). */
export const SORT_QUEUE_WINDOW = 16384;

/** Removes from the retransmit list the seqs I hold and returns those messages, to be re-multicast. */
export function takeRetransmissions(token: TokenMessage, ring: RingLog): McastMessage[] {
  const held: McastMessage[] = [];
  const stillMissing: number[] = [];
  for (const seq of token.rtr) {
    const message = ring.get(seq);
    if (message) held.push(message);
    else stillMissing.push(seq);
  }
  token.rtr = stillMissing;
  return held;
}

/**
 * Appends my gaps among seqs ≤ `assignedBefore` (assigned at least one rotation ago, so not merely in flight) to the
 * retransmit list, up to its bound; returns the seqs added.
 */
export function requestMissing(token: TokenMessage, ring: RingLog, assignedBefore: number): number[] {
  const room = RETRANSMIT_ENTRIES_MAX - token.rtr.length;
  const missing = ring.missing(Math.min(token.seq, assignedBefore), RETRANSMIT_ENTRIES_MAX);
  const added = missing.filter((seq) => !token.rtr.includes(seq)).slice(0, room);
  token.rtr.push(...added);
  return added;
}

/** New messages I may send this visit: per-visit limit, ring-wide window, sort-queue window. */
export function allowedMessages(
  token: TokenMessage,
  limits: { maxMessages: number; windowSize: number },
  retransmittedNow: number,
): number {
  const window = limits.windowSize - token.fcc;
  const queueRoom = token.aru + SORT_QUEUE_WINDOW - token.seq;
  return Math.max(0, Math.min(limits.maxMessages - retransmittedNow, window, queueRoom));
}

/**
 * Flow-control memory: `fcc` ≈ messages sent ring-wide during the last rotation, `backlog` ≈ messages queued
 * ring-wide; each node replaces its own previous contribution.
 */
export function updateFlowControl(
  token: TokenMessage,
  mine: { sentNow: number; sentLastVisit: number; backlogNow: number; backlogLastVisit: number },
): void {
  token.fcc = Math.max(0, token.fcc + mine.sentNow - mine.sentLastVisit);
  token.backlog = Math.max(0, token.backlog + mine.backlogNow - mine.backlogLastVisit);
}

/** aru rule: lower it to mine; raise it only if I lowered it (or nobody did); aruAddr 0 when aru = seq. */
export function updateAru(token: TokenMessage, myAru: number, me: number): void {
  if (myAru < token.aru || token.aruAddr === me || token.aruAddr === 0) {
    token.aru = myAru;
    token.aruAddr = token.aru === token.seq ? 0 : me;
  }
}
