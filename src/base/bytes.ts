/**
 * Small byte arrays for the data path, cut from shared slabs (what Node's Buffer pool does, in plain
 * Uint8Array so the protocol cores stay free of Node APIs). `new Uint8Array(n)` above V8's on-heap limit (64 B)
 * allocates a separate backing store for each array, which the garbage collector then tracks and frees one by
 * one: on the daemon's hot path (a frame, a Totem message, a CPG fragment per message) that was several per
 * message. A slab is never reused: every array handed out is zeroed, like `new Uint8Array(n)`, and the slab is
 * freed once no array cut from it is referenced.
 *
 * The arrays share an ArrayBuffer: code that views one must use its `byteOffset` (never `bytes.buffer` alone).
 */

/** Bytes of one slab. */
const SLAB_BYTES = 16 * 1024;
/** Largest array cut from a slab; bigger ones get their own buffer (a slab would waste more than it saves). */
const POOLED_BYTES_MAX = 2048;
/** Arrays start on this alignment inside a slab (DataView reads of aligned fields stay aligned). */
const ALIGN_BYTES = 8;

let slab = new Uint8Array(SLAB_BYTES);
let used = 0;

/** A zeroed byte array of `length` bytes (a view into a shared slab when small). */
export function allocBytes(length: number): Uint8Array {
  if (length > POOLED_BYTES_MAX) return new Uint8Array(length);
  if (used + length > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    used = 0;
  }
  const bytes = slab.subarray(used, used + length);
  used += Math.ceil(length / ALIGN_BYTES) * ALIGN_BYTES;
  return bytes;
}

/** A copy of `source[start, end)` in an array of its own length (`Uint8Array.prototype.slice`, pooled). */
export function copyBytes(source: Uint8Array, start = 0, end = source.length): Uint8Array {
  const bytes = allocBytes(Math.max(0, end - start));
  bytes.set(source.subarray(start, end));
  return bytes;
}

/** A DataView over exactly `bytes`. */
export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
