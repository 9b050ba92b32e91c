/**
 * The most recent data frames sent to one peer over a single link (passive and rr modes), so that when that
 * link fails they can be re-sent at once on the link that replaces it.
 *
 * knet does not do this: frames sent between the moment a link died and the moment the heartbeat notices are
 * lost and Totem's retransmission recovers them (reference §2.8). corolink re-sends the frames that went out on
 * the failed link since shortly before its last pong; duplicates are harmless because the receiver filters by
 * sequence number. Bounded to FAILOVER_RING_FRAMES entries; the bytes are in the transport's FrameStore, shared
 * by every peer a frame went to.
 */
import type { FrameStore } from './frame-store.ts';
import { FAILOVER_RING_FRAMES } from './limits.ts';

/** A fixed-size ring of (link, frame handle in the store, send time). */
export class RecentFrames {
  /** The frame's handle in the store; -1 = empty. */
  private readonly handles = new Float64Array(FAILOVER_RING_FRAMES).fill(-1);
  private readonly links = new Int8Array(FAILOVER_RING_FRAMES);
  private readonly sentAtMs = new Float64Array(FAILOVER_RING_FRAMES);
  private next = 0;

  constructor(private readonly store: FrameStore) {}

  /** Remembers that the frame stored as `handle` went out on `link` at `now`, overwriting the oldest entry. */
  record(link: number, handle: number, now: number): void {
    this.handles[this.next] = handle;
    this.links[this.next] = link;
    this.sentAtMs[this.next] = now;
    this.next = (this.next + 1) % FAILOVER_RING_FRAMES;
  }

  /**
   * Removes and returns (copies), oldest first, the frames sent on `link` at or after `sinceMs` that the store
   * still holds.
   */
  takeSentOn(link: number, sinceMs: number): Uint8Array[] {
    const taken: Uint8Array[] = [];
    for (let age = FAILOVER_RING_FRAMES; age >= 1; age--) {
      const slot = (this.next - age + FAILOVER_RING_FRAMES) % FAILOVER_RING_FRAMES;
      const handle = this.handles[slot]!;
      if (handle < 0 || this.links[slot] !== link || this.sentAtMs[slot]! < sinceMs) continue;
      this.handles[slot] = -1;
      const frame = this.store.copy(handle);
      if (frame !== null) taken.push(frame);
    }
    return taken;
  }

  /** Forgets the frames sent on `link` (the link was removed: nothing may be re-sent from it later). */
  forgetLink(link: number): void {
    for (let slot = 0; slot < FAILOVER_RING_FRAMES; slot++) {
      if (this.links[slot] === link) this.handles[slot] = -1;
    }
  }

  /** Forgets every frame (peer removed, host down). */
  clear(): void {
    this.handles.fill(-1);
  }
}
