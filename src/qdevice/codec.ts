/**
 * The qnetd wire format, as corosync-qdevice's `qdevices/msg.c` and `qdevices/tlv.c` define it (protocol of
 * corosync-qnetd 3.x; written from the protocol, not from its code).
 *
 * A message is a header — type u16, length u32 of what follows (big endian) — then TLV items: option type u16,
 * value length u16, value. Numbers are big endian; a ring id is node id u32 + seq u64; a tie breaker is mode u8 +
 * node id u32; a node info is itself a list of TLV items (node id, data center id, node state). Unknown options
 * are skipped, as qnetd skips them. This encoder writes the items in option-code order; qnetd's decoder (the same
 * `msg_decode`) does not depend on the order.
 *
 * Decoding never throws: it returns `{ ok: false, error }` with msg_decode's error classes (an option with an
 * invalid length, an item longer than the message, an option with an invalid value).
 */
import { assert } from '../base/assert.ts';

/** Type u16 + length u32. */
export const MSG_HEADER_BYTES = 6;
const TLV_HEADER_BYTES = 4;
const U16_MAX = 0xffff;

/** `enum msg_type`. */
export const MsgType = {
  preinit: 0,
  preinitReply: 1,
  starttls: 2,
  init: 3,
  initReply: 4,
  serverError: 5,
  setOption: 6,
  setOptionReply: 7,
  echoRequest: 8,
  echoReply: 9,
  nodeList: 10,
  nodeListReply: 11,
  askForVote: 12,
  askForVoteReply: 13,
  voteInfo: 14,
  voteInfoReply: 15,
  heuristicsChange: 16,
  heuristicsChangeReply: 17,
} as const;
/** Every message type this side knows (sent in init as the supported messages). */
export const MSG_TYPES_SUPPORTED: readonly number[] = Object.values(MsgType);

/** `enum tlv_opt_type`. */
export const TlvOpt = {
  msgSeqNumber: 0,
  clusterName: 1,
  tlsSupported: 2,
  tlsClientCertRequired: 3,
  supportedMessages: 4,
  supportedOptions: 5,
  replyErrorCode: 6,
  serverMaximumRequestSize: 7,
  serverMaximumReplySize: 8,
  nodeId: 9,
  supportedDecisionAlgorithms: 10,
  decisionAlgorithm: 11,
  heartbeatInterval: 12,
  ringId: 13,
  configVersion: 14,
  dataCenterId: 15,
  nodeState: 16,
  nodeInfo: 17,
  nodeListType: 18,
  vote: 19,
  quorate: 20,
  tieBreaker: 21,
  heuristics: 22,
  keepActivePartitionTieBreaker: 23,
} as const;
/** Every option this side knows (sent in init as the supported options). */
export const TLV_OPTS_SUPPORTED: readonly number[] = Object.values(TlvOpt);

export const TlsSupported = { unsupported: 0, supported: 1, required: 2 } as const;
export type TlsSupportedCode = (typeof TlsSupported)[keyof typeof TlsSupported];

export const DecisionAlgorithm = { test: 0, ffsplit: 1, '2nodelms': 2, lms: 3 } as const;

export const TieBreakerMode = { lowest: 1, highest: 2, nodeId: 3 } as const;
export type TieBreakerModeCode = (typeof TieBreakerMode)[keyof typeof TieBreakerMode];

export const NodeState = { notSet: 0, member: 1, dead: 2, leaving: 3 } as const;

export const NodeListType = { initialConfig: 0, changedConfig: 1, membership: 2, quorum: 3 } as const;
export type NodeListTypeCode = (typeof NodeListType)[keyof typeof NodeListType];

export const Vote = { undefined: 0, ack: 1, nack: 2, askLater: 3, waitForReply: 4, noChange: 5 } as const;
export type VoteCode = (typeof Vote)[keyof typeof Vote];

export const Heuristics = { undefined: 0, pass: 1, fail: 2 } as const;

/** `enum tlv_reply_error_code` values the client names in its logs. */
export const ReplyErrorCode = {
  noError: 0,
  tieBreakerDiffersFromOtherNodes: 15,
  algorithmDiffersFromOtherNodes: 16,
  duplicateNodeId: 17,
} as const;

export interface TlvRingId {
  nodeId: number;
  seq: bigint;
}

export interface TlvTieBreaker {
  mode: TieBreakerModeCode;
  /** Only meaningful (and only non-zero after decoding) for mode `nodeId`. */
  nodeId: number;
}

export interface TlvNodeInfo {
  nodeId: number;
  /** 0: not set. */
  dataCenterId: number;
  /** NodeState code, 0: not set. */
  nodeState: number;
}

/** A decoded message (`struct msg_decoded`): the type plus every option it carried. */
export interface QnetdMessage {
  type: number;
  seqNumber?: number;
  clusterName?: string;
  tlsSupported?: TlsSupportedCode;
  tlsClientCertRequired?: number;
  supportedMessages?: number[];
  supportedOptions?: number[];
  replyErrorCode?: number;
  serverMaximumRequestSize?: number;
  serverMaximumReplySize?: number;
  nodeId?: number;
  supportedDecisionAlgorithms?: number[];
  decisionAlgorithm?: number;
  heartbeatInterval?: number;
  ringId?: TlvRingId;
  configVersion?: bigint;
  dataCenterId?: number;
  nodeState?: number;
  nodes?: TlvNodeInfo[];
  nodeListType?: NodeListTypeCode;
  vote?: VoteCode;
  quorate?: boolean;
  tieBreaker?: TlvTieBreaker;
  heuristics?: number;
  keepActivePartitionTieBreaker?: boolean;
}

/** msg_decode's error classes (`log_common_msg_decode_error`). */
export type QnetdDecodeErrorKind = 'invalidLength' | 'inconsistent' | 'invalidValue';
export interface QnetdDecodeError {
  kind: QnetdDecodeErrorKind;
  message: string;
}
export type QnetdDecodeResult = { ok: true; message: QnetdMessage } | { ok: false; error: QnetdDecodeError };

/** corosync-qdevice's wording of each decode error class. */
export const DECODE_ERROR_TEXT: Readonly<Record<QnetdDecodeErrorKind, string>> = {
  invalidLength: 'Received message with option with invalid length',
  inconsistent: 'Received inconsistent msg (tlv len > msg size)',
  invalidValue: 'Received message with option with invalid value',
};

// ---------------------------------------------------------------------------------------------------------------
// Encoding

class Writer {
  private chunks: Uint8Array[] = [];
  private size = 0;

  item(opt: number, value: Uint8Array): void {
    assert(value.length <= U16_MAX, 'qnetd codec: a TLV value fits its u16 length');
    const head = new Uint8Array(TLV_HEADER_BYTES);
    const view = new DataView(head.buffer);
    view.setUint16(0, opt);
    view.setUint16(2, value.length);
    this.chunks.push(head, value);
    this.size += head.length + value.length;
  }

  u8(opt: number, value: number): void {
    this.item(opt, Uint8Array.of(value));
  }

  u16(opt: number, value: number): void {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, value);
    this.item(opt, b);
  }

  u32(opt: number, value: number): void {
    this.item(opt, u32Bytes(value));
  }

  u64(opt: number, value: bigint): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, value);
    this.item(opt, b);
  }

  u16Array(opt: number, values: readonly number[]): void {
    const b = new Uint8Array(values.length * 2);
    const view = new DataView(b.buffer);
    for (const [i, v] of values.entries()) view.setUint16(i * 2, v);
    this.item(opt, b);
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }
}

function u32Bytes(value: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, value);
  return b;
}

function encodeNodeInfo(node: TlvNodeInfo): Uint8Array {
  const sub = new Writer();
  sub.u32(TlvOpt.nodeId, node.nodeId);
  if (node.dataCenterId !== 0) sub.u32(TlvOpt.dataCenterId, node.dataCenterId);
  if (node.nodeState !== NodeState.notSet) sub.u8(TlvOpt.nodeState, node.nodeState);
  return sub.bytes();
}

/** Encodes a message with its header (`msg_create_*`). */
export function encodeQnetdMessage(msg: QnetdMessage): Uint8Array {
  const w = new Writer();
  if (msg.seqNumber !== undefined) w.u32(TlvOpt.msgSeqNumber, msg.seqNumber);
  if (msg.clusterName !== undefined) w.item(TlvOpt.clusterName, new TextEncoder().encode(msg.clusterName));
  if (msg.tlsSupported !== undefined) w.u8(TlvOpt.tlsSupported, msg.tlsSupported);
  if (msg.tlsClientCertRequired !== undefined) w.u8(TlvOpt.tlsClientCertRequired, msg.tlsClientCertRequired);
  if (msg.supportedMessages !== undefined) w.u16Array(TlvOpt.supportedMessages, msg.supportedMessages);
  if (msg.supportedOptions !== undefined) w.u16Array(TlvOpt.supportedOptions, msg.supportedOptions);
  if (msg.replyErrorCode !== undefined) w.u16(TlvOpt.replyErrorCode, msg.replyErrorCode);
  if (msg.serverMaximumRequestSize !== undefined) w.u32(TlvOpt.serverMaximumRequestSize, msg.serverMaximumRequestSize);
  if (msg.serverMaximumReplySize !== undefined) w.u32(TlvOpt.serverMaximumReplySize, msg.serverMaximumReplySize);
  if (msg.nodeId !== undefined) w.u32(TlvOpt.nodeId, msg.nodeId);
  if (msg.supportedDecisionAlgorithms !== undefined) {
    w.u16Array(TlvOpt.supportedDecisionAlgorithms, msg.supportedDecisionAlgorithms);
  }
  if (msg.decisionAlgorithm !== undefined) w.u16(TlvOpt.decisionAlgorithm, msg.decisionAlgorithm);
  if (msg.heartbeatInterval !== undefined) w.u32(TlvOpt.heartbeatInterval, msg.heartbeatInterval);
  if (msg.ringId !== undefined) {
    const b = new Uint8Array(12);
    const view = new DataView(b.buffer);
    view.setUint32(0, msg.ringId.nodeId);
    view.setBigUint64(4, msg.ringId.seq);
    w.item(TlvOpt.ringId, b);
  }
  if (msg.configVersion !== undefined) w.u64(TlvOpt.configVersion, msg.configVersion);
  if (msg.dataCenterId !== undefined) w.u32(TlvOpt.dataCenterId, msg.dataCenterId);
  if (msg.nodeState !== undefined) w.u8(TlvOpt.nodeState, msg.nodeState);
  for (const node of msg.nodes ?? []) w.item(TlvOpt.nodeInfo, encodeNodeInfo(node));
  if (msg.nodeListType !== undefined) w.u8(TlvOpt.nodeListType, msg.nodeListType);
  if (msg.vote !== undefined) w.u8(TlvOpt.vote, msg.vote);
  if (msg.quorate !== undefined) w.u8(TlvOpt.quorate, msg.quorate ? 1 : 0);
  if (msg.tieBreaker !== undefined) {
    const b = new Uint8Array(5);
    const view = new DataView(b.buffer);
    view.setUint8(0, msg.tieBreaker.mode);
    view.setUint32(1, msg.tieBreaker.mode === TieBreakerMode.nodeId ? msg.tieBreaker.nodeId : 0);
    w.item(TlvOpt.tieBreaker, b);
  }
  if (msg.heuristics !== undefined) w.u8(TlvOpt.heuristics, msg.heuristics);
  if (msg.keepActivePartitionTieBreaker !== undefined) {
    w.u8(TlvOpt.keepActivePartitionTieBreaker, msg.keepActivePartitionTieBreaker ? 1 : 0);
  }
  const body = w.bytes();
  const out = new Uint8Array(MSG_HEADER_BYTES + body.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, msg.type);
  view.setUint32(2, body.length);
  out.set(body, MSG_HEADER_BYTES);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding

interface Item {
  opt: number;
  value: DataView;
}

/**
 * Splits a TLV area into items the way `tlv_iter_next` walks it: at least one item, each inside the area, and
 * nothing after the last but a whole item.
 */
function items(view: DataView): Item[] | QnetdDecodeError {
  const out: Item[] = [];
  let at = 0;
  do {
    if (at + TLV_HEADER_BYTES > view.byteLength) {
      return { kind: 'inconsistent', message: `TLV header at byte ${at} past the end (${view.byteLength} bytes)` };
    }
    const opt = view.getUint16(at);
    const len = view.getUint16(at + 2);
    if (at + TLV_HEADER_BYTES + len > view.byteLength) {
      return { kind: 'inconsistent', message: `option ${opt} of ${len} bytes at byte ${at} runs past the end` };
    }
    out.push({ opt, value: new DataView(view.buffer, view.byteOffset + at + TLV_HEADER_BYTES, len) });
    at += TLV_HEADER_BYTES + len;
  } while (at < view.byteLength);
  return out;
}

class BadOption {
  constructor(readonly error: QnetdDecodeError) {}
}

function fixed(item: Item, bytes: number): DataView {
  if (item.value.byteLength !== bytes) {
    throw new BadOption({
      kind: 'invalidLength',
      message: `option ${item.opt} has ${item.value.byteLength} bytes, expected ${bytes}`,
    });
  }
  return item.value;
}

function oneOf(item: Item, value: number, allowed: readonly number[]): number {
  if (!allowed.includes(value)) {
    throw new BadOption({ kind: 'invalidValue', message: `option ${item.opt} has invalid value ${value}` });
  }
  return value;
}

function u16Array(item: Item): number[] {
  if (item.value.byteLength % 2 !== 0) {
    throw new BadOption({ kind: 'invalidLength', message: `option ${item.opt} has an odd length` });
  }
  const out: number[] = [];
  for (let i = 0; i < item.value.byteLength; i += 2) out.push(item.value.getUint16(i));
  return out;
}

const u8 = (item: Item): number => fixed(item, 1).getUint8(0);
const u16 = (item: Item): number => fixed(item, 2).getUint16(0);
const u32 = (item: Item): number => fixed(item, 4).getUint32(0);
const NODE_STATES_SET = [NodeState.member, NodeState.dead, NodeState.leaving];

function decodeNodeInfo(item: Item): TlvNodeInfo {
  if (item.value.byteLength === 0) {
    throw new BadOption({ kind: 'inconsistent', message: 'empty node info' });
  }
  const sub = items(item.value);
  if (!Array.isArray(sub)) throw new BadOption({ kind: 'inconsistent', message: `node info: ${sub.message}` });
  const node: TlvNodeInfo = { nodeId: 0, dataCenterId: 0, nodeState: NodeState.notSet };
  for (const s of sub) {
    if (s.opt === TlvOpt.nodeId) node.nodeId = u32(s);
    else if (s.opt === TlvOpt.dataCenterId) node.dataCenterId = u32(s);
    else if (s.opt === TlvOpt.nodeState) node.nodeState = oneOf(s, u8(s), NODE_STATES_SET);
  }
  if (node.nodeId === 0) throw new BadOption({ kind: 'invalidValue', message: 'node info without a node id' });
  return node;
}

function applyOption(msg: QnetdMessage, item: Item): void {
  switch (item.opt) {
    case TlvOpt.msgSeqNumber:
      msg.seqNumber = u32(item);
      break;
    case TlvOpt.clusterName:
      msg.clusterName = new TextDecoder().decode(item.value);
      break;
    case TlvOpt.tlsSupported:
      msg.tlsSupported = oneOf(item, u8(item), Object.values(TlsSupported)) as TlsSupportedCode;
      break;
    case TlvOpt.tlsClientCertRequired:
      msg.tlsClientCertRequired = u8(item);
      break;
    case TlvOpt.supportedMessages:
      msg.supportedMessages = u16Array(item);
      break;
    case TlvOpt.supportedOptions:
      msg.supportedOptions = u16Array(item);
      break;
    case TlvOpt.replyErrorCode:
      msg.replyErrorCode = u16(item);
      break;
    case TlvOpt.serverMaximumRequestSize:
      msg.serverMaximumRequestSize = u32(item);
      break;
    case TlvOpt.serverMaximumReplySize:
      msg.serverMaximumReplySize = u32(item);
      break;
    case TlvOpt.nodeId:
      msg.nodeId = u32(item);
      break;
    case TlvOpt.supportedDecisionAlgorithms:
      msg.supportedDecisionAlgorithms = u16Array(item);
      break;
    case TlvOpt.decisionAlgorithm:
      msg.decisionAlgorithm = u16(item);
      break;
    case TlvOpt.heartbeatInterval:
      msg.heartbeatInterval = u32(item);
      break;
    case TlvOpt.ringId: {
      const v = fixed(item, 12);
      msg.ringId = { nodeId: v.getUint32(0), seq: v.getBigUint64(4) };
      break;
    }
    case TlvOpt.configVersion:
      msg.configVersion = fixed(item, 8).getBigUint64(0);
      break;
    case TlvOpt.dataCenterId:
      msg.dataCenterId = u32(item);
      break;
    case TlvOpt.nodeState:
      msg.nodeState = oneOf(item, u8(item), NODE_STATES_SET);
      break;
    case TlvOpt.nodeInfo:
      msg.nodes = [...(msg.nodes ?? []), decodeNodeInfo(item)];
      break;
    case TlvOpt.nodeListType:
      msg.nodeListType = oneOf(item, u8(item), Object.values(NodeListType)) as NodeListTypeCode;
      break;
    case TlvOpt.vote:
      msg.vote = oneOf(item, u8(item), [
        Vote.ack,
        Vote.nack,
        Vote.askLater,
        Vote.waitForReply,
        Vote.noChange,
      ]) as VoteCode;
      break;
    case TlvOpt.quorate:
      msg.quorate = oneOf(item, u8(item), [0, 1]) === 1;
      break;
    case TlvOpt.tieBreaker: {
      const v = fixed(item, 5);
      const mode = oneOf(item, v.getUint8(0), Object.values(TieBreakerMode)) as TieBreakerModeCode;
      msg.tieBreaker = { mode, nodeId: mode === TieBreakerMode.nodeId ? v.getUint32(1) : 0 };
      break;
    }
    case TlvOpt.heuristics:
      msg.heuristics = oneOf(item, u8(item), [Heuristics.pass, Heuristics.fail]);
      break;
    case TlvOpt.keepActivePartitionTieBreaker:
      msg.keepActivePartitionTieBreaker = oneOf(item, u8(item), [0, 1]) === 1;
      break;
    // Unknown options are skipped, as in msg_decode.
  }
}

/** Decodes one whole message (header included, its length already checked by the reader); never throws. */
export function decodeQnetdMessage(bytes: Uint8Array): QnetdDecodeResult {
  if (bytes.length < MSG_HEADER_BYTES) {
    return { ok: false, error: { kind: 'inconsistent', message: `short message (${bytes.length} bytes)` } };
  }
  const header = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = header.getUint32(2);
  if (length !== bytes.length - MSG_HEADER_BYTES) {
    return {
      ok: false,
      error: {
        kind: 'inconsistent',
        message: `header says ${length} bytes, ${bytes.length - MSG_HEADER_BYTES} follow`,
      },
    };
  }
  const list = items(new DataView(bytes.buffer, bytes.byteOffset + MSG_HEADER_BYTES, length));
  if (!Array.isArray(list)) return { ok: false, error: list };
  const msg: QnetdMessage = { type: header.getUint16(0) };
  try {
    for (const item of list) applyOption(msg, item);
  } catch (e) {
    if (e instanceof BadOption) return { ok: false, error: e.error };
    throw e;
  }
  return { ok: true, message: msg };
}

// ---------------------------------------------------------------------------------------------------------------
// Framing

/** What the reader found in the byte stream (`msgio_read`). */
export type FrameResult =
  | { ok: true; bytes: Uint8Array }
  | { ok: false; kind: 'unsupportedType'; type: number }
  | { ok: false; kind: 'tooLong'; bytes: number };

/**
 * Cuts the TCP byte stream into whole messages. A message of an unknown type or longer than the receive limit is
 * an error: the caller drops the connection, as corosync-qdevice does.
 */
export class QnetdFrameReader {
  private buffer = new Uint8Array(0);

  constructor(private maxMessageBytes: number) {}

  /** The server's maximum reply size, learnt from its init reply. */
  setMaxMessageBytes(bytes: number): void {
    this.maxMessageBytes = bytes;
  }

  push(chunk: Uint8Array): FrameResult[] {
    const joined = new Uint8Array(this.buffer.length + chunk.length);
    joined.set(this.buffer);
    joined.set(chunk, this.buffer.length);
    const out: FrameResult[] = [];
    let at = 0;
    while (joined.length - at >= MSG_HEADER_BYTES) {
      const view = new DataView(joined.buffer, at, MSG_HEADER_BYTES);
      const type = view.getUint16(0);
      const total = MSG_HEADER_BYTES + view.getUint32(2);
      if (!MSG_TYPES_SUPPORTED.includes(type)) {
        out.push({ ok: false, kind: 'unsupportedType', type });
        this.buffer = new Uint8Array(0);
        return out;
      }
      if (total > this.maxMessageBytes) {
        out.push({ ok: false, kind: 'tooLong', bytes: total });
        this.buffer = new Uint8Array(0);
        return out;
      }
      if (joined.length - at < total) break;
      out.push({ ok: true, bytes: joined.slice(at, at + total) });
      at += total;
    }
    this.buffer = joined.slice(at);
    return out;
  }
}
