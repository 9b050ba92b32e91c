/**
 * Serial-number arithmetic for the wrapping unsigned 32-bit sequence numbers carried in frames (RFC 1982 style).
 *
 * knet keeps 16-bit sequence numbers and a 4096-entry circular buffer; corolink uses 32 bits so a wrap takes
 * 4 billion messages, but comparisons still go through these helpers so a wrap is handled correctly.
 */

/** Sequence numbers are unsigned 32-bit integers. */
export const SEQ_MODULUS = 0x1_0000_0000;

/** The sequence number after `seq` (wraps from 2^32 − 1 to 0). */
export function nextSeq(seq: number): number {
  return (seq + 1) >>> 0;
}

/**
 * Signed distance `a − b` in serial arithmetic: positive when `a` is after `b`, negative when before, in
 * [−2^31, 2^31). Works across the wrap (nextSeq(0xffffffff) is 1 after 0xffffffff).
 */
export function seqDistance(a: number, b: number): number {
  return (a - b) | 0;
}
