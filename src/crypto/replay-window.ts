/** Width of the replay window in packets: a counter this far behind the highest seen is rejected. */
export const REPLAY_WINDOW_PACKETS = 1024;

const BITS_PER_WORD = 32;
const WINDOW_WORDS = REPLAY_WINDOW_PACKETS / BITS_PER_WORD;

/**
 * Sliding-bitmap replay window over one sender's packet counters (RFC 4303 §3.4.3 style).
 * `check` is side-effect free so it can run before authentication; `commit` records a counter only after the
 * packet authenticated, so forged packets can never move the window.
 */
export class ReplayWindow {
  private highest = -1;
  private readonly seen = new Uint32Array(WINDOW_WORDS);

  /** True when `counter` was not seen yet and is not older than the window. */
  check(counter: number): boolean {
    if (counter > this.highest) return true;
    if (counter <= this.highest - REPLAY_WINDOW_PACKETS) return false;
    return !this.isSeen(counter);
  }

  /** Records `counter` as seen (call only after `check` returned true and the packet authenticated). */
  commit(counter: number): void {
    if (counter > this.highest) {
      this.clearRange(this.highest + 1, counter);
      this.highest = counter;
    }
    const bit = counter % REPLAY_WINDOW_PACKETS;
    this.seen[bit >>> 5]! |= 1 << (bit & 31);
  }

  private isSeen(counter: number): boolean {
    const bit = counter % REPLAY_WINDOW_PACKETS;
    return (this.seen[bit >>> 5]! & (1 << (bit & 31))) !== 0;
  }

  /** Clears the bits of counters first..last (inclusive) — slots reused from counters that left the window. */
  private clearRange(first: number, last: number): void {
    if (last - first + 1 >= REPLAY_WINDOW_PACKETS) {
      this.seen.fill(0);
      return;
    }
    for (let counter = first; counter <= last; counter++) {
      const bit = counter % REPLAY_WINDOW_PACKETS;
      this.seen[bit >>> 5]! &= ~(1 << (bit & 31));
    }
  }
}
