// Fragmentation of CPG messages into Totem messages (the job corosync's totempg does): Totem carries at most one
// frame per message, a CPG message may be up to 1 MiB. Totem delivers each sender's messages in the order it sent
// them, so the fragments of one message arrive consecutively among that sender's messages; reassembly keeps one
// partial message per sender node and drops it when a fragment is missing or the node leaves the ring.

import { freshBytes } from '../base/fresh-bytes.ts';
import { byteLength, concat } from './codec.ts';

/** First byte of every CPG fragment. */
export const FRAGMENT_MAGIC = 0xc7;
/** Bytes of the fragment header: magic u8, index u16, count u16. */
export const FRAGMENT_HEADER_BYTES = 5;
/** Most fragments one message may have (the u16 count field). */
export const FRAGMENTS_PER_MESSAGE_MAX = 0xffff;

/**
 * Splits an encoded message (one array, or consecutive parts) into Totem payloads of at most
 * `totemPayloadBytesMax` bytes, copying each byte once. `headroomBytes`: bytes left zero before each fragment's
 * header, for the layer below to fill in place (the stack's service id) instead of copying the fragment behind them.
 */
export function fragment(
  message: Uint8Array | readonly Uint8Array[],
  totemPayloadBytesMax: number,
  headroomBytes = 0,
): Uint8Array[] {
  const parts = message instanceof Uint8Array ? [message] : message;
  const messageBytes = byteLength(parts);
  const chunkBytes = totemPayloadBytesMax - FRAGMENT_HEADER_BYTES;
  const count = Math.max(1, Math.ceil(messageBytes / chunkBytes));
  if (chunkBytes <= 0 || count > FRAGMENTS_PER_MESSAGE_MAX) throw new RangeError('CPG message too large to fragment');
  const out: Uint8Array[] = [];
  let part = 0;
  let partAt = 0;
  for (let index = 0; index < count; index++) {
    const bytes = Math.min(chunkBytes, messageBytes - index * chunkBytes);
    const frame = freshBytes(headroomBytes + FRAGMENT_HEADER_BYTES + bytes);
    frame[headroomBytes] = FRAGMENT_MAGIC;
    frame[headroomBytes + 1] = index & 0xff; // u16 little-endian, as every CPG field
    frame[headroomBytes + 2] = index >>> 8;
    frame[headroomBytes + 3] = count & 0xff;
    frame[headroomBytes + 4] = count >>> 8;
    for (let at = headroomBytes + FRAGMENT_HEADER_BYTES; at < frame.length; ) {
      const piece = parts[part]!;
      const take = Math.min(piece.length - partAt, frame.length - at);
      // A whole part is copied as it is: a subarray of a small (on-heap) array would first move it off the heap.
      frame.set(partAt === 0 && take === piece.length ? piece : piece.subarray(partAt, partAt + take), at);
      at += take;
      partAt += take;
      if (partAt === piece.length) {
        part++;
        partAt = 0;
      }
    }
    out.push(frame);
  }
  return out;
}

/** Result of feeding one Totem payload to the {@link Reassembler}. */
export type ReassemblyResult =
  | { kind: 'complete'; message: Uint8Array }
  | { kind: 'partial' }
  | { kind: 'malformed'; reason: string };

/** Rebuilds messages from fragments, one partial message per sender node. */
export class Reassembler {
  private readonly partial = new Map<number, { count: number; chunks: Uint8Array[] }>();
  /** Senders whose partial message a configuration change cut: their next continuation fragments are its rest. */
  private readonly cut = new Set<number>();

  /**
   * Feeds one delivered Totem payload from `sender`. A message of one fragment comes back as a view into `payload`
   * (a Totem delivery is never reused), one of several as a new array.
   */
  add(sender: number, payload: Uint8Array): ReassemblyResult {
    if (payload.length < FRAGMENT_HEADER_BYTES || payload[0] !== FRAGMENT_MAGIC) {
      return { kind: 'malformed', reason: 'not a CPG fragment' };
    }
    const index = payload[1]! | (payload[2]! << 8); // u16 little-endian, as written by fragment()
    const count = payload[3]! | (payload[4]! << 8);
    const chunk = payload.subarray(FRAGMENT_HEADER_BYTES);
    const current = this.partial.get(sender);
    if (index === 0) {
      this.cut.delete(sender);
      this.partial.delete(sender); // an unfinished previous message lost a fragment: it can never complete
      if (count === 0) return { kind: 'malformed', reason: 'fragment count 0' };
      if (count === 1) return { kind: 'complete', message: chunk };
      this.partial.set(sender, { count, chunks: [chunk] });
      return { kind: 'partial' };
    }
    if (!current || current.count !== count || current.chunks.length !== index) {
      this.partial.delete(sender);
      if (this.cut.has(sender)) {
        return { kind: 'malformed', reason: `fragment ${index}/${count} of a message cut by a configuration change` };
      }
      return { kind: 'malformed', reason: `unexpected fragment ${index}/${count}` };
    }
    current.chunks.push(chunk);
    if (current.chunks.length < count) return { kind: 'partial' };
    this.partial.delete(sender);
    return { kind: 'complete', message: concat(current.chunks) };
  }

  /**
   * At a configuration change: forgets every partial message, the local node's own included. Members arriving
   * from another partition never saw the first fragments, so a message whose fragments straddle the change can
   * only be delivered by all members of the new configuration if it is delivered by none (virtual synchrony).
   */
  forgetAll(): void {
    for (const sender of this.partial.keys()) this.cut.add(sender);
    this.partial.clear();
  }
}
