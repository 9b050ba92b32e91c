/**
 * Messages of the replicated file store on its CPG group: one type byte, a u32 length, a JSON header, then raw
 * bytes (file contents). `decodeCfsMessage` never throws: a malformed message (bad framing, JSON or header
 * fields) decodes to undefined.
 */

/** Entry metadata inside a STATE chunk; the contents follow the header back to back in this order. */
export interface StateEntryHeader {
  path: string;
  version: number;
  mtime: number;
  size: number;
}

export type CfsMessage =
  | { type: 'put'; origin: number; req: number; path: string; mtime: number; data: Uint8Array }
  | { type: 'rm'; origin: number; req: number; path: string }
  /**
   * After a configuration change: what the sender holds. `members` names the view it was sent for; `epoch`: the
   * ring seq its last write was sent in (absent from daemons before it existed: 0); `stale`: the sender's copy
   * missed writes it could not store (it never serves as the source while another member can).
   */
  | { type: 'summary'; members: number[]; seq: number; epoch?: number; digest: string; stale?: boolean }
  /** Part of the sync source's full state. */
  | { type: 'state'; members: number[]; entries: StateEntryHeader[]; data: Uint8Array }
  /** The sync source's state is complete. */
  | { type: 'stateEnd'; members: number[]; seq: number; epoch?: number; digest: string }
  /** A member whose copy is stale can store again: every member restarts the sync of the view `members`. */
  | { type: 'resync'; members: number[] };

const TYPES = ['put', 'rm', 'summary', 'state', 'stateEnd', 'resync'] as const;

type Header = Record<string, unknown>;
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isMembers = (v: unknown) => Array.isArray(v) && v.every(isNumber);
const isWrite = (h: Header) => isNumber(h.origin) && isNumber(h.req) && typeof h.path === 'string';
const isSummary = (h: Header) =>
  isMembers(h.members) &&
  isNumber(h.seq) &&
  (h.epoch === undefined || isNumber(h.epoch)) &&
  typeof h.digest === 'string' &&
  (h.stale === undefined || typeof h.stale === 'boolean');
const isEntry = (e: unknown) => {
  const h = e as Header;
  return (
    typeof h === 'object' &&
    h !== null &&
    typeof h.path === 'string' &&
    isNumber(h.version) &&
    isNumber(h.mtime) &&
    isNumber(h.size) &&
    h.size >= 0
  );
};

/** The header fields each type needs (a decoded message is well-formed, whatever the peer sent). */
const SHAPES: Record<CfsMessage['type'], (h: Header, dataBytes: number) => boolean> = {
  put: (h) => isWrite(h) && isNumber(h.mtime),
  rm: isWrite,
  summary: isSummary,
  state: (h, dataBytes) =>
    isMembers(h.members) &&
    Array.isArray(h.entries) &&
    h.entries.every(isEntry) &&
    (h.entries as StateEntryHeader[]).reduce((sum, e) => sum + e.size, 0) === dataBytes,
  stateEnd: isSummary,
  resync: (h) => isMembers(h.members),
};

export function encodeCfsMessage(message: CfsMessage): Uint8Array {
  const { type, ...rest } = message;
  const data = 'data' in rest ? rest.data : new Uint8Array(0);
  const header = Buffer.from(JSON.stringify({ ...rest, data: undefined }));
  const out = Buffer.alloc(5 + header.byteLength + data.byteLength);
  out.writeUInt8(TYPES.indexOf(type), 0);
  out.writeUInt32BE(header.byteLength, 1);
  header.copy(out, 5);
  out.set(data, 5 + header.byteLength);
  return out;
}

export function decodeCfsMessage(bytes: Uint8Array): CfsMessage | undefined {
  if (bytes.byteLength < 5) return undefined;
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = TYPES[view.readUInt8(0)];
  const headerEnd = 5 + view.readUInt32BE(1);
  if (type === undefined || headerEnd > view.byteLength) return undefined;
  try {
    const header = JSON.parse(view.subarray(5, headerEnd).toString('utf8')) as Record<string, unknown>;
    const data = new Uint8Array(view.subarray(headerEnd));
    if (typeof header !== 'object' || header === null || !SHAPES[type](header, data.byteLength)) return undefined;
    return { ...header, type, data } as CfsMessage;
  } catch {
    return undefined;
  }
}
