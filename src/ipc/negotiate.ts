/**
 * Choosing the framing of a connection (docs/contracts.md "Framing"): a client that wants the binary framing
 * sends a binary hello first and waits for the daemon to send the same hello back; any other first byte means
 * JSON lines. The hello starts with NUL, which a JSON text never does, so a JSON-lines client can never send it by
 * accident. Its last byte is the binary framing's version: 2 (compact CPG frames, what the client library sends)
 * or 1 (JSON headers only).
 */
import { binary, binaryV1 } from './binary.ts';
import type { FrameCodec } from './framing.ts';
import { jsonLines } from './json-lines.ts';

/** NUL, "CLB", binary framing version 2: what the client library sends. */
export const BINARY_HELLO = Uint8Array.of(0x00, 0x43, 0x4c, 0x42, 0x02);
/** The versions a daemon speaks, by the hello's last byte. */
const BINARY_VERSIONS: ReadonlyMap<number, FrameCodec> = new Map([
  [1, binaryV1],
  [2, binary],
]);

export type Negotiation =
  | { codec: FrameCodec; hello: Uint8Array | undefined; rest: Buffer }
  | { incomplete: true }
  | { problem: string };

/** The framing a connection's first bytes ask for; `hello`: the bytes to send back; `rest`: what follows the hello. */
export function negotiate(first: Buffer): Negotiation {
  if (first.length === 0) return { incomplete: true };
  if (first[0] !== BINARY_HELLO[0]) return { codec: jsonLines, hello: undefined, rest: first };
  const prefix = BINARY_HELLO.length - 1;
  const seen = first.subarray(0, BINARY_HELLO.length);
  const codec = seen.length === BINARY_HELLO.length ? BINARY_VERSIONS.get(seen[prefix]!) : undefined;
  if (
    !seen.subarray(0, prefix).equals(BINARY_HELLO.subarray(0, Math.min(prefix, seen.length))) ||
    (seen.length === BINARY_HELLO.length && !codec)
  ) {
    return { problem: `unknown hello 0x${seen.toString('hex')} (this daemon speaks binary framing versions 1 and 2)` };
  }
  if (!codec) return { incomplete: true };
  return { codec, hello: Uint8Array.from(seen), rest: first.subarray(BINARY_HELLO.length) };
}
