/**
 * Fresh byte arrays for the data path's per-message buffers, carved from shared slabs as Node's Buffer pool does,
 * but zero-filled and without Node. An array with an ArrayBuffer of its own costs a backing store (a calloc, its
 * registration, then a sweep and a free by the collector): ≈ 1.1–1.4 µs of CPU for 1.1 KB against ≈ 0.17 µs for a
 * slice of a slab (docs/benchmarks.md "a backing store per message"), and the sender makes one or two per message.
 *
 * A region is handed out once, so every array is zeroed and none aliases another; a slab is freed with its last
 * slice, so an array kept for long keeps its slab (FRESH_BYTES_SLAB_BYTES) alive — for buffers that live about as
 * long as a message is in flight, not for state. `.buffer` is the slab: a view over it needs `byteOffset`. The
 * current slab is module state the protocol cores share, but no array's content or length depends on it, so a
 * core's behaviour (and a simulator run from its seed) does not either.
 */
import { assert } from './assert.ts';

/** Bytes of one slab. */
export const FRESH_BYTES_SLAB_BYTES = 16 * 1024;
/** The largest array carved from a slab (a link MTU's frame); a larger one gets its own ArrayBuffer. */
export const FRESH_BYTES_POOLED_MAX = 4 * 1024;
/** Regions start on 8-byte boundaries, so any typed view of an array's own bytes is aligned. */
const ALIGN_BYTES = 8;

let slab = new ArrayBuffer(FRESH_BYTES_SLAB_BYTES);
let slabUsed = 0;

/** A new zero-filled array of `length` bytes (a slice of a shared slab when it is small). */
export function freshBytes(length: number): Uint8Array {
  assert(Number.isInteger(length) && length >= 0, 'freshBytes: the length is a non-negative integer');
  if (length > FRESH_BYTES_POOLED_MAX) return new Uint8Array(length);
  if (slabUsed + length > FRESH_BYTES_SLAB_BYTES) {
    slab = new ArrayBuffer(FRESH_BYTES_SLAB_BYTES);
    slabUsed = 0;
  }
  const bytes = new Uint8Array(slab, slabUsed, length);
  slabUsed += (length + ALIGN_BYTES - 1) & -ALIGN_BYTES;
  return bytes;
}
