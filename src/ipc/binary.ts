/**
 * The binary framing (docs/contracts.md "Binary framing"): length-prefixed frames whose binary field travels
 * raw after a JSON header, so a 1 MiB CPG message costs 1 MiB on the socket, not 1.33 MiB of base64 to build
 * and parse. A frame:
 *
 *   u32 BE  length of the rest of the frame (≤ the reader's limit)
 *   u8      flags: bit 0 set = the payload is the `data` field of the message's body; other bits 0
 *   u32 BE  header length
 *   header  the message as UTF-8 JSON, without its binary field
 *   payload the rest of the frame
 */
import {
  type Decoded,
  type FrameCodec,
  type FrameDecoder,
  FramingError,
  joinPayload,
  parseMessage,
  splitPayload,
} from './framing.ts';

const LENGTH_BYTES = 4;
/** Flags byte + header length. */
const HEAD_BYTES = 5;
const FLAG_PAYLOAD = 0x01;

export const binary: FrameCodec = {
  name: 'binary',
  encode(message) {
    const { header, payload } = splitPayload(message);
    const json = Buffer.from(JSON.stringify(header));
    const head = Buffer.allocUnsafe(LENGTH_BYTES + HEAD_BYTES);
    head.writeUInt32BE(HEAD_BYTES + json.length + (payload?.byteLength ?? 0), 0);
    head.writeUInt8(payload === undefined ? 0 : FLAG_PAYLOAD, LENGTH_BYTES);
    head.writeUInt32BE(json.length, LENGTH_BYTES + 1);
    return payload === undefined ? [Buffer.concat([head, json])] : [Buffer.concat([head, json]), payload];
  },
  decoder: (frameBytesMax) => new BinaryDecoder(frameBytesMax),
};

/** Reads one frame (without its length prefix). */
export function decodeFrame(frame: Buffer): Decoded {
  if (frame.length < HEAD_BYTES) return { problem: `a frame of ${frame.length} bytes, shorter than its head` };
  const flags = frame.readUInt8(0);
  if ((flags & ~FLAG_PAYLOAD) !== 0) return { problem: `a frame with unknown flags 0x${flags.toString(16)}` };
  const headerBytes = frame.readUInt32BE(1);
  if (HEAD_BYTES + headerBytes > frame.length) {
    return { problem: `a frame whose header (${headerBytes} bytes) overruns the frame (${frame.length} bytes)` };
  }
  const decoded = parseMessage(frame.toString('utf8', HEAD_BYTES, HEAD_BYTES + headerBytes), 'a frame header');
  const payload = frame.subarray(HEAD_BYTES + headerBytes);
  if (!('message' in decoded)) return decoded;
  if ((flags & FLAG_PAYLOAD) === 0) {
    return payload.length === 0
      ? decoded
      : { problem: `a frame with ${payload.length} bytes after a payload-less header` };
  }
  const message = joinPayload(decoded.message, payload);
  return message ? { message } : { problem: 'a frame with a payload but no body to hold it' };
}

class BinaryDecoder implements FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly frameBytesMax: number) {}

  push(chunk: Uint8Array): Decoded[] {
    this.chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.buffered += chunk.byteLength;
    const decoded: Decoded[] = [];
    while (this.buffered >= LENGTH_BYTES) {
      const length = this.peek(LENGTH_BYTES).readUInt32BE(0);
      if (length > this.frameBytesMax) {
        throw new FramingError(`a frame of ${length} bytes, over the limit of ${this.frameBytesMax}`);
      }
      if (this.buffered < LENGTH_BYTES + length) break;
      decoded.push(decodeFrame(this.take(LENGTH_BYTES + length).subarray(LENGTH_BYTES)));
    }
    return decoded;
  }

  /** The first `bytes` buffered bytes (joining chunks when the first one is shorter). */
  private peek(bytes: number): Buffer {
    if (this.chunks[0]!.length < bytes) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!;
  }

  /** Removes and returns the first `bytes` buffered bytes. */
  private take(bytes: number): Buffer {
    const first = this.peek(bytes);
    this.chunks[0] = first.subarray(bytes);
    if (this.chunks[0].length === 0) this.chunks.shift();
    this.buffered -= bytes;
    return first.subarray(0, bytes);
  }
}
