/**
 * The messages of one ring, indexed by seq (corosync's sort queue, TOCS §3): what arrived, the all-received-up-to
 * point (aru), the highest seq seen, what was delivered, and garbage collection of messages everyone holds.
 */
import { assert } from '../base/assert.ts';
import type { McastMessage } from './messages.ts';
import type { RingId } from './types.ts';

/** Messages of one ring and the receive/deliver positions in it. */
export class RingLog {
  /** Every message with seq ≤ aru is (or was) here. */
  aru = 0;
  /** Highest seq received. */
  highSeq = 0;
  /** Highest seq delivered (or skipped, for recovery carriers). */
  highDelivered = 0;
  private releasedUpTo = 0;
  private readonly messages = new Map<number, McastMessage>();

  /** A ring and its members (ascending: the token order). */
  constructor(
    readonly ringId: RingId,
    readonly members: readonly number[],
  ) {}

  /** Stores a message; false when it is a duplicate or was already released. */
  add(message: McastMessage): boolean {
    const { seq } = message;
    if (seq <= this.releasedUpTo || this.messages.has(seq)) return false;
    this.messages.set(seq, message);
    if (seq > this.highSeq) this.highSeq = seq;
    while (this.messages.has(this.aru + 1)) this.aru++;
    assert(this.aru <= this.highSeq, 'ring log: aru ≤ highest seq received');
    return true;
  }

  /** The message with this seq, if held. */
  get(seq: number): McastMessage | undefined {
    return this.messages.get(seq);
  }

  /** Seqs in (aru, upTo] not held, at most `limit` of them, ascending. */
  missing(upTo: number, limit: number): number[] {
    const out: number[] = [];
    for (let seq = this.aru + 1; seq <= upTo && out.length < limit; seq++) {
      if (!this.messages.has(seq)) out.push(seq);
    }
    return out;
  }

  /** Drops delivered messages with seq ≤ `everyoneHas` (every member holds them: nobody will ask again). */
  release(everyoneHas: number): void {
    const upTo = Math.min(everyoneHas, this.highDelivered);
    for (let seq = this.releasedUpTo + 1; seq <= upTo; seq++) this.messages.delete(seq);
    if (upTo > this.releasedUpTo) this.releasedUpTo = upTo;
    assert(this.releasedUpTo <= this.highDelivered, 'ring log: only delivered messages are released');
  }

  /** Messages held (not yet released). */
  get size(): number {
    return this.messages.size;
  }
}
