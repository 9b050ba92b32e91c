/**
 * Totem wire messages and their codec (little-endian, fixed header). Shapes follow corosync's totemsrp.c
 * (`enum message_type`, TOCS 1995 §3–§4): ORF token, MCAST (optionally encapsulating an old-ring message during
 * recovery), JOIN, commit token, MERGE_DETECT, TOKEN_HOLD_CANCEL.
 *
 * Deliberate deviation: sequence numbers and ring seqs are 53-bit integers on the wire (two u32 words) instead of
 * corosync's u32 with serial-number arithmetic — a ring would need 2^53 messages to wrap, so plain comparisons are
 * correct. Decoding never throws: anything malformed yields `null` and the caller counts it.
 */
import { MESSAGE_BYTES_MAX } from '../base/limits.ts';
import type { ConfigStamp, Guarantee, RingId } from './types.ts';

/** Header magic ('totem' for corolink), distinguishes Totem messages from stray bytes. */
export const TOTEM_MAGIC = 0xc07a;
/** Wire format version; a different version is rejected. */
export const TOTEM_WIRE_VERSION = 2;
/** Most nodes in a ring, a join set or a commit token (corosync PROCESSOR_COUNT_MAX). */
export const PROCESSORS_MAX = 384;
/** Most entries on the token's retransmit list (corosync RETRANSMIT_ENTRIES_MAX). */
export const RETRANSMIT_ENTRIES_MAX = 30;

const U32_SPAN = 0x1_0000_0000;
const TYPE_CODES = { token: 0, mcast: 1, mergeDetect: 2, join: 3, commit: 4, holdCancel: 5 } as const;
/** Where the type code sits in the header: after magic u16 and version u8. */
const TYPE_OFFSET = 3;
const TYPE_NAMES = Object.keys(TYPE_CODES) as TotemMessage['type'][];
/** First size of the encoder's scratch buffer: a token, or an MCAST of one frame's payload, fits. */
const WRITER_BYTES_INITIAL = 2048;

/** One application message as ordered on a ring (corosync `mcast` header + payload). */
export interface RegularMessage {
  ringId: RingId;
  sender: number;
  seq: number;
  guarantee: Guarantee;
  payload: Uint8Array;
}

/** MCAST: a regular message; during recovery `inner` carries an old-ring message re-sent on the new ring. */
export interface McastMessage extends RegularMessage {
  type: 'mcast';
  inner: RegularMessage | null;
}

/** ORF token (ordering, reliability, flow control) — TOCS §3, corosync `struct orf_token`. */
export interface TokenMessage {
  type: 'token';
  ringId: RingId;
  /** Counts token hops; a copy with a seq already seen is a retransmission and is dropped. */
  tokenSeq: number;
  /** Highest message seq assigned on the ring. */
  seq: number;
  /** All-received-up-to, lowered by any node missing messages (TOCS §3). */
  aru: number;
  /** Node that last lowered aru (0: none). */
  aruAddr: number;
  /** Messages sent during the last rotation (flow control). */
  fcc: number;
  /** Messages queued ring-wide (flow control; in recovery: old-ring messages still to re-send). */
  backlog: number;
  /** Recovery only: the representative found every member holding every recovered message — install the ring. */
  install: boolean;
  /** Seqs someone misses (≤ RETRANSMIT_ENTRIES_MAX). */
  rtr: number[];
}

/** JOIN (gather state): the sender's process set and fail set, and the highest ring seq it knows. */
export interface JoinMessage {
  type: 'join';
  sender: number;
  proc: number[];
  fail: number[];
  ringSeq: number;
  /** Nodes the sender's transport cannot reach on any link (absent when none): see docs/totem.md, asymmetry. */
  unreachable?: number[];
  /** The cluster config the sender runs: a stranger with another one is not admitted. */
  stamp: ConfigStamp;
}

/** One member's entry in the commit token: what it holds of its old ring. */
export interface CommitEntry {
  nodeId: number;
  /** The member's last installed ring (null: none yet). */
  oldRingId: RingId | null;
  aru: number;
  highSeq: number;
  highDelivered: number;
}

/** Commit token: the new ring and, after the first rotation, every member's entry (TOCS §4.2). */
export interface CommitMessage {
  type: 'commit';
  ringId: RingId;
  /** Sorted ascending; the ring order. */
  members: number[];
  entries: CommitEntry[];
}

/** MERGE_DETECT: the representative of an operational ring announces it, so other partitions can merge. */
export interface MergeDetectMessage {
  type: 'mergeDetect';
  sender: number;
  ringId: RingId;
  /** Nodes the sender's transport cannot reach on any link (absent when none). */
  unreachable?: number[];
  /** The members of the sender's ring (absent when unknown), so a node that cannot reach one of them stays out. */
  members?: number[];
  /** The cluster config the sender runs: a ring with another one is not merged with. */
  stamp: ConfigStamp;
}

/** TOKEN_HOLD_CANCEL: "I have data" — the representative stops holding the token. */
export interface HoldCancelMessage {
  type: 'holdCancel';
  sender: number;
  ringId: RingId;
}

/** Every Totem wire message. */
export type TotemMessage =
  | TokenMessage
  | McastMessage
  | JoinMessage
  | CommitMessage
  | MergeDetectMessage
  | HoldCancelMessage;

/**
 * Writes fields into a scratch buffer that is reused from one message to the next (it grows to the largest
 * message encoded, at most MESSAGE_BYTES_MAX plus headers): no buffer and no regrowth per message.
 */
class Writer {
  private bytes = new Uint8Array(WRITER_BYTES_INITIAL);
  private view = new DataView(this.bytes.buffer);
  private length = 0;

  /** Starts a new message. */
  reset(): void {
    this.length = 0;
  }

  private reserve(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + n));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }
  u8(value: number): void {
    this.reserve(1);
    this.view.setUint8(this.length, value);
    this.length += 1;
  }
  u16(value: number): void {
    this.reserve(2);
    this.view.setUint16(this.length, value, true);
    this.length += 2;
  }
  u32(value: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, value, true);
    this.length += 4;
  }
  u53(value: number): void {
    this.u32(value % U32_SPAN);
    this.u32(Math.floor(value / U32_SPAN));
  }
  ringId(ringId: RingId): void {
    this.u32(ringId.rep);
    this.u53(ringId.seq);
  }
  ids(ids: readonly number[]): void {
    this.u16(ids.length);
    for (const id of ids) this.u32(id);
  }
  stamp(stamp: ConfigStamp): void {
    this.u53(stamp.version);
    this.u32(stamp.digest);
  }
  blob(payload: Uint8Array): void {
    this.u32(payload.length);
    this.reserve(payload.length);
    this.bytes.set(payload, this.length);
    this.length += payload.length;
  }
  /** A copy of the message written since `reset`. */
  finish(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

/** The one writer of `encodeMessage`, which never calls itself. */
const writer = new Writer();

/** Reads fields; any overrun or bad value sets `ok = false` and later reads return 0. */
class Reader {
  ok = true;
  private offset = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  private take(n: number): number {
    if (!this.ok || this.offset + n > this.bytes.length) {
      this.ok = false;
      return -1;
    }
    const at = this.offset;
    this.offset += n;
    return at;
  }
  u8(): number {
    const at = this.take(1);
    return at < 0 ? 0 : this.view.getUint8(at);
  }
  u16(): number {
    const at = this.take(2);
    return at < 0 ? 0 : this.view.getUint16(at, true);
  }
  u32(): number {
    const at = this.take(4);
    return at < 0 ? 0 : this.view.getUint32(at, true);
  }
  u53(): number {
    const low = this.u32();
    const high = this.u32();
    if (high >= 1 << 21) this.ok = false;
    return high * U32_SPAN + low;
  }
  nodeId(): number {
    const id = this.u32();
    if (id === 0) this.ok = false;
    return id;
  }
  ringId(): RingId {
    return { rep: this.nodeId(), seq: this.u53() };
  }
  stamp(): ConfigStamp {
    return { version: this.u53(), digest: this.u32() };
  }
  ids(max: number): number[] {
    const count = this.u16();
    if (count > max) this.ok = false;
    const ids: number[] = [];
    for (let i = 0; i < count && this.ok; i++) ids.push(this.nodeId());
    return ids;
  }
  flag(): boolean {
    const value = this.u8();
    if (value > 1) this.ok = false;
    return value === 1;
  }
  guarantee(): Guarantee {
    return this.flag() ? 'safe' : 'agreed';
  }
  /** A view, not a copy (decodeMessage). */
  blob(): Uint8Array {
    const length = this.u32();
    if (length > MESSAGE_BYTES_MAX) this.ok = false;
    const at = this.take(length);
    return at < 0 ? new Uint8Array(0) : this.bytes.subarray(at, at + length);
  }
  atEnd(): boolean {
    return this.ok && this.offset === this.bytes.length;
  }
}

function writeRegular(w: Writer, m: RegularMessage): void {
  w.ringId(m.ringId);
  w.u32(m.sender);
  w.u53(m.seq);
  w.u8(m.guarantee === 'safe' ? 1 : 0);
  w.blob(m.payload);
}

function readRegular(r: Reader): RegularMessage {
  return { ringId: r.ringId(), sender: r.nodeId(), seq: r.u53(), guarantee: r.guarantee(), payload: r.blob() };
}

function writeOptionalRingId(w: Writer, ringId: RingId | null): void {
  w.u8(ringId ? 1 : 0);
  if (ringId) w.ringId(ringId);
}

function readOptionalRingId(r: Reader): RingId | null {
  return r.flag() ? r.ringId() : null;
}

/** Encodes one Totem message. */
export function encodeMessage(message: TotemMessage): Uint8Array {
  const w = writer;
  w.reset();
  w.u16(TOTEM_MAGIC);
  w.u8(TOTEM_WIRE_VERSION);
  w.u8(TYPE_CODES[message.type]);
  switch (message.type) {
    case 'token':
      w.ringId(message.ringId);
      w.u53(message.tokenSeq);
      w.u53(message.seq);
      w.u53(message.aru);
      w.u32(message.aruAddr);
      w.u32(message.fcc);
      w.u32(message.backlog);
      w.u8(message.install ? 1 : 0);
      w.u16(message.rtr.length);
      for (const seq of message.rtr) w.u53(seq);
      break;
    case 'mcast':
      writeRegular(w, message);
      w.u8(message.inner ? 1 : 0);
      if (message.inner) writeRegular(w, message.inner);
      break;
    case 'join':
      w.u32(message.sender);
      w.ids(message.proc);
      w.ids(message.fail);
      w.u53(message.ringSeq);
      w.ids(message.unreachable ?? []);
      w.stamp(message.stamp);
      break;
    case 'commit':
      w.ringId(message.ringId);
      w.ids(message.members);
      w.u16(message.entries.length);
      for (const entry of message.entries) {
        w.u32(entry.nodeId);
        writeOptionalRingId(w, entry.oldRingId);
        w.u53(entry.aru);
        w.u53(entry.highSeq);
        w.u53(entry.highDelivered);
      }
      break;
    case 'mergeDetect':
      w.u32(message.sender);
      w.ringId(message.ringId);
      w.ids(message.unreachable ?? []);
      w.ids(message.members ?? []);
      w.stamp(message.stamp);
      break;
    case 'holdCancel':
      w.u32(message.sender);
      w.ringId(message.ringId);
      break;
  }
  return w.finish();
}

/** The optional `unreachable` field: omitted when empty, so messages without it round-trip unchanged. */
function withUnreachable(ids: number[]): { unreachable?: number[] } {
  return ids.length === 0 ? {} : { unreachable: ids };
}

function decodeBody(r: Reader, type: number): TotemMessage | null {
  switch (type) {
    case TYPE_CODES.token: {
      const ringId = r.ringId();
      const tokenSeq = r.u53();
      const seq = r.u53();
      const aru = r.u53();
      const aruAddr = r.u32();
      const fcc = r.u32();
      const backlog = r.u32();
      const install = r.flag();
      const count = r.u16();
      if (count > RETRANSMIT_ENTRIES_MAX) return null;
      const rtr: number[] = [];
      for (let i = 0; i < count; i++) rtr.push(r.u53());
      if (aru > seq || rtr.some((s) => s > seq)) return null;
      return { type: 'token', ringId, tokenSeq, seq, aru, aruAddr, fcc, backlog, install, rtr };
    }
    case TYPE_CODES.mcast: {
      const outer = readRegular(r);
      const inner = r.flag() ? readRegular(r) : null;
      return { type: 'mcast', ...outer, inner };
    }
    case TYPE_CODES.join:
      return {
        type: 'join',
        sender: r.nodeId(),
        proc: r.ids(PROCESSORS_MAX),
        fail: r.ids(PROCESSORS_MAX),
        ringSeq: r.u53(),
        ...withUnreachable(r.ids(PROCESSORS_MAX)),
        stamp: r.stamp(),
      };
    case TYPE_CODES.commit: {
      const ringId = r.ringId();
      const members = r.ids(PROCESSORS_MAX);
      const count = r.u16();
      if (count > members.length) return null;
      const entries: CommitEntry[] = [];
      for (let i = 0; i < count && r.ok; i++) {
        entries.push({
          nodeId: r.nodeId(),
          oldRingId: readOptionalRingId(r),
          aru: r.u53(),
          highSeq: r.u53(),
          highDelivered: r.u53(),
        });
      }
      const sorted = members.every((id, i) => i === 0 || members[i - 1]! < id);
      if (!sorted || members.length === 0 || entries.some((e, i) => e.nodeId !== members[i])) return null;
      return { type: 'commit', ringId, members, entries };
    }
    case TYPE_CODES.mergeDetect: {
      const head = { type: 'mergeDetect' as const, sender: r.nodeId(), ringId: r.ringId() };
      const unreachable = withUnreachable(r.ids(PROCESSORS_MAX));
      const members = r.ids(PROCESSORS_MAX);
      return { ...head, ...unreachable, ...(members.length === 0 ? {} : { members }), stamp: r.stamp() };
    }
    case TYPE_CODES.holdCancel:
      return { type: 'holdCancel', sender: r.nodeId(), ringId: r.ringId() };
    default:
      return null;
  }
}

/**
 * Decodes one Totem message; `null` when it is malformed (never throws). An MCAST's payload is a view into `bytes`,
 * which the caller never reuses (the transport hands over each received message in its own buffer).
 */
export function decodeMessage(bytes: Uint8Array): TotemMessage | null {
  const r = new Reader(bytes);
  if (r.u16() !== TOTEM_MAGIC || r.u8() !== TOTEM_WIRE_VERSION) return null;
  const message = decodeBody(r, r.u8());
  return message && r.atEnd() ? message : null;
}

/** The type code of an encoded message, unchecked (magic and version are not read): for traces. Null: no known code. */
export function peekMessageType(bytes: Uint8Array): TotemMessage['type'] | null {
  const code = bytes[TYPE_OFFSET];
  return TYPE_NAMES[code ?? -1] ?? null;
}

/**
 * The hop counter of an ORF token without decoding the rest (null for any other message): lets the daemon's token
 * trace and rotation metric recognise tokens on the hot path cheaply.
 */
export function peekTokenSeq(bytes: Uint8Array): number | null {
  if (bytes[TYPE_OFFSET] !== TYPE_CODES.token) return null; // most messages: no reader allocated
  const r = new Reader(bytes);
  if (r.u16() !== TOTEM_MAGIC || r.u8() !== TOTEM_WIRE_VERSION || r.u8() !== TYPE_CODES.token) return null;
  r.ringId();
  const tokenSeq = r.u53();
  return r.ok ? tokenSeq : null;
}
