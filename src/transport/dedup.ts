/**
 * Per-source duplicate filter over the wrapping 32-bit message sequence numbers.
 *
 * knet keeps a 4096-entry circular buffer per host and drops data "already delivered"; that is what makes
 * `active` mode (and corolink's urgent traffic on every link) safe. Same here: a bitmap of the last
 * DEDUP_WINDOW_SEQS sequence numbers below the highest one seen. Anything older than the window is 'stale'
 * (dropped: it cannot be told apart from a duplicate). A sender restart is detected by the transport through
 * the header's incarnation, which resets this filter.
 */
import { seqDistance } from '../wire/sequence.ts';
import { DEDUP_WINDOW_SEQS } from './limits.ts';

const WORD_BITS = 32;

/** What the filter says about a sequence number. */
export type SeqVerdict = 'new' | 'duplicate' | 'stale';

/** Remembers which sequence numbers of one source were delivered, within a bounded window. */
export class DeliveredWindow {
  private highest: number | null = null;
  private readonly bits = new Uint32Array(DEDUP_WINDOW_SEQS / WORD_BITS);

  /** Whether `seq` was already delivered (without recording it). */
  check(seq: number): SeqVerdict {
    if (this.highest === null) return 'new';
    const distance = seqDistance(seq, this.highest);
    if (distance > 0) return 'new';
    if (distance <= -DEDUP_WINDOW_SEQS) return 'stale';
    return this.isSet(seq) ? 'duplicate' : 'new';
  }

  /** Records `seq` as delivered. Call only after check(seq) === 'new'. */
  mark(seq: number): void {
    if (this.highest === null) {
      this.highest = seq;
    } else {
      const distance = seqDistance(seq, this.highest);
      if (distance > 0) {
        this.clearAfterHighest(distance);
        this.highest = seq;
      }
    }
    const slot = seq & (DEDUP_WINDOW_SEQS - 1);
    this.bits[slot >>> 5]! |= 1 << (slot & (WORD_BITS - 1));
  }

  /** Forgets everything (host down, sender restarted). */
  reset(): void {
    this.highest = null;
    this.bits.fill(0);
  }

  private isSet(seq: number): boolean {
    const slot = seq & (DEDUP_WINDOW_SEQS - 1);
    return (this.bits[slot >>> 5]! & (1 << (slot & (WORD_BITS - 1)))) !== 0;
  }

  /** Clears the slots of the `distance` sequence numbers after the current highest (they are about to be reused). */
  private clearAfterHighest(distance: number): void {
    if (distance >= DEDUP_WINDOW_SEQS) {
      this.bits.fill(0);
      return;
    }
    const highest = this.highest ?? 0;
    for (let step = 1; step <= distance; step++) {
      const slot = (highest + step) & (DEDUP_WINDOW_SEQS - 1);
      this.bits[slot >>> 5]! &= ~(1 << (slot & (WORD_BITS - 1)));
    }
  }
}
