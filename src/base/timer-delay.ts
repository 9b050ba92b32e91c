/**
 * The setTimeout delay for a driver's timer at a core's deadline (ms on the `performance.now()` clock): it fires at
 * the deadline or just after it, never before. Node counts a timer from the event loop's cached time, truncated to
 * whole ms and taken when the loop last woke, so `deadline − now` fires up to a ms or so early: the tick finds
 * nothing due and re-arms for 1 ms — a second wake-up for one deadline (an idle daemon's strace: 56 of its 306
 * timer wake-ups in 10 s were such 1 ms re-arms; docs/benchmarks.md *Idle cost*).
 */

/** Whole ms added to the rounded-up delay: covers the loop time's truncation. */
const TIMER_SLACK_MS = 1;
/** Longest single timer delay; a core with a far deadline is simply ticked again later. */
const TIMER_DELAY_MS_MAX = 60_000;

export function timerDelayMs(deadline: number, now: number): number {
  return Math.min(TIMER_DELAY_MS_MAX, Math.max(0, Math.ceil(deadline - now)) + TIMER_SLACK_MS);
}
