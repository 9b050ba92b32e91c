/** What a receiving peer reports about the messages it got. */
export interface ReceiveSummary {
  /** Messages delivered, duplicates included. */
  delivered: number;
  /** Distinct sequence numbers delivered. */
  unique: number;
  duplicates: number;
  /** New sequence numbers that arrived after a higher one (a loss that was repaired late, or reordering). */
  outOfOrder: number;
  bytes: number;
  /** Time between the first and the last delivery. */
  spanMs: number;
  /** Longest time between two consecutive deliveries (since the last `mark`). */
  maxGapMs: number;
  /** Longest gap before the last `mark` (0 without a mark). */
  maxGapBeforeMarkMs: number;
  /** Highest sequence number delivered, −1 for none. */
  highest: number;
}

/** Counts delivered sequence numbers (duplicates, order, gaps) on the receiving side of a test stream. */
export class ReceiveTally {
  private seen = new Set<number>();
  private summaryState: ReceiveSummary = ReceiveTally.empty();
  private firstAt = 0;
  private lastAt = 0;

  constructor(private readonly clock: () => number) {}

  /** Forgets everything. */
  reset(): void {
    this.seen = new Set();
    this.summaryState = ReceiveTally.empty();
  }

  /** Records one delivered message; true when its sequence number is new. */
  record(seq: number, bytes: number): boolean {
    const now = this.clock();
    const state = this.summaryState;
    if (state.delivered === 0) this.firstAt = now;
    else state.maxGapMs = Math.max(state.maxGapMs, now - this.lastAt);
    this.lastAt = now;
    state.delivered++;
    state.bytes += bytes;
    state.spanMs = now - this.firstAt;
    if (this.seen.has(seq)) {
      state.duplicates++;
      return false;
    }
    this.seen.add(seq);
    state.unique++;
    if (seq < state.highest) state.outOfOrder++;
    state.highest = Math.max(state.highest, seq);
    return true;
  }

  /** Starts a new gap measurement: the gap so far moves to maxGapBeforeMarkMs. */
  mark(): void {
    this.summaryState.maxGapBeforeMarkMs = this.summaryState.maxGapMs;
    this.summaryState.maxGapMs = 0;
  }

  /** Distinct sequence numbers delivered so far. */
  get unique(): number {
    return this.summaryState.unique;
  }

  /** A copy of the counts. */
  summary(): ReceiveSummary {
    return { ...this.summaryState };
  }

  private static empty(): ReceiveSummary {
    return {
      delivered: 0,
      unique: 0,
      duplicates: 0,
      outOfOrder: 0,
      bytes: 0,
      spanMs: 0,
      maxGapMs: 0,
      maxGapBeforeMarkMs: 0,
      highest: -1,
    };
  }
}
