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

/**
 * One timer kept at a core's deadline, later as well as earlier: a timer left at a deadline the core has moved
 * later (Totem at every token visit, the transport when an awaited pong came) wakes the process for a tick that
 * finds nothing due, ≈ 50 µs all-in, where moving it costs a clearTimeout and a setTimeout, ≈ 0.3 µs. `onDue`
 * runs in the check phase (setImmediate), after the poll phase has read the input that queued up while this
 * process was not running: a timer that fires late must not judge by state still sitting in a socket.
 */
export class DeadlineTimer {
  private timer: NodeJS.Timeout | undefined;
  private at = Number.POSITIVE_INFINITY;

  constructor(
    private readonly onDue: () => void,
    private readonly clock: () => number,
  ) {}

  /** Due at `deadline` (ms on `clock`; infinite: not due). */
  set(deadline: number): void {
    if (deadline === this.at) return;
    this.clear();
    this.at = deadline;
    if (!Number.isFinite(deadline)) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.at = Number.POSITIVE_INFINITY;
        setImmediate(this.onDue);
      },
      timerDelayMs(deadline, this.clock()),
    );
  }

  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.at = Number.POSITIVE_INFINITY;
  }
}
