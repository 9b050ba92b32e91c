/**
 * Choosing the framing of a connection (docs/contracts.md "Framing"): a client that wants the binary framing
 * sends BINARY_HELLO first and waits for the daemon to send it back; any other first byte means JSON lines.
 * The hello starts with NUL, which a JSON text never does, so a JSON-lines client can never send it by accident.
 */
import { binary } from './binary.ts';
import type { FrameCodec } from './framing.ts';
import { jsonLines } from './json-lines.ts';

/** NUL, "CLB", binary framing version 1. */
export const BINARY_HELLO = Uint8Array.of(0x00, 0x43, 0x4c, 0x42, 0x01);

export type Negotiation =
  | { codec: FrameCodec; hello: boolean; rest: Buffer }
  | { incomplete: true }
  | { problem: string };

/** The framing a connection's first bytes ask for; `rest` is what follows the hello. */
export function negotiate(first: Buffer): Negotiation {
  if (first.length === 0) return { incomplete: true };
  if (first[0] !== BINARY_HELLO[0]) return { codec: jsonLines, hello: false, rest: first };
  const seen = first.subarray(0, BINARY_HELLO.length);
  if (!seen.equals(BINARY_HELLO.subarray(0, seen.length))) {
    return { problem: `unknown hello 0x${seen.toString('hex')} (this daemon speaks binary framing version 1)` };
  }
  if (seen.length < BINARY_HELLO.length) return { incomplete: true };
  return { codec: binary, hello: true, rest: first.subarray(BINARY_HELLO.length) };
}
