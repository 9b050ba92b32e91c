/**
 * Wire format of the votequorum messages multicast through Totem in agreed order.
 *
 * Modelled on exec/votequorum.c's `req_exec_quorum_nodeinfo` and `req_exec_quorum_reconfigure`
 * (same fields, same node flag bits, same reconfigure parameter numbers), with corolink's own framing:
 * big-endian, a version byte and a type byte instead of the qb IPC header. Deliberate deviation: a nodeinfo
 * carries the ring id it was sent for, so a late nodeinfo from an earlier ring is never taken for the
 * sync message of the current ring. Decoding never throws; it returns an error value.
 */
import type { RingId } from './types.ts';

/** Format version written in the first byte. */
export const QUORUM_WIRE_VERSION = 1;

/**
 * Node flag bits, exactly as votequorum.c's `NODE_FLAGS_*` (bit 2, LEAVING, belongs to allow_downscale and 256,
 * QDEVICE_EXTRA_INFO_SET, to the device's extra info: both unused).
 */
export const NodeFlag = {
  /** The sender is quorate. */
  quorate: 1,
  /** The sender is still waiting for all nodes (wait_for_all). */
  waitForAllStatus: 4,
  /** The sender has not yet been part of a multi-node membership. */
  first: 8,
  /** The sender has a quorum device registered. */
  qdeviceRegistered: 16,
  /** The sender's device polled within its timeout. */
  qdeviceAlive: 32,
  /** The sender's device casts its vote. */
  qdeviceCastVote: 64,
  /** The sender's device asked for master_wins. */
  qdeviceMasterWins: 128,
} as const;

/** The node id votequorum gives the quorum device (VOTEQUORUM_QDEVICE_NODEID): its nodeinfo carries its votes. */
export const QDEVICE_NODE_ID = 0;

/** votequorum.c's `VOTEQUORUM_RECONFIG_PARAM_*` numbers. */
export const ReconfigureParam = {
  /** Set every member's expected votes (`corosync-quorumtool -e`). */
  expectedVotes: 1,
  /** Set one node's votes (`corosync-quorumtool -v`). */
  nodeVotes: 2,
} as const;

/** The per-node state every node announces after each configuration change (node id 0: the quorum device's votes). */
export interface NodeInfoMessage {
  type: 'nodeinfo';
  nodeId: number;
  votes: number;
  expectedVotes: number;
  /** `NodeFlag` bits. */
  flags: number;
  /** The ring this announcement belongs to. */
  ringId: RingId;
}

/** A cluster-wide runtime change requested on one node. */
export interface ReconfigureMessage {
  type: 'reconfigure';
  param: (typeof ReconfigureParam)[keyof typeof ReconfigureParam];
  /** The requesting node (expected votes) or the node whose votes change (node votes). */
  nodeId: number;
  value: number;
}

/** Any votequorum message. */
export type QuorumMessage = NodeInfoMessage | ReconfigureMessage;

/** Result of `decodeQuorumMessage`. */
export type DecodeResult = { ok: true; message: QuorumMessage } | { ok: false; error: string };

const TYPE_NODEINFO = 0;
const TYPE_RECONFIGURE = 1;
const HEADER_BYTES = 2;
const NODEINFO_BYTES = HEADER_BYTES + 4 * 7;
const RECONFIGURE_BYTES = HEADER_BYTES + 1 + 4 * 2;
const UINT32_SPAN = 2 ** 32;
/** Largest high word of a ring sequence number that still gives a safe integer. */
const SEQ_HIGH_WORD_MAX = Math.floor(Number.MAX_SAFE_INTEGER / UINT32_SPAN);

/** Encodes a message; every number must be an unsigned 32-bit integer (the ring seq a safe integer). */
export function encodeQuorumMessage(message: QuorumMessage): Uint8Array {
  if (message.type === 'nodeinfo') {
    const bytes = new Uint8Array(NODEINFO_BYTES);
    const view = new DataView(bytes.buffer);
    writeHeader(view, TYPE_NODEINFO);
    view.setUint32(2, message.nodeId);
    view.setUint32(6, message.votes);
    view.setUint32(10, message.expectedVotes);
    view.setUint32(14, message.flags);
    view.setUint32(18, message.ringId.rep);
    view.setUint32(22, Math.floor(message.ringId.seq / UINT32_SPAN));
    view.setUint32(26, message.ringId.seq % UINT32_SPAN);
    return bytes;
  }
  const bytes = new Uint8Array(RECONFIGURE_BYTES);
  const view = new DataView(bytes.buffer);
  writeHeader(view, TYPE_RECONFIGURE);
  view.setUint8(2, message.param);
  view.setUint32(3, message.nodeId);
  view.setUint32(7, message.value);
  return bytes;
}

/** Decodes bytes from the wire; never throws. */
export function decodeQuorumMessage(bytes: Uint8Array): DecodeResult {
  if (bytes.length < HEADER_BYTES) return { ok: false, error: `short message (${bytes.length} bytes)` };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint8(0);
  if (version !== QUORUM_WIRE_VERSION) return { ok: false, error: `unknown version ${version}` };
  const type = view.getUint8(1);
  if (type === TYPE_NODEINFO) return decodeNodeInfo(view);
  if (type === TYPE_RECONFIGURE) return decodeReconfigure(view);
  return { ok: false, error: `unknown message type ${type}` };
}

function writeHeader(view: DataView, type: number): void {
  view.setUint8(0, QUORUM_WIRE_VERSION);
  view.setUint8(1, type);
}

function decodeNodeInfo(view: DataView): DecodeResult {
  if (view.byteLength !== NODEINFO_BYTES) return { ok: false, error: `nodeinfo of ${view.byteLength} bytes` };
  const nodeId = view.getUint32(2);
  const seqHigh = view.getUint32(22);
  if (seqHigh > SEQ_HIGH_WORD_MAX) return { ok: false, error: 'ring sequence number out of range' };
  return {
    ok: true,
    message: {
      type: 'nodeinfo',
      nodeId,
      votes: view.getUint32(6),
      expectedVotes: view.getUint32(10),
      flags: view.getUint32(14),
      ringId: { rep: view.getUint32(18), seq: seqHigh * UINT32_SPAN + view.getUint32(26) },
    },
  };
}

function decodeReconfigure(view: DataView): DecodeResult {
  if (view.byteLength !== RECONFIGURE_BYTES) return { ok: false, error: `reconfigure of ${view.byteLength} bytes` };
  const param = view.getUint8(2);
  if (param !== ReconfigureParam.expectedVotes && param !== ReconfigureParam.nodeVotes) {
    return { ok: false, error: `unknown reconfigure parameter ${param}` };
  }
  const nodeId = view.getUint32(3);
  if (nodeId === 0) return { ok: false, error: 'reconfigure for node id 0' };
  return { ok: true, message: { type: 'reconfigure', param, nodeId, value: view.getUint32(7) } };
}
