/**
 * Copies of the transport's recent data frames, one per frame however many peers it went to: the bytes behind
 * every peer's failover ring (recent-frames.ts).
 *
 * A multicast's frames are the same bytes for every peer on a link, so a ring of copies per peer held the same
 * frame once per peer (≈ 90 KiB per peer at the default MTU under load). Here each frame is copied once into one
 * of FAILOVER_STORE_FRAMES slots as wide as the largest frame stored; a peer keeps only the frame's handle. A
 * handle is the frame's put count, so a slot overwritten by a newer frame is recognised without a generation
 * table: such a frame is simply not re-sent on failover (Totem's retransmission recovers it). Copying rather
 * than keeping the frames keeps them out of V8's old generation (docs/benchmarks.md, "the latency tail and the
 * old generation"). Putting a frame allocates nothing once the store is as wide as the link MTU.
 */
import { assert } from '../base/assert.ts';
import { FAILOVER_STORE_FRAMES } from './limits.ts';

export class FrameStore {
  /** FAILOVER_STORE_FRAMES slots of `slotBytes` each; null until the first frame. */
  private bytes: Uint8Array | null = null;
  private slotBytes = 0;
  private readonly lengths = new Int32Array(FAILOVER_STORE_FRAMES);
  /** Frames put so far; the next frame's handle. */
  private puts = 0;

  /** Copies `frame` into the oldest slot; returns its handle. */
  put(frame: Uint8Array): number {
    if (frame.length > this.slotBytes) this.widen(frame.length);
    const handle = this.puts++;
    const slot = handle % FAILOVER_STORE_FRAMES;
    this.bytes!.set(frame, slot * this.slotBytes);
    this.lengths[slot] = frame.length;
    return handle;
  }

  /** A copy of the frame put as `handle`, or null once a newer frame has taken its slot. */
  copy(handle: number): Uint8Array | null {
    assert(Number.isInteger(handle) && handle >= 0 && handle < this.puts, 'frame store: handle was never put');
    if (handle < this.puts - FAILOVER_STORE_FRAMES) return null;
    const slot = handle % FAILOVER_STORE_FRAMES;
    const start = slot * this.slotBytes;
    return this.bytes!.slice(start, start + this.lengths[slot]!);
  }

  /** Slots of `width` bytes (a frame larger than any before: a larger link MTU), the frames held moved over. */
  private widen(width: number): void {
    const bytes = new Uint8Array(FAILOVER_STORE_FRAMES * width);
    if (this.bytes !== null) {
      for (let slot = 0; slot < FAILOVER_STORE_FRAMES; slot++) {
        const start = slot * this.slotBytes;
        bytes.set(this.bytes.subarray(start, start + this.lengths[slot]!), slot * width);
      }
    }
    this.bytes = bytes;
    this.slotBytes = width;
  }
}
