/**
 * Newline-delimited JSON framing of the admin socket: one UTF-8 JSON object per line.
 * The decoder is fed raw socket chunks (which may split a line, or a multi-byte character, anywhere).
 */
import { StringDecoder } from 'node:string_decoder';

/** Longest line accepted from the daemon (a `status` of a large cluster is far smaller). */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

/** Encodes one message as one line. */
export function encodeLine(message: unknown): string {
  return `${JSON.stringify(message)}\n`;
}

/** Splits a byte stream into complete lines; keeps a partial line until its newline arrives. */
export class LineDecoder {
  private readonly text = new StringDecoder('utf8');
  private partial = '';

  constructor(private readonly maxLineBytes = MAX_LINE_BYTES) {}

  /** Adds a chunk and returns the lines it completed (without their `\n`, empty lines skipped). */
  push(chunk: Uint8Array): string[] {
    const combined = this.partial + this.text.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    const parts = combined.split('\n');
    this.partial = parts.pop() ?? '';
    if (this.partial.length > this.maxLineBytes) {
      this.partial = '';
      throw new RangeError(`a line from the daemon exceeds ${this.maxLineBytes} bytes`);
    }
    return parts.filter((line) => line.trim() !== '');
  }

  /** Forgets a partial line (after the connection closed). */
  reset(): void {
    this.partial = '';
    this.text.end();
  }
}
