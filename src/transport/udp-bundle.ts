/**
 * Bundles: several plaintext frames for the same peer and link in one sealed datagram, so the fixed per-datagram
 * costs (one AES-GCM context, one sendmsg, one recvmsg + JS callback — ecosystem.md §3) are paid once for many
 * small messages. Layout: marker u8 (0xB1) | { frame length u16 BE | frame }+ . A single frame is sent as is:
 * wire frames start with the magic 0xC07C, so the marker byte tells the two apart.
 */

/** First byte of a bundle (a wire frame's first byte is 0xC0). */
export const BUNDLE_MARKER = 0xb1;
/** Bytes a bundle spends before its first frame (the marker). */
export const BUNDLE_HEADER_BYTES = 1;
/** Bytes a bundle spends per frame (its u16 length). */
export const BUNDLE_LENGTH_BYTES = 2;

/** Frames waiting to be sealed into one datagram for one peer on one link. */
export class PendingBundle {
  private frames: Uint8Array[] = [];
  private bundleBytes = BUNDLE_HEADER_BYTES;

  constructor(
    readonly link: number,
    readonly to: number,
  ) {}

  /** Number of queued frames. */
  get size(): number {
    return this.frames.length;
  }

  /** The queued frames (the array `take` hands over; it is never changed once taken). */
  get queued(): readonly Uint8Array[] {
    return this.frames;
  }

  /** Whether `frame` still fits under `budgetBytes` of plaintext together with the queued frames. */
  fits(frame: Uint8Array, budgetBytes: number): boolean {
    return this.bundleBytes + BUNDLE_LENGTH_BYTES + frame.length <= budgetBytes;
  }

  /** Queues one frame. */
  add(frame: Uint8Array): void {
    this.frames.push(frame);
    this.bundleBytes += BUNDLE_LENGTH_BYTES + frame.length;
  }

  /** The plaintext to seal: the frame itself when alone, else a bundle. Empties the queue. */
  take(): Uint8Array {
    const frames = this.frames;
    const bundleBytes = this.bundleBytes;
    this.frames = [];
    this.bundleBytes = BUNDLE_HEADER_BYTES;
    if (frames.length === 1) return frames[0]!;
    const out = Buffer.allocUnsafe(bundleBytes);
    out[0] = BUNDLE_MARKER;
    let offset = BUNDLE_HEADER_BYTES;
    for (const frame of frames) {
      out.writeUInt16BE(frame.length, offset);
      out.set(frame, offset + BUNDLE_LENGTH_BYTES);
      offset += BUNDLE_LENGTH_BYTES + frame.length;
    }
    return out;
  }
}

/**
 * The frames of an opened datagram: itself when it is not a bundle, else its frames (views, no copy);
 * null for a malformed bundle (empty, a frame length running past the end). Never throws.
 */
export function splitBundle(plaintext: Uint8Array): Uint8Array[] | null {
  if (plaintext[0] !== BUNDLE_MARKER) return [plaintext];
  const frames: Uint8Array[] = [];
  let offset = BUNDLE_HEADER_BYTES;
  while (offset < plaintext.length) {
    if (offset + BUNDLE_LENGTH_BYTES > plaintext.length) return null;
    const length = (plaintext[offset]! << 8) | plaintext[offset + 1]!;
    const start = offset + BUNDLE_LENGTH_BYTES;
    if (length === 0 || start + length > plaintext.length) return null;
    frames.push(plaintext.subarray(start, start + length));
    offset = start + length;
  }
  return frames.length > 0 ? frames : null;
}

/** Whether two frame lists hold the same frame objects in the same order (the same bundle). */
export function sameFrames(a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
