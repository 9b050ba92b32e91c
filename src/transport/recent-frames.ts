/**
 * The most recent data frames sent to one peer over a single link (passive and rr modes), so that when that
 * link fails they can be re-sent at once on the link that replaces it.
 *
 * knet does not do this: frames sent between the moment a link died and the moment the heartbeat notices are
 * lost and Totem's retransmission recovers them (reference §2.8). corolink re-sends the frames that went out on
 * the failed link since shortly before its last pong; duplicates are harmless because the receiver filters by
 * sequence number. Bounded to FAILOVER_RING_FRAMES entries.
 *
 * The frames are copied into one byte store (FAILOVER_RING_FRAMES slots as wide as the largest frame recorded):
 * keeping the frames themselves kept every one alive for 64 sends, long enough for V8 to move each to its old
 * generation, whose growth then ran a full collection every few seconds (docs/benchmarks.md, "the latency tail
 * and the old generation"). Recording a frame allocates nothing once the store exists.
 */
import { FAILOVER_RING_FRAMES } from './limits.ts';

/** A fixed-size ring of (link, frame bytes, send time). */
export class RecentFrames {
  /** FAILOVER_RING_FRAMES slots of `slotBytes` each; null until the first frame. */
  private store: Uint8Array | null = null;
  private slotBytes = 0;
  /** Bytes of the frame in each slot; 0 = empty. */
  private readonly lengths = new Int32Array(FAILOVER_RING_FRAMES);
  private readonly links = new Int8Array(FAILOVER_RING_FRAMES);
  private readonly sentAtMs = new Float64Array(FAILOVER_RING_FRAMES);
  private next = 0;

  /** Remembers that `frame` went out on `link` at `now`, overwriting the oldest entry. */
  record(link: number, frame: Uint8Array, now: number): void {
    if (frame.length > this.slotBytes) this.widen(frame.length);
    this.store!.set(frame, this.next * this.slotBytes);
    this.lengths[this.next] = frame.length;
    this.links[this.next] = link;
    this.sentAtMs[this.next] = now;
    this.next = (this.next + 1) % FAILOVER_RING_FRAMES;
  }

  /** Removes and returns (copies), oldest first, the frames sent on `link` at or after `sinceMs`. */
  takeSentOn(link: number, sinceMs: number): Uint8Array[] {
    const taken: Uint8Array[] = [];
    for (let age = FAILOVER_RING_FRAMES; age >= 1; age--) {
      const slot = (this.next - age + FAILOVER_RING_FRAMES) % FAILOVER_RING_FRAMES;
      const length = this.lengths[slot]!;
      if (length === 0 || this.links[slot] !== link || this.sentAtMs[slot]! < sinceMs) continue;
      const start = slot * this.slotBytes;
      taken.push(this.store!.slice(start, start + length));
      this.lengths[slot] = 0;
    }
    return taken;
  }

  /** Forgets the frames sent on `link` (the link was removed: nothing may be re-sent from it later). */
  forgetLink(link: number): void {
    for (let slot = 0; slot < FAILOVER_RING_FRAMES; slot++) {
      if (this.links[slot] === link) this.lengths[slot] = 0;
    }
  }

  /** Forgets every frame (peer removed, host down). */
  clear(): void {
    this.lengths.fill(0);
  }

  /** Slots of `bytes` (a frame larger than any before: a larger link MTU), the frames held moved over. */
  private widen(bytes: number): void {
    const store = new Uint8Array(FAILOVER_RING_FRAMES * bytes);
    for (let slot = 0; slot < FAILOVER_RING_FRAMES; slot++) {
      const length = this.lengths[slot]!;
      if (length === 0) continue;
      const start = slot * this.slotBytes;
      store.set(this.store!.subarray(start, start + length), slot * bytes);
    }
    this.store = store;
    this.slotBytes = bytes;
  }
}
