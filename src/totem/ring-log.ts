/**
 * The messages of one ring, indexed by seq (corosync's sort queue, TOCS §3): what arrived, the all-received-up-to
 * point (aru), the highest seq seen, what was delivered, and garbage collection of messages everyone holds.
 */
import { assert } from '../base/assert.ts';
import type { McastMessage } from './messages.ts';
import type { RingId } from './types.ts';

/** Slots a ring log starts with (a power of two); it doubles up to RING_LOG_SLOTS_MAX as the span held grows. */
const RING_LOG_SLOTS_MIN = 64;
/**
 * Most slots (a power of two): twice the sort-queue window (SORT_QUEUE_WINDOW in token.ts), so that every seq a
 * sender may assign is in a slot; a seq further ahead (only a faulty peer sends one) goes to `far`.
 */
export const RING_LOG_SLOTS_MAX = 32768;

/**
 * Messages of one ring and the receive/deliver positions in it. The messages are held in a ring of slots indexed by
 * seq (slot = seq mod slots, every held seq in (releasedUpTo, releasedUpTo + slots]): adding and releasing one
 * allocates nothing, where a Map reallocated its table as it grew and shrank with every message, and each table
 * lived long enough for V8 to move it to the old generation (docs/benchmarks.md, "the latency tail and the old
 * generation").
 */
export class RingLog {
  /** Every message with seq ≤ aru is (or was) here. */
  aru = 0;
  /** Highest seq received. */
  highSeq = 0;
  /** Highest seq delivered (or skipped, for recovery carriers). */
  highDelivered = 0;
  private releasedUpTo = 0;
  private slots: (McastMessage | undefined)[] = new Array(RING_LOG_SLOTS_MIN).fill(undefined);
  /** Messages in `slots`. */
  private inSlots = 0;
  /** Messages beyond the slots' reach (seq > releasedUpTo + RING_LOG_SLOTS_MAX), created when one arrives. */
  private far: Map<number, McastMessage> | null = null;

  /** A ring and its members (ascending: the token order). */
  constructor(
    readonly ringId: RingId,
    readonly members: readonly number[],
  ) {}

  /** Stores a message; false when it is a duplicate or was already released. */
  add(message: McastMessage): boolean {
    const { seq } = message;
    if (seq <= this.releasedUpTo || this.get(seq) !== undefined) return false;
    if (this.reachable(seq)) {
      this.slots[seq & (this.slots.length - 1)] = message;
      this.inSlots++;
    } else {
      this.far ??= new Map();
      this.far.set(seq, message);
    }
    if (seq > this.highSeq) this.highSeq = seq;
    while (this.get(this.aru + 1) !== undefined) this.aru++;
    assert(this.aru <= this.highSeq, 'ring log: aru ≤ highest seq received');
    return true;
  }

  /** The message with this seq, if held. */
  get(seq: number): McastMessage | undefined {
    if (seq <= this.releasedUpTo) return undefined;
    if (seq <= this.releasedUpTo + this.slots.length) {
      const message = this.slots[seq & (this.slots.length - 1)];
      if (message !== undefined) {
        assert(message.seq === seq, 'ring log: a slot holds the one seq of the span that maps to it');
        return message;
      }
    }
    return this.far?.get(seq);
  }

  /** Seqs in (aru, upTo] not held, at most `limit` of them, ascending. */
  missing(upTo: number, limit: number): number[] {
    const out: number[] = [];
    for (let seq = this.aru + 1; seq <= upTo && out.length < limit; seq++) {
      if (this.get(seq) === undefined) out.push(seq);
    }
    return out;
  }

  /** Drops delivered messages with seq ≤ `everyoneHas` (every member holds them: nobody will ask again). */
  release(everyoneHas: number): void {
    const upTo = Math.min(everyoneHas, this.highDelivered);
    for (let seq = this.releasedUpTo + 1; seq <= upTo; seq++) {
      const slot = seq & (this.slots.length - 1);
      if (seq <= this.releasedUpTo + this.slots.length && this.slots[slot] !== undefined) {
        this.slots[slot] = undefined;
        this.inSlots--;
      } else this.far?.delete(seq);
    }
    if (upTo > this.releasedUpTo) this.releasedUpTo = upTo;
    assert(this.releasedUpTo <= this.highDelivered, 'ring log: only delivered messages are released');
  }

  /** Messages held (not yet released). */
  get size(): number {
    return this.inSlots + (this.far?.size ?? 0);
  }

  /**
   * True when `seq` has a slot, after doubling the slots if that gives it one within RING_LOG_SLOTS_MAX. Doubling
   * keeps every held seq's slot valid: they all lie in (releasedUpTo, releasedUpTo + old slots].
   */
  private reachable(seq: number): boolean {
    const span = seq - this.releasedUpTo;
    if (span > RING_LOG_SLOTS_MAX) return false;
    if (span <= this.slots.length) return true;
    let count = this.slots.length;
    while (count < span) count *= 2;
    const slots: (McastMessage | undefined)[] = new Array(count).fill(undefined);
    for (const message of this.slots) if (message !== undefined) slots[message.seq & (count - 1)] = message;
    this.slots = slots;
    return true;
  }
}
