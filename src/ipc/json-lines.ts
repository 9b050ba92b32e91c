/**
 * The JSON-lines framing: one UTF-8 JSON object per line; a binary field is a base64 string. What the CLI
 * speaks, and what a client gets when its first byte is not the binary hello (`socat` works as is).
 */
import { StringDecoder } from 'node:string_decoder';
import {
  DAEMON_FRAME_BYTES_MAX,
  type Decoded,
  type FrameCodec,
  type FrameDecoder,
  FramingError,
  joinPayload,
  messageJson,
  parseMessage,
  splitPayload,
} from './framing.ts';

/** Splits a byte stream into complete lines; keeps a partial line until its newline arrives. */
export class LineDecoder {
  private readonly text = new StringDecoder('utf8');
  private partial = '';

  constructor(private readonly maxLineBytes = DAEMON_FRAME_BYTES_MAX) {}

  /** Adds a chunk and returns the lines it completed (without their `\n`, empty lines skipped). */
  push(chunk: Uint8Array): string[] {
    const combined = this.partial + this.text.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    const parts = combined.split('\n');
    this.partial = parts.pop() ?? '';
    if (this.partial.length > this.maxLineBytes) {
      this.partial = '';
      throw new RangeError(`a line over ${this.maxLineBytes} bytes`);
    }
    return parts.filter((line) => line.trim() !== '');
  }
}

class JsonLinesDecoder implements FrameDecoder {
  private readonly lines: LineDecoder;

  constructor(frameBytesMax: number) {
    this.lines = new LineDecoder(frameBytesMax);
  }

  push(chunk: Uint8Array): Decoded[] {
    let lines: string[];
    try {
      lines = this.lines.push(chunk);
    } catch (error) {
      throw new FramingError((error as Error).message);
    }
    return lines.map((line) => parseMessage(line, 'a line'));
  }
}

export const jsonLines: FrameCodec = {
  name: 'json-lines',
  encode(messages) {
    let text = '';
    for (const message of messages) {
      const { header, payload } = splitPayload(message);
      const base64 = payload && Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('base64');
      const line = base64 === undefined ? header : (joinPayload(header, base64) ?? header);
      text += `${messageJson(line)}\n`;
    }
    return [Buffer.from(text)];
  },
  decoder: (frameBytesMax) => new JsonLinesDecoder(frameBytesMax),
};
