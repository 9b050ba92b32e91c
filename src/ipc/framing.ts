/**
 * The framing of the admin socket behind one interface (docs/contracts.md "Framing"): JSON lines (the CLI,
 * `socat`) and the binary framing (the client library), chosen by the client's first bytes (./negotiate.ts).
 * Both carry the same messages; only a message's binary field travels differently: raw in binary frames,
 * base64 in JSON lines.
 */

/** One message: a request `{id, method, params}`, a response `{id, result | error}` or an event `{event, data}`. */
export type Message = Record<string, unknown>;

/** What a decoder read: a message, or a frame it could not read (skipped; the stream goes on). */
export type Decoded = { message: Message } | { problem: string };

/** The stream cannot be read on (a frame over its size limit, an unknown hello): the connection must end. */
export class FramingError extends Error {}

export interface FrameDecoder {
  /** Adds bytes split anywhere; returns what they completed, in order. Throws FramingError when the stream is lost. */
  push(chunk: Uint8Array): Decoded[];
}

export interface FrameCodec {
  readonly name: 'json-lines' | 'binary';
  /**
   * The bytes of `messages`, in pieces to write in order: as few as possible (one write for a whole batch); a
   * large binary field is its own piece, never copied.
   */
  encode(messages: readonly Message[]): Uint8Array[];
  /** A decoder for one connection, refusing frames over `frameBytesMax`. */
  decoder(frameBytesMax: number): FrameDecoder;
}

/** Largest request frame the daemon reads (a CPG message of 1 MiB in base64 plus the envelope). */
export const REQUEST_FRAME_BYTES_MAX = 2 * 1024 * 1024;
/** Largest frame the client reads from the daemon (a `status` of a large cluster is far smaller). */
export const DAEMON_FRAME_BYTES_MAX = 16 * 1024 * 1024;

/** Which field holds a message's body: a request's params, an event's data, else a response's result. */
function bodyKey(message: Message): 'params' | 'data' | 'result' {
  if ('method' in message) return 'params';
  if ('event' in message) return 'data';
  return 'result';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/**
 * Splits a message into its header and its binary field: the `data` field of its body when that is bytes
 * (`cpgMcast` and `cfsPut` params, the `cfsGet` result, the `cpgDeliver` event).
 */
export function splitPayload(message: Message): { header: Message; payload: Uint8Array | undefined } {
  const key = bodyKey(message);
  const body = message[key];
  if (!isObject(body) || !(body.data instanceof Uint8Array)) return { header: message, payload: undefined };
  const { data, ...rest } = body;
  return { header: { ...message, [key]: rest }, payload: data };
}

/** Puts a binary field (bytes, or base64 in JSON lines) back into its message's body; undefined when there is none. */
export function joinPayload(header: Message, payload: Uint8Array | string): Message | undefined {
  const key = bodyKey(header);
  const body = header[key];
  if (!isObject(body)) return undefined;
  return { ...header, [key]: { ...body, data: payload } };
}

/**
 * A response's result already encoded as JSON (a long `cfsLs` listing, encoded a page per turn of the daemon's loop:
 * docs/daemon.md "Work on the loop"): both framings put the text in as is, so the message reads the same as one
 * whose result was an object encoded at once.
 */
export class JsonText {
  constructor(readonly text: string) {}
}

/** A message without its binary field (`splitPayload`'s header) as JSON, its `result` as is when that is JsonText. */
export function messageJson(header: Message): string {
  const { result } = header;
  if (!(result instanceof JsonText)) return JSON.stringify(header);
  const { result: _, ...rest } = header;
  const head = JSON.stringify(rest);
  return `${head.slice(0, -1)}${head === '{}' ? '' : ','}"result":${result.text}}`;
}

/** Parses a header or a line: a JSON object, or the problem with it. */
export function parseMessage(text: string, what: string): Decoded {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: `${what} that is not JSON: ${text.slice(0, 80)}` };
  }
  return isObject(value) ? { message: value } : { problem: `${what} that is not a JSON object` };
}
