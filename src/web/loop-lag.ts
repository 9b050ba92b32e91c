/**
 * Event-loop lag of this thread, for `corolink_event_loop_lag_seconds` (docs/metrics.md): a timer due every
 * LOOP_LAG_INTERVAL_MS reports how late it ran. A loop stalled for D ms (a long request, a GC pause) shows as one
 * lag of at least D − LOOP_LAG_INTERVAL_MS. (perf_hooks.monitorEventLoopDelay was tried first: on Node 20 it
 * recorded 2 samples in 100 ms at a 20 ms resolution and only 40 ms for a 150 ms block.)
 */
import { isMainThread, threadId } from 'node:worker_threads';

/** How often the lag is sampled: 20 timer wake-ups a second, a few µs each. */
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
    this.dueAtMs = performance.now() + LOOP_LAG_INTERVAL_MS;
    this.timer = setTimeout(() => this.fire(), LOOP_LAG_INTERVAL_MS);
    this.timer.unref();
  }

  private fire(): void {
    if (this.timer === undefined) return;
    this.observe(Math.max(0, performance.now() - this.dueAtMs) / 1000);
    this.arm();
  }
}
