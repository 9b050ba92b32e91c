// Wire format of CPG messages carried in Totem's agreed order (one encoded message may span several fragments,
// see fragments.ts). Little-endian; decode never throws and returns undefined for malformed input.

import { assert } from '../base/assert.ts';
import { LastDecoded } from '../base/last-decoded.ts';
import { GROUP_NAME_BYTES_MAX } from '../base/limits.ts';
import type { RingId } from './types.ts';

/** A process's membership announcement inside a sync message. */
export interface SyncMember {
  group: string;
  pid: number;
}

/** A CPG message as multicast through Totem. */
export type CpgMessage =
  | { type: 'sync'; ringId: RingId; members: SyncMember[] }
  | { type: 'join'; group: string; pid: number }
  | { type: 'leave'; group: string; pid: number }
  | { type: 'procdown'; group: string; pid: number }
  | { type: 'data'; group: string; pid: number; payload: Uint8Array };

const TYPE_CODES = { sync: 1, join: 2, leave: 3, procdown: 4, data: 5 } as const;
const TYPE_BYTES = 1;
const PID_BYTES = 4;
const RING_ID_BYTES = 4 + 8;
const COUNT_BYTES = 4;
const NAME_LENGTH_BYTES = 1;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
/**
 * Where a group name is encoded before its bytes are copied into the message: one array for every message, not
 * one per message. Callers have validated names (≤ GROUP_NAME_BYTES_MAX bytes); encodeProcess asserts it.
 */
const nameScratch = new Uint8Array(GROUP_NAME_BYTES_MAX);

/** True when `group` is a usable group name (non-empty, at most {@link GROUP_NAME_BYTES_MAX} UTF-8 bytes). */
export function isValidGroupName(group: string): boolean {
  const length = encoder.encode(group).length;
  return length > 0 && length <= GROUP_NAME_BYTES_MAX;
}

/**
 * Encodes one CPG message as consecutive parts (a data message's payload is the last part, not copied: fragment()
 * copies the parts once into the Totem payloads). The caller has validated group names.
 */
export function encodeCpgMessage(message: CpgMessage): Uint8Array[] {
  if (message.type !== 'sync') {
    // The type code and the process in one array: a data message is 2 parts, its header one allocation.
    const header = encodeProcess(message.group, message.pid, TYPE_CODES[message.type]);
    return message.type === 'data' ? [header, message.payload] : [header];
  }
  const header = new DataView(new ArrayBuffer(TYPE_BYTES + RING_ID_BYTES + COUNT_BYTES));
  header.setUint8(0, TYPE_CODES.sync);
  header.setUint32(TYPE_BYTES, message.ringId.rep, true);
  header.setFloat64(TYPE_BYTES + 4, message.ringId.seq, true);
  header.setUint32(TYPE_BYTES + RING_ID_BYTES, message.members.length, true);
  const parts: Uint8Array[] = [new Uint8Array(header.buffer)];
  for (const member of message.members) parts.push(encodeProcess(member.group, member.pid));
  return parts;
}

/**
 * The group-name cache of one decoding node (see LastDecoded): a stream of messages of one group decodes its name
 * once. Owned by the decoder (the CPG core), not shared by the module: the core holds no module state.
 */
export function createGroupNameCache(): LastDecoded {
  return new LastDecoded(GROUP_NAME_BYTES_MAX, (bytes) => decoder.decode(bytes));
}

/**
 * Decodes one CPG message; undefined when the bytes are not a well-formed CPG message. A data message's payload is
 * a view into `bytes` (a delivered Totem payload, never reused), not a copy. `groupNames`: the decoder's cache.
 */
export function decodeCpgMessage(bytes: Uint8Array, groupNames: LastDecoded): CpgMessage | undefined {
  const code = bytes[0];
  if (code === TYPE_CODES.sync) return decodeSync(bytes, groupNames);
  // The other messages are one process after the type code, read without a Reader: data messages are the hot path.
  const nameAt = TYPE_BYTES + PID_BYTES + NAME_LENGTH_BYTES;
  if (bytes.length < nameAt) return undefined;
  const pid = (bytes[1]! | (bytes[2]! << 8) | (bytes[3]! << 16) | (bytes[4]! << 24)) >>> 0;
  const end = nameAt + bytes[nameAt - 1]!;
  const group = end > bytes.length ? undefined : decodeGroupName(groupNames, bytes, nameAt, end);
  if (group === undefined) return undefined;
  if (code === TYPE_CODES.data) return { type: 'data', group, pid, payload: bytes.subarray(end) };
  if (end !== bytes.length) return undefined;
  if (code === TYPE_CODES.join) return { type: 'join', group, pid };
  if (code === TYPE_CODES.leave) return { type: 'leave', group, pid };
  if (code === TYPE_CODES.procdown) return { type: 'procdown', group, pid };
  return undefined;
}

function decodeSync(bytes: Uint8Array, groupNames: LastDecoded): CpgMessage | undefined {
  const reader = new Reader(bytes);
  reader.u8();
  const rep = reader.u32();
  const seq = reader.f64();
  const count = reader.u32();
  if (rep === undefined || seq === undefined || count === undefined) return undefined;
  const members: SyncMember[] = [];
  for (let i = 0; i < count; i++) {
    const member = reader.process(groupNames);
    if (!member) return undefined;
    members.push(member);
  }
  return reader.atEnd() ? { type: 'sync', ringId: { rep, seq }, members } : undefined;
}

/** The group name in `bytes[start, end)`; undefined when empty, too long or not UTF-8. */
function decodeGroupName(groupNames: LastDecoded, bytes: Uint8Array, start: number, end: number): string | undefined {
  const length = end - start;
  if (length === 0 || length > GROUP_NAME_BYTES_MAX) return undefined;
  try {
    return groupNames.decode(bytes, start, end);
  } catch {
    return undefined;
  }
}

/** A process (pid u32, name length u8, name), after the message's type code when one is given. */
function encodeProcess(group: string, pid: number, typeCode?: number): Uint8Array {
  const at = typeCode === undefined ? 0 : TYPE_BYTES;
  const { read, written: nameBytes } = encoder.encodeInto(group, nameScratch);
  assert(read === group.length, 'cpg codec: a group name fits GROUP_NAME_BYTES_MAX (callers validate it)');
  const nameAt = at + PID_BYTES + NAME_LENGTH_BYTES;
  const out = new Uint8Array(nameAt + nameBytes);
  if (typeCode !== undefined) out[0] = typeCode;
  out[at] = pid & 0xff;
  out[at + 1] = (pid >>> 8) & 0xff;
  out[at + 2] = (pid >>> 16) & 0xff;
  out[at + 3] = pid >>> 24;
  out[nameAt - 1] = nameBytes;
  for (let i = 0; i < nameBytes; i++) out[nameAt + i] = nameScratch[i]!;
  return out;
}

/** Concatenates byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(byteLength(parts));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Total bytes of `parts`. */
export function byteLength(parts: readonly Uint8Array[]): number {
  let bytes = 0;
  for (const part of parts) bytes += part.length;
  return bytes;
}

/** Bounds-checked little-endian reader: every read returns undefined past the end. */
class Reader {
  private offset = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  u8(): number | undefined {
    return this.take(1) ? this.view.getUint8(this.offset - 1) : undefined;
  }

  u32(): number | undefined {
    return this.take(4) ? this.view.getUint32(this.offset - 4, true) : undefined;
  }

  f64(): number | undefined {
    return this.take(8) ? this.view.getFloat64(this.offset - 8, true) : undefined;
  }

  process(groupNames: LastDecoded): SyncMember | undefined {
    const pid = this.u32();
    const length = this.u8();
    if (pid === undefined || length === undefined || !this.take(length)) return undefined;
    const group = decodeGroupName(groupNames, this.bytes, this.offset - length, this.offset);
    return group === undefined ? undefined : { pid, group };
  }

  atEnd(): boolean {
    return this.offset === this.bytes.length;
  }

  private take(count: number): boolean {
    if (this.offset + count > this.bytes.length) return false;
    this.offset += count;
    return true;
  }
}
