/**
 * corolink frame codecs: one fixed, big-endian, versioned header followed by a type-specific body.
 *
 * Modelled on knet's `onwire.h` / `onwire_v1.c` (a header with a version and a packet type, data packets with a
 * per-host sequence number and fragment number/count, ping/pong with a timestamp, PMTUd probe/reply). Deliberate
 * deviations: no wire compatibility with knet; a cluster id (FNV-1a of `cluster_name`) and a sender incarnation
 * in every header; 32-bit sequence numbers instead of 16-bit; fragments carry their byte offset and the whole
 * message length so the receiver can bound its memory before the first byte is copied.
 *
 * Header (HEADER_BYTES = 24):
 * ```
 *  0 magic u16 (0xC07C)   2 version u8   3 type u8   4 flags u8   5 link u8   6 body length u16
 *  8 cluster id u32      12 source node id u32      16 incarnation u32       20 seq u32
 * ```
 * Bodies: data = payload; fragment = message length u32, offset u32, index u16, count u16, payload;
 * ping/pong = ping seq u32, send timestamp f64 (ms, the pinger's clock); a ping may append an echo of the peer's
 * latest ping: its ping seq u32, its send timestamp f64 (the peer's clock) and how long it was held f64 (ms; body 32
 * bytes — a decoder of the 12-byte-only ping rejects it as bad_length); pmtu probe = probe seq u32 + padding; pmtu
 * reply = probe seq u32, probed frame size u32. A ping with FLAG_NO_PONG asks for no pong: its echo in the peer's
 * next ping answers it (docs/transport.md § Echo pings); a decoder that ignores the flag pongs as before.
 *
 * Decoding never throws: it returns `{ ok: false, reason }`. Encoding asserts its inputs (a bad field is a
 * programmer error, not an operating error).
 */
import { freshBytes } from '../base/fresh-bytes.ts';
import { LINK_NUMBER_MAX } from '../base/limits.ts';

/** First two bytes of every corolink frame. */
export const WIRE_MAGIC = 0xc07c;
/** The only header version this code speaks. */
export const WIRE_VERSION = 1;
/** Size of the fixed header in bytes. */
export const HEADER_BYTES = 24;
/** Byte offset of the link field in the header. */
const LINK_FIELD_OFFSET = 5;
/** Size of the fragment sub-header (message length, offset, index, count). */
export const FRAGMENT_HEADER_BYTES = 12;
/** Size of a ping or pong body (ping seq u32 + timestamp f64). */
export const PING_BODY_BYTES = 12;
/** Size of the echo a ping may append (the peer's ping seq u32 + its timestamp f64 + held ms f64). */
export const PING_ECHO_BYTES = 20;
/** Minimum size of a PMTU probe body (the probe seq; the rest is padding). */
export const PMTU_PROBE_MIN_BODY_BYTES = 4;
/** Size of a PMTU reply body (probe seq u32 + probed frame size u32). */
export const PMTU_REPLY_BODY_BYTES = 8;
/** Body of a link-state frame: the sender's link number u8, the state u8 (its index in LINK_STATES). */
export const LINK_STATE_BODY_BYTES = 2;
/** Why a sender's link is down, as a link-state frame says it (docs/transport.md § Carrier). */
export const LINK_STATES = ['noCarrier', 'disabled'] as const;
/** A link-state frame's state. */
export type LinkState = (typeof LINK_STATES)[number];
/** The body length field is a u16. */
export const BODY_BYTES_MAX = 0xffff;
/** Largest frame the header can describe. */
export const FRAME_BYTES_MAX = HEADER_BYTES + BODY_BYTES_MAX;
/** Most fragments one message may have (the index/count fields are u16). */
export const FRAGMENTS_MAX = 0xffff;
/** Flag bit: the frame carries control traffic (sent on every up link). Informational for the receiver. */
export const FLAG_URGENT = 0x01;
/** Flag bit of a ping: answer with an echo in your next ping, not with a pong (a quiet, connected link). */
export const FLAG_NO_PONG = 0x02;

/** Numeric packet type codes on the wire. */
export const PacketTypeCode = {
  data: 1,
  fragment: 2,
  ping: 3,
  pong: 4,
  pmtuProbe: 5,
  pmtuReply: 6,
  linkState: 7,
} as const;
/** A packet type name. */
export type PacketType = keyof typeof PacketTypeCode;

const typeByCode: readonly (PacketType | undefined)[] = [
  undefined,
  'data',
  'fragment',
  'ping',
  'pong',
  'pmtuProbe',
  'pmtuReply',
  'linkState',
];

/** Fields common to every frame. */
export interface FrameHeader {
  /** clusterIdFromName(cluster_name). */
  clusterId: number;
  /** corosync nodeid of the sender (positive u32). */
  sourceNodeId: number;
  /** Changes when the sender restarts, so receivers reset their duplicate filter and reassembly state. */
  incarnation: number;
  /** Link number (0..7) the frame was sent on. */
  link: number;
  /** Per-sending-host message sequence number (u32, wraps); 0 in ping/pong/PMTU frames. */
  seq: number;
  /** Flag bits (FLAG_URGENT). Unknown bits are carried, not rejected. */
  flags: number;
}

/** The echo of the peer's latest ping carried by a ping: round-trip evidence for the peer, dated `now − heldMs`. */
export interface PingEcho {
  /** The echoed ping's seq. */
  pingSeq: number;
  /** The echoed ping's send timestamp (the peer's clock). */
  sentAtMs: number;
  /** How long the echoing node held the ping before this frame went out (ms, ≥ 0). */
  heldMs: number;
}

/** A decoded frame. Payloads are views into the decoded bytes (no copy). */
export type Packet =
  | { type: 'data'; header: FrameHeader; payload: Uint8Array }
  | {
      type: 'fragment';
      header: FrameHeader;
      /** Length of the whole message. */
      messageBytes: number;
      /** Byte offset of this fragment's payload in the message. */
      offset: number;
      /** Fragment number, 0-based. */
      index: number;
      /** Number of fragments of the message. */
      count: number;
      payload: Uint8Array;
    }
  | { type: 'ping'; header: FrameHeader; pingSeq: number; sentAtMs: number; echo?: PingEcho }
  | { type: 'pong'; header: FrameHeader; pingSeq: number; sentAtMs: number }
  | { type: 'pmtuProbe'; header: FrameHeader; probeSeq: number; frameBytes: number }
  | { type: 'pmtuReply'; header: FrameHeader; probeSeq: number; probedBytes: number }
  /** "My link `link` is down: no carrier / disabled", sent on the sender's other links (docs/transport.md § Carrier). */
  | { type: 'linkState'; header: FrameHeader; link: number; state: LinkState };

/** Why a frame was rejected by decodePacket. */
export type RejectReason =
  | 'too_short'
  | 'bad_magic'
  | 'bad_version'
  | 'unknown_type'
  | 'bad_length'
  | 'wrong_cluster'
  | 'bad_link'
  | 'bad_node_id'
  | 'bad_fragment'
  | 'bad_timestamp'
  | 'bad_echo'
  | 'bad_link_state';

/** Every RejectReason, for counters and tests. */
export const REJECT_REASONS: readonly RejectReason[] = [
  'too_short',
  'bad_magic',
  'bad_version',
  'unknown_type',
  'bad_length',
  'wrong_cluster',
  'bad_link',
  'bad_node_id',
  'bad_fragment',
  'bad_timestamp',
  'bad_echo',
  'bad_link_state',
];

/** Result of decodePacket: never an exception. */
export type DecodeResult = { ok: true; packet: Packet } | { ok: false; reason: RejectReason };

function assertField(condition: boolean, what: string): void {
  if (!condition) throw new RangeError(`wire: invalid ${what}`);
}

function isU32(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
}

function writeHeader(view: DataView, type: PacketType, header: FrameHeader, bodyBytes: number): void {
  assertField(isU32(header.clusterId), 'cluster id');
  assertField(isU32(header.sourceNodeId) && header.sourceNodeId > 0, 'source node id');
  assertField(isU32(header.incarnation), 'incarnation');
  assertField(Number.isInteger(header.link) && header.link >= 0 && header.link <= LINK_NUMBER_MAX, 'link');
  assertField(isU32(header.seq), 'seq');
  assertField(Number.isInteger(header.flags) && header.flags >= 0 && header.flags <= 0xff, 'flags');
  assertField(bodyBytes <= BODY_BYTES_MAX, 'body length');
  view.setUint16(0, WIRE_MAGIC);
  view.setUint8(2, WIRE_VERSION);
  view.setUint8(3, PacketTypeCode[type]);
  view.setUint8(4, header.flags);
  view.setUint8(LINK_FIELD_OFFSET, header.link);
  view.setUint16(6, bodyBytes);
  view.setUint32(8, header.clusterId);
  view.setUint32(12, header.sourceNodeId);
  view.setUint32(16, header.incarnation);
  view.setUint32(20, header.seq);
}

function allocate(frameBytes: number): { bytes: Uint8Array; view: DataView } {
  const bytes = freshBytes(frameBytes);
  return { bytes, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
}

/** Encodes a whole (unfragmented) message frame: header + payload, one allocation. */
export function encodeData(header: FrameHeader, payload: Uint8Array): Uint8Array {
  const { bytes, view } = allocate(HEADER_BYTES + payload.length);
  writeHeader(view, 'data', header, payload.length);
  bytes.set(payload, HEADER_BYTES);
  return bytes;
}

/** Encodes one fragment carrying `message[offset, offset + length)`. */
export function encodeFragment(
  header: FrameHeader,
  message: Uint8Array,
  offset: number,
  length: number,
  index: number,
  count: number,
): Uint8Array {
  assertField(count >= 1 && count <= FRAGMENTS_MAX && index >= 0 && index < count, 'fragment index/count');
  assertField(length > 0 && offset >= 0 && offset + length <= message.length, 'fragment range');
  const { bytes, view } = allocate(HEADER_BYTES + FRAGMENT_HEADER_BYTES + length);
  writeHeader(view, 'fragment', header, FRAGMENT_HEADER_BYTES + length);
  view.setUint32(HEADER_BYTES, message.length);
  view.setUint32(HEADER_BYTES + 4, offset);
  view.setUint16(HEADER_BYTES + 8, index);
  view.setUint16(HEADER_BYTES + 10, count);
  bytes.set(message.subarray(offset, offset + length), HEADER_BYTES + FRAGMENT_HEADER_BYTES);
  return bytes;
}

/** Encodes a ping or a pong (a pong echoes the ping's seq and timestamp; a ping may carry an echo). */
export function encodePingPong(
  type: 'ping' | 'pong',
  header: FrameHeader,
  pingSeq: number,
  sentAtMs: number,
  echo?: PingEcho,
): Uint8Array {
  assertField(isU32(pingSeq), 'ping seq');
  assertField(Number.isFinite(sentAtMs), 'timestamp');
  assertField(echo === undefined || (type === 'ping' && isValidEcho(echo.pingSeq, echo.sentAtMs, echo.heldMs)), 'echo');
  const bodyBytes = echo === undefined ? PING_BODY_BYTES : PING_BODY_BYTES + PING_ECHO_BYTES;
  const { bytes, view } = allocate(HEADER_BYTES + bodyBytes);
  writeHeader(view, type, header, bodyBytes);
  view.setUint32(HEADER_BYTES, pingSeq);
  view.setFloat64(HEADER_BYTES + 4, sentAtMs);
  if (echo !== undefined) {
    view.setUint32(HEADER_BYTES + PING_BODY_BYTES, echo.pingSeq);
    view.setFloat64(HEADER_BYTES + PING_BODY_BYTES + 4, echo.sentAtMs);
    view.setFloat64(HEADER_BYTES + PING_BODY_BYTES + 12, echo.heldMs);
  }
  return bytes;
}

function isValidEcho(pingSeq: number, sentAtMs: number, heldMs: number): boolean {
  return isU32(pingSeq) && Number.isFinite(sentAtMs) && Number.isFinite(heldMs) && heldMs >= 0;
}

/** Encodes a PMTU probe padded (with zeros) to exactly `frameBytes`. */
export function encodePmtuProbe(header: FrameHeader, probeSeq: number, frameBytes: number): Uint8Array {
  assertField(isU32(probeSeq), 'probe seq');
  assertField(
    Number.isInteger(frameBytes) &&
      frameBytes >= HEADER_BYTES + PMTU_PROBE_MIN_BODY_BYTES &&
      frameBytes <= FRAME_BYTES_MAX,
    'probe size',
  );
  const { bytes, view } = allocate(frameBytes);
  writeHeader(view, 'pmtuProbe', header, frameBytes - HEADER_BYTES);
  view.setUint32(HEADER_BYTES, probeSeq);
  return bytes;
}

/** Encodes a PMTU reply: "your probe `probeSeq` of `probedBytes` bytes arrived". */
export function encodePmtuReply(header: FrameHeader, probeSeq: number, probedBytes: number): Uint8Array {
  assertField(isU32(probeSeq) && isU32(probedBytes), 'pmtu reply field');
  const { bytes, view } = allocate(HEADER_BYTES + PMTU_REPLY_BODY_BYTES);
  writeHeader(view, 'pmtuReply', header, PMTU_REPLY_BODY_BYTES);
  view.setUint32(HEADER_BYTES, probeSeq);
  view.setUint32(HEADER_BYTES + 4, probedBytes);
  return bytes;
}

/** Encodes a link-state frame: the sender's link `link` is down, and why. */
export function encodeLinkState(header: FrameHeader, link: number, state: LinkState): Uint8Array {
  assertField(Number.isInteger(link) && link >= 0 && link <= LINK_NUMBER_MAX, 'link-state link');
  const { bytes, view } = allocate(HEADER_BYTES + LINK_STATE_BODY_BYTES);
  writeHeader(view, 'linkState', header, LINK_STATE_BODY_BYTES);
  view.setUint8(HEADER_BYTES, link);
  view.setUint8(HEADER_BYTES + 1, LINK_STATES.indexOf(state));
  return bytes;
}

/** A copy of an encoded frame re-addressed to another link (used to re-send a frame after its link failed). */
export function relinkFrame(frame: Uint8Array, link: number): Uint8Array {
  assertField(Number.isInteger(link) && link >= 0 && link <= LINK_NUMBER_MAX, 'link');
  const copy = frame.slice();
  copy[LINK_FIELD_OFFSET] = link;
  return copy;
}

/** Encodes any packet (the generic counterpart of decodePacket; the transport uses the specific encoders). */
export function encodePacket(packet: Packet): Uint8Array {
  switch (packet.type) {
    case 'data':
      return encodeData(packet.header, packet.payload);
    case 'fragment': {
      // The payload is the message slice; place it at its offset in a message-sized view.
      const message = new Uint8Array(packet.messageBytes);
      message.set(packet.payload, packet.offset);
      return encodeFragment(packet.header, message, packet.offset, packet.payload.length, packet.index, packet.count);
    }
    case 'ping':
      return encodePingPong('ping', packet.header, packet.pingSeq, packet.sentAtMs, packet.echo);
    case 'pong':
      return encodePingPong('pong', packet.header, packet.pingSeq, packet.sentAtMs);
    case 'pmtuProbe':
      return encodePmtuProbe(packet.header, packet.probeSeq, packet.frameBytes);
    case 'pmtuReply':
      return encodePmtuReply(packet.header, packet.probeSeq, packet.probedBytes);
    case 'linkState':
      return encodeLinkState(packet.header, packet.link, packet.state);
  }
}

const reject = (reason: RejectReason): DecodeResult => ({ ok: false, reason });

/**
 * Decodes one frame. Never throws: garbage yields `{ ok: false, reason }`. `expectedClusterId` is this
 * cluster's id; a frame from another cluster is rejected as 'wrong_cluster'.
 */
export function decodePacket(bytes: Uint8Array, expectedClusterId: number): DecodeResult {
  if (bytes.length < HEADER_BYTES) return reject('too_short');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint16(0) !== WIRE_MAGIC) return reject('bad_magic');
  if (view.getUint8(2) !== WIRE_VERSION) return reject('bad_version');
  const type = typeByCode[view.getUint8(3)];
  if (type === undefined) return reject('unknown_type');
  const bodyBytes = view.getUint16(6);
  if (bodyBytes !== bytes.length - HEADER_BYTES) return reject('bad_length');
  const header: FrameHeader = {
    clusterId: view.getUint32(8),
    sourceNodeId: view.getUint32(12),
    incarnation: view.getUint32(16),
    link: view.getUint8(LINK_FIELD_OFFSET),
    seq: view.getUint32(20),
    flags: view.getUint8(4),
  };
  if (header.clusterId !== expectedClusterId) return reject('wrong_cluster');
  if (header.link > LINK_NUMBER_MAX) return reject('bad_link');
  if (header.sourceNodeId === 0) return reject('bad_node_id');
  switch (type) {
    case 'data':
      return { ok: true, packet: { type, header, payload: bytes.subarray(HEADER_BYTES) } };
    case 'fragment':
      return decodeFragment(bytes, view, header);
    case 'ping':
    case 'pong': {
      const echoed = type === 'ping' && bodyBytes === PING_BODY_BYTES + PING_ECHO_BYTES;
      if (bodyBytes !== PING_BODY_BYTES && !echoed) return reject('bad_length');
      const sentAtMs = view.getFloat64(HEADER_BYTES + 4);
      if (!Number.isFinite(sentAtMs)) return reject('bad_timestamp');
      const pingSeq = view.getUint32(HEADER_BYTES);
      if (!echoed) return { ok: true, packet: { type, header, pingSeq, sentAtMs } };
      const echo: PingEcho = {
        pingSeq: view.getUint32(HEADER_BYTES + PING_BODY_BYTES),
        sentAtMs: view.getFloat64(HEADER_BYTES + PING_BODY_BYTES + 4),
        heldMs: view.getFloat64(HEADER_BYTES + PING_BODY_BYTES + 12),
      };
      if (!isValidEcho(echo.pingSeq, echo.sentAtMs, echo.heldMs)) return reject('bad_echo');
      return { ok: true, packet: { type: 'ping', header, pingSeq, sentAtMs, echo } };
    }
    case 'pmtuProbe':
      if (bodyBytes < PMTU_PROBE_MIN_BODY_BYTES) return reject('bad_length');
      return { ok: true, packet: { type, header, probeSeq: view.getUint32(HEADER_BYTES), frameBytes: bytes.length } };
    case 'pmtuReply':
      if (bodyBytes !== PMTU_REPLY_BODY_BYTES) return reject('bad_length');
      return {
        ok: true,
        packet: {
          type,
          header,
          probeSeq: view.getUint32(HEADER_BYTES),
          probedBytes: view.getUint32(HEADER_BYTES + 4),
        },
      };
    case 'linkState': {
      if (bodyBytes !== LINK_STATE_BODY_BYTES) return reject('bad_length');
      const link = view.getUint8(HEADER_BYTES);
      const state = LINK_STATES[view.getUint8(HEADER_BYTES + 1)];
      if (link > LINK_NUMBER_MAX || state === undefined) return reject('bad_link_state');
      return { ok: true, packet: { type, header, link, state } };
    }
  }
}

function decodeFragment(bytes: Uint8Array, view: DataView, header: FrameHeader): DecodeResult {
  if (bytes.length < HEADER_BYTES + FRAGMENT_HEADER_BYTES) return reject('bad_length');
  const messageBytes = view.getUint32(HEADER_BYTES);
  const offset = view.getUint32(HEADER_BYTES + 4);
  const index = view.getUint16(HEADER_BYTES + 8);
  const count = view.getUint16(HEADER_BYTES + 10);
  const payload = bytes.subarray(HEADER_BYTES + FRAGMENT_HEADER_BYTES);
  const consistent = count >= 1 && index < count && payload.length > 0 && offset + payload.length <= messageBytes;
  if (!consistent) return reject('bad_fragment');
  return { ok: true, packet: { type: 'fragment', header, messageBytes, offset, index, count, payload } };
}
