/**
 * The binary framing (docs/contracts.md "Binary framing"): length-prefixed frames whose binary field travels
 * raw after a JSON header, so a 1 MiB CPG message costs 1 MiB on the socket, not 1.33 MiB of base64 to build
 * and parse. A frame:
 *
 *   u32 BE  length of the rest of the frame (≤ the reader's limit)
 *   u8      flags: bit 0 set = the payload is the `data` field of the message's body; bit 1 (version 2) = compact
 *   u32 BE  header length
 *   header  the message as UTF-8 JSON, without its binary field
 *   payload the rest of the frame
 *
 * Version 2 adds compact frames for the messages of the CPG data path (flags = 0x02, then a kind byte and fixed
 * fields, no JSON): a multicast request, its `{ok: true}` answer and a delivery. A message that does not fit its
 * compact layout exactly goes as a JSON frame, so the compact form never changes what a message says.
 */
import { LastDecoded } from '../base/last-decoded.ts';
import { GROUP_NAME_BYTES_MAX } from '../base/limits.ts';
import {
  type Decoded,
  type FrameCodec,
  type FrameDecoder,
  FramingError,
  joinPayload,
  type Message,
  messageJson,
  parseMessage,
  splitPayload,
} from './framing.ts';

const LENGTH_BYTES = 4;
/** Flags byte + header length. */
const HEAD_BYTES = 5;
const FLAG_PAYLOAD = 0x01;
const FLAG_COMPACT = 0x02;
/** Compact kinds (the byte after the flags) and their fixed bytes after that byte. */
const KIND_CPG_MCAST = 1; // u32 id, u32 seq, u8 delivery (0 agreed, 1 safe), u8 group length, group, payload
const KIND_OK = 2; // u32 id: the answer {id, result: {ok: true}}
const KIND_CPG_DELIVER = 3; // u32 nodeid, u32 pid, u8 group length, group, payload
const MCAST_FIXED_BYTES = 10;
const OK_FIXED_BYTES = 4;
const DELIVER_FIXED_BYTES = 9;
/** flags + kind */
const COMPACT_HEAD_BYTES = 2;
const GROUP_BYTES_MAX = 0xff;
const UINT32_MAX = 0xffff_ffff;
/**
 * A payload up to this size is copied into the batch's one buffer (a write of many small messages is one piece);
 * a larger one is its own piece, never copied.
 */
const PAYLOAD_COPY_BYTES_MAX = 16 * 1024;

/** How one message of a batch goes: compact (its kind's u32 fields in order), or a JSON header; with its payload. */
type Plan =
  | {
      kind: typeof KIND_CPG_MCAST;
      word1: number;
      word2: number;
      delivery: number;
      group: string;
      groupBytes: number;
      payload: Uint8Array;
    }
  | {
      kind: typeof KIND_CPG_DELIVER;
      word1: number;
      word2: number;
      group: string;
      groupBytes: number;
      payload: Uint8Array;
    }
  | { kind: typeof KIND_OK; word1: number }
  | { kind: 0; json: string; jsonBytes: number; payload: Uint8Array | undefined };

/** Version 1: every frame has a JSON header. */
export const binaryV1: FrameCodec = {
  name: 'binary',
  encode: (messages) => encodeBatch(messages, false),
  decoder: (frameBytesMax) => new BinaryDecoder(frameBytesMax, false),
};

/** Version 2 (what the client library speaks): version 1 plus the compact frames of the CPG data path. */
export const binary: FrameCodec = {
  name: 'binary',
  encode: (messages) => encodeBatch(messages, true),
  decoder: (frameBytesMax) => new BinaryDecoder(frameBytesMax, true),
};

function isUint32(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= UINT32_MAX;
}

/** Number of own keys (without allocating their list). */
function keyCount(object: object): number {
  let count = 0;
  for (const key in object) if (Object.hasOwn(object, key)) count++;
  return count;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** The compact plan of a message that fits a compact layout exactly, else undefined. */
function compactPlan(message: Message): Plan | undefined {
  if (message.method === 'cpgMcast') {
    const params = message.params;
    if (!isUint32(message.id) || keyCount(message) !== 3 || !isPlainObject(params)) return undefined;
    const { group, data, seq, delivery } = params;
    const fields = 3 + (delivery === undefined ? 0 : 1);
    if (typeof group !== 'string' || !(data instanceof Uint8Array) || !isUint32(seq) || keyCount(params) !== fields) {
      return undefined;
    }
    if (delivery !== undefined && delivery !== 'safe') return undefined; // an explicit 'agreed' stays as said
    const groupBytes = Buffer.byteLength(group);
    if (groupBytes > GROUP_BYTES_MAX) return undefined;
    const safe = delivery === 'safe' ? 1 : 0;
    return { kind: KIND_CPG_MCAST, word1: message.id, word2: seq, delivery: safe, group, groupBytes, payload: data };
  }
  if (message.event === 'cpgDeliver') {
    const body = message.data;
    if (keyCount(message) !== 2 || !isPlainObject(body) || keyCount(body) !== 4) return undefined;
    const { group, nodeid, pid, data } = body;
    if (typeof group !== 'string' || !isUint32(nodeid) || !isUint32(pid) || !(data instanceof Uint8Array))
      return undefined;
    const groupBytes = Buffer.byteLength(group);
    if (groupBytes > GROUP_BYTES_MAX) return undefined;
    return { kind: KIND_CPG_DELIVER, word1: nodeid, word2: pid, group, groupBytes, payload: data };
  }
  const result = message.result;
  if (isPlainObject(result) && result.ok === true && keyCount(result) === 1 && isUint32(message.id)) {
    return keyCount(message) === 2 ? { kind: KIND_OK, word1: message.id } : undefined;
  }
  return undefined;
}

function planOf(message: Message, compact: boolean): Plan {
  const plan = compact ? compactPlan(message) : undefined;
  if (plan) return plan;
  const { header, payload } = splitPayload(message);
  const json = messageJson(header);
  return { kind: 0, json, jsonBytes: Buffer.byteLength(json), payload };
}

/** Bytes of a frame (length prefix included) without its payload. */
function headBytes(plan: Plan): number {
  switch (plan.kind) {
    case KIND_CPG_MCAST:
      return LENGTH_BYTES + COMPACT_HEAD_BYTES + MCAST_FIXED_BYTES + plan.groupBytes;
    case KIND_CPG_DELIVER:
      return LENGTH_BYTES + COMPACT_HEAD_BYTES + DELIVER_FIXED_BYTES + plan.groupBytes;
    case KIND_OK:
      return LENGTH_BYTES + COMPACT_HEAD_BYTES + OK_FIXED_BYTES;
    default:
      return LENGTH_BYTES + HEAD_BYTES + plan.jsonBytes;
  }
}

const payloadOf = (plan: Plan): Uint8Array | undefined => (plan.kind === KIND_OK ? undefined : plan.payload);

/**
 * The frames of `messages`, in order, as few pieces: one buffer for every head and every payload up to
 * PAYLOAD_COPY_BYTES_MAX, a larger payload its own piece (not copied).
 */
function encodeBatch(messages: readonly Message[], compact: boolean): Uint8Array[] {
  const plans = messages.map((message) => planOf(message, compact));
  let inline = 0;
  for (const plan of plans) {
    const payload = payloadOf(plan);
    inline += headBytes(plan) + (payload && payload.byteLength <= PAYLOAD_COPY_BYTES_MAX ? payload.byteLength : 0);
  }
  const buffer = Buffer.allocUnsafe(inline);
  const pieces: Uint8Array[] = [];
  let start = 0;
  let at = 0;
  for (const plan of plans) {
    const payload = payloadOf(plan);
    const payloadBytes = payload?.byteLength ?? 0;
    at = buffer.writeUInt32BE(headBytes(plan) - LENGTH_BYTES + payloadBytes, at);
    switch (plan.kind) {
      case KIND_CPG_MCAST:
      case KIND_CPG_DELIVER:
        at = buffer.writeUInt8(FLAG_COMPACT, at);
        at = buffer.writeUInt8(plan.kind, at);
        at = buffer.writeUInt32BE(plan.word1, at);
        at = buffer.writeUInt32BE(plan.word2, at);
        if (plan.kind === KIND_CPG_MCAST) at = buffer.writeUInt8(plan.delivery, at);
        at = buffer.writeUInt8(plan.groupBytes, at);
        at += buffer.write(plan.group, at);
        break;
      case KIND_OK:
        at = buffer.writeUInt8(FLAG_COMPACT, at);
        at = buffer.writeUInt8(plan.kind, at);
        at = buffer.writeUInt32BE(plan.word1, at);
        break;
      default:
        at = buffer.writeUInt8(payload === undefined ? 0 : FLAG_PAYLOAD, at);
        at = buffer.writeUInt32BE(plan.jsonBytes, at);
        at += buffer.write(plan.json, at);
    }
    if (payload === undefined || payloadBytes === 0) continue;
    if (payloadBytes <= PAYLOAD_COPY_BYTES_MAX) {
      buffer.set(payload, at);
      at += payloadBytes;
    } else {
      if (at > start) pieces.push(buffer.subarray(start, at));
      pieces.push(payload);
      start = at;
    }
  }
  if (at > start) pieces.push(buffer.subarray(start, at));
  return pieces;
}

/**
 * The compact frames' group-name cache of one decoder (one connection's direction): one string per run of one
 * group's frames (the data path names one group), see LastDecoded.
 */
export function createGroupNameCache(): LastDecoded {
  return new LastDecoded(GROUP_NAME_BYTES_MAX, (bytes) =>
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'),
  );
}

/**
 * Reads one frame (without its length prefix); `groupNames`: the decoder's cache; `compact`: version 2, compact
 * frames allowed.
 */
export function decodeFrame(frame: Buffer, groupNames: LastDecoded, compact = true): Decoded {
  if (frame.length < 1) return { problem: 'a frame of 0 bytes, shorter than its head' };
  const flags = frame.readUInt8(0);
  if (flags === FLAG_COMPACT && compact) return decodeCompact(frame, groupNames);
  if ((flags & ~FLAG_PAYLOAD) !== 0) return { problem: `a frame with unknown flags 0x${flags.toString(16)}` };
  if (frame.length < HEAD_BYTES) return { problem: `a frame of ${frame.length} bytes, shorter than its head` };
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

/** A compact frame (flags 0x02): its kind's fixed fields, then the group name and the payload (a view, not a copy). */
function decodeCompact(frame: Buffer, groupNames: LastDecoded): Decoded {
  const kind = frame.length >= COMPACT_HEAD_BYTES ? frame.readUInt8(1) : -1;
  const fixed =
    kind === KIND_CPG_MCAST
      ? MCAST_FIXED_BYTES
      : kind === KIND_CPG_DELIVER
        ? DELIVER_FIXED_BYTES
        : kind === KIND_OK
          ? OK_FIXED_BYTES
          : undefined;
  if (fixed === undefined) return { problem: `a compact frame of unknown kind ${kind}` };
  if (frame.length < COMPACT_HEAD_BYTES + fixed) {
    return { problem: `a compact frame of kind ${kind} of ${frame.length} bytes, shorter than its fields` };
  }
  const a = frame.readUInt32BE(COMPACT_HEAD_BYTES);
  if (kind === KIND_OK) {
    return frame.length === COMPACT_HEAD_BYTES + OK_FIXED_BYTES
      ? { message: { id: a, result: { ok: true } } }
      : { problem: `a compact answer of ${frame.length} bytes (it is ${COMPACT_HEAD_BYTES + OK_FIXED_BYTES})` };
  }
  const b = frame.readUInt32BE(COMPACT_HEAD_BYTES + 4);
  const groupAt = COMPACT_HEAD_BYTES + fixed;
  const groupBytes = frame.readUInt8(groupAt - 1);
  if (groupAt + groupBytes > frame.length) {
    return { problem: `a compact frame whose group (${groupBytes} bytes) overruns the frame (${frame.length} bytes)` };
  }
  const group = groupNames.decode(frame, groupAt, groupAt + groupBytes);
  const data = frame.subarray(groupAt + groupBytes);
  if (kind === KIND_CPG_DELIVER) return { message: { event: 'cpgDeliver', data: { group, nodeid: a, pid: b, data } } };
  const delivery = frame.readUInt8(COMPACT_HEAD_BYTES + 8);
  if (delivery > 1) return { problem: `a compact cpgMcast with unknown delivery ${delivery}` };
  const params = delivery === 1 ? { group, data, seq: b, delivery: 'safe' } : { group, data, seq: b };
  return { message: { id: a, method: 'cpgMcast', params } };
}

class BinaryDecoder implements FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private readonly groupNames = createGroupNameCache();

  constructor(
    private readonly frameBytesMax: number,
    private readonly compact: boolean,
  ) {}

  push(chunk: Uint8Array): Decoded[] {
    this.chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.buffered += chunk.byteLength;
    const decoded: Decoded[] = [];
    while (this.buffered >= LENGTH_BYTES) {
      let first = this.chunks[0]!.length < LENGTH_BYTES ? this.joinFront(LENGTH_BYTES) : this.chunks[0]!;
      const length = this.checked(first.readUInt32BE(0));
      if (this.buffered < LENGTH_BYTES + length) break;
      if (first.length < LENGTH_BYTES + length) first = this.joinFront(LENGTH_BYTES + length);
      // Every whole frame of the first chunk (a read of many small frames is one chunk), by offset.
      let at = 0;
      while (first.length - at >= LENGTH_BYTES) {
        const bytes = this.checked(first.readUInt32BE(at));
        if (first.length - at < LENGTH_BYTES + bytes) break;
        const frame = first.subarray(at + LENGTH_BYTES, at + LENGTH_BYTES + bytes);
        decoded.push(decodeFrame(frame, this.groupNames, this.compact));
        at += LENGTH_BYTES + bytes;
      }
      this.buffered -= at;
      if (at === first.length) this.chunks.shift();
      else this.chunks[0] = first.subarray(at);
    }
    return decoded;
  }

  private checked(length: number): number {
    if (length > this.frameBytesMax) {
      throw new FramingError(`a frame of ${length} bytes, over the limit of ${this.frameBytesMax}`);
    }
    return length;
  }

  /**
   * Joins the first `bytes` buffered bytes (a frame or a length prefix split across reads) into one chunk, in their
   * place: only they are copied, not the rest of the read they end in.
   */
  private joinFront(bytes: number): Buffer {
    const joined = Buffer.allocUnsafe(bytes);
    let filled = 0;
    let used = 0;
    while (filled < bytes) {
      const chunk = this.chunks[used]!;
      const taken = Math.min(chunk.length, bytes - filled);
      chunk.copy(joined, filled, 0, taken);
      filled += taken;
      if (taken === chunk.length) used++;
      else this.chunks[used] = chunk.subarray(taken);
    }
    this.chunks.splice(0, used, joined);
    return joined;
  }
}
