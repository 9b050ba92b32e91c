/**
 * Rate-limited logging of repeated events (refusals, accept errors, packets failing authentication): the first of
 * a kind is logged at once, the rest are counted and summed up in one line per interval, so a flood of refusals
 * cannot flush the in-memory log (docs/security.md).
 */
import { REFUSAL_LOG_INTERVAL_MS } from './limits.ts';

interface Pending {
  /** Occurrences since the last line about this key. */
  count: number;
  summary: (count: number, seconds: number) => string;
}

export class LogSummary {
  private readonly pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly emit: (message: string) => void,
    private readonly intervalMs = REFUSAL_LOG_INTERVAL_MS,
  ) {}

  /**
   * One event of kind `key`: logged as `message` when the key was quiet for the last interval; otherwise counted,
   * and `summary(count, seconds)` is logged at the end of the interval.
   */
  note(key: string, message: string, summary: (count: number, seconds: number) => string): void {
    const known = this.pending.get(key);
    if (known !== undefined) {
      known.count++;
      known.summary = summary;
      return;
    }
    this.emit(message);
    this.pending.set(key, { count: 0, summary });
    this.timer ??= setTimeout(() => this.flush(), this.intervalMs).unref();
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private flush(): void {
    this.timer = undefined;
    for (const [key, entry] of this.pending) {
      if (entry.count === 0) {
        this.pending.delete(key);
        continue;
      }
      this.emit(entry.summary(entry.count, Math.round(this.intervalMs / 1000)));
      entry.count = 0;
    }
    if (this.pending.size > 0) this.timer = setTimeout(() => this.flush(), this.intervalMs).unref();
  }
}
