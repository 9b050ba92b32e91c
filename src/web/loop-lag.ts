/**
 * Event-loop lag of this thread, for `corolink_event_loop_lag_seconds` (docs/metrics.md): a timer due every
 * LOOP_LAG_INTERVAL_MS reports how late it ran. A loop stalled for D ms (a long request, a GC pause) shows as one
 * lag of at least D − LOOP_LAG_INTERVAL_MS. (perf_hooks.monitorEventLoopDelay was tried first: on Node 20 it
 * recorded 2 samples in 100 ms at a 20 ms resolution and only 40 ms for a 150 ms block.)
 *
 * The timer is due on the wall-clock grid of multiples of the interval since the Unix epoch, the grid the
 * transport pings on (docs/transport.md § Pings on a shared grid), and armed like the transport's timer
 * (timerDelayMs): on a cluster pinging every 50 ms, libuv mostly runs both in one wake-up instead of waking the
 * loop 20 more times a second.
 */
import { isMainThread, threadId } from 'node:worker_threads';
import { gridInstantAfter, wallClockGridOriginMs } from '../base/time-grid.ts';
import { timerDelayMs } from '../base/timer-delay.ts';

/** How often the lag is sampled: 20 timer runs a second, a few µs each. */
export const LOOP_LAG_INTERVAL_MS = 50;

export class LoopLag {
  /** The `thread` label: `main`, or `worker-N`. */
  readonly thread = isMainThread ? 'main' : `worker-${threadId}`;
  private timer: NodeJS.Timeout | undefined;
  private dueAtMs = 0;

  /** Starts sampling; `observe` gets each lag in seconds. */
  constructor(private readonly observe: (lagSeconds: number) => void) {
    this.arm();
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    const now = performance.now();
    // The daemon's transport pings on the same grid.
    const delay = timerDelayMs(gridInstantAfter(now, LOOP_LAG_INTERVAL_MS, wallClockGridOriginMs()), now);
    this.dueAtMs = now + delay;
    this.timer = setTimeout(() => this.fire(), delay);
    this.timer.unref();
  }

  private fire(): void {
    if (this.timer === undefined) return;
    this.observe(Math.max(0, performance.now() - this.dueAtMs) / 1000);
    this.arm();
  }
}
