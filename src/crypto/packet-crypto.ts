import { randomBytes } from 'node:crypto';
import { assert } from '../base/assert.ts';
import { lazyBuiltin } from '../base/lazy-module.ts';
import { LINK_NUMBER_MAX, LINKS_MAX } from '../base/limits.ts';
import { canonicalAddress } from './address.ts';
import { type Aead, type OpenFn, preferredAead, type SealFn } from './aead.ts';
import { assertAuthkeyLength, derivePacketKey } from './keys.ts';
import {
  CLEAR_HEADER_BYTES,
  COUNTER_OFFSET,
  CRC_OFFSET,
  DATAGRAM_BYTES_MAX,
  ENCRYPTED_HEADER_BYTES,
  ENCRYPTED_OVERHEAD_BYTES,
  FORMAT_AES256_GCM_V1,
  FORMAT_CLEAR_V1,
  GCM_NONCE_BYTES,
  GCM_TAG_BYTES,
  SENDER_OFFSET,
  SESSION_ID_BYTES,
  SESSION_OFFSET,
} from './packet-format.ts';
import { ReplayWindow } from './replay-window.ts';

/** Counter values per wall-clock millisecond at a session's start (see docs/crypto.md, "nonce"). */
export const COUNTER_STEPS_PER_MS = 1024;
/** Sessions per peer whose keys stay cached (the current one and the one before a restart). */
export const CACHED_SESSIONS_PER_PEER = 2;
/**
 * How far (in counter steps) a datagram on one link may trail the sender's newest datagram on any link. Each link
 * has its own replay window, since one sender counter runs across all its links and one link can be thousands of
 * datagrams behind another (docs/crypto.md, "Replay windows"); below this floor a datagram is `replayed` whatever its
 * link's window says, so that an idle link's empty window cannot take a peer's old-session packets. 65,536 is far
 * more than one link's receive buffer holds (≈ 11,000 of the smallest datagrams), and fewer than the counter steps
 * of a restart that takes longer than 64 ms (COUNTER_STEPS_PER_MS).
 */
export const LINK_LAG_PACKETS_MAX = 65_536;

const UINT32_RANGE = 2 ** 32;

/** Why `open` dropped a datagram. */
export type RejectReason =
  | 'too_short'
  | 'too_long'
  | 'unlisted_ip'
  | 'bad_format'
  | 'sender_mismatch'
  | 'own_node'
  | 'replayed'
  | 'auth_failed';

/** Every reject reason, for counters and reports. */
export const REJECT_REASONS: readonly RejectReason[] = [
  'too_short',
  'too_long',
  'unlisted_ip',
  'bad_format',
  'sender_mismatch',
  'own_node',
  'replayed',
  'auth_failed',
];

/** Result of `open`. */
export type OpenResult =
  | { ok: true; frame: Buffer; fromNodeId: number }
  | { ok: false; reason: RejectReason; fromNodeId?: number };

/** One nodelist entry: a node id and one of its addresses (any link). */
export interface ListedAddress {
  nodeId: number;
  address: string;
}

/** Options of `PacketCrypto`. */
export interface PacketCryptoOptions {
  localNodeId: number;
  clusterName: string;
  /** `aes256`: AES-256-GCM; `none`: clear frames with a CRC-32 (only with `allowCryptoNone`). */
  cipher: 'aes256' | 'none';
  /** The authkey file bytes (128..4096); ignored for `none`. */
  authkey?: Uint8Array;
  /** Must be true for `cipher: 'none'` — an explicit opt-out of authentication. */
  allowCryptoNone?: boolean;
  /** All addresses of the nodelist (block_unlisted_ips): datagrams from other source IPs are dropped. */
  nodelist: readonly ListedAddress[];
  /** Wall clock in ms, read once at construction to start the counter (default `Date.now`). */
  wallClockMs?: () => number;
  /** Source of the random session id (default `crypto.randomBytes`). */
  randomBytes?: (size: number) => Buffer;
  /** Receives warnings (e.g. that crypto is off). */
  onWarning?: (message: string) => void;
  /** The AES-256-GCM implementation (default `preferredAead()`: the native addon where it loads). */
  aead?: Aead;
}

/** Counters of `PacketCrypto`. */
export interface PacketCryptoStats {
  sealed: number;
  opened: number;
  rejected: Record<RejectReason, number>;
  /** Datagrams that failed authentication, by source IP (at most AUTH_FAILED_SOURCES_MAX sources). */
  authFailedBySource: Record<string, number>;
}

/** Sources whose authentication failures are told apart (a wrong-authkey node is one of a few). */
const AUTH_FAILED_SOURCES_MAX = 256;

interface SessionKey {
  sessionId: Buffer;
  open: OpenFn;
}

interface PeerState {
  /** By the link the datagram came on (created at its first datagram). */
  readonly windows: (ReplayWindow | undefined)[];
  /** The highest counter authenticated from this peer on any link (-1: none yet). */
  highest: number;
  /** Most recently used first. */
  readonly sessions: SessionKey[];
}

/**
 * Packet protection of one node: `seal` every outgoing frame, `open` every incoming datagram.
 * Keys per (sender, session) from HKDF over the authkey, nonce = sender id | counter, a replay window per peer and
 * link, and a source-address filter over the nodelist. `open` never throws on any input.
 */
export class PacketCrypto {
  private readonly localNodeId: number;
  private readonly clusterName: string;
  private readonly encrypt: boolean;
  private readonly authkey: Buffer;
  private readonly aead: Aead;
  private readonly sealFrame: SealFn | undefined;
  private readonly header: Buffer;
  private readonly nonce = Buffer.alloc(GCM_NONCE_BYTES);
  private readonly openNonce = Buffer.alloc(GCM_NONCE_BYTES);
  private counter: number;
  /** Source-address filter: the node ids listed for each canonical address. */
  private nodesByAddress = new Map<string, number[]>();
  private readonly peers = new Map<number, PeerState>();
  private readonly counters: Omit<PacketCryptoStats, 'authFailedBySource'>;
  private readonly authFailedBySource = new Map<string, number>();

  constructor(options: PacketCryptoOptions) {
    this.localNodeId = options.localNodeId;
    this.clusterName = options.clusterName;
    this.encrypt = options.cipher === 'aes256';
    this.counters = { sealed: 0, opened: 0, rejected: zeroRejections() };
    this.aead = options.aead ?? preferredAead();
    this.setNodelist(options.nodelist);
    this.header = Buffer.alloc(this.encrypt ? ENCRYPTED_HEADER_BYTES : CLEAR_HEADER_BYTES);
    this.header[0] = this.encrypt ? FORMAT_AES256_GCM_V1 : FORMAT_CLEAR_V1;
    this.header.writeUInt32BE(options.localNodeId, SENDER_OFFSET);
    this.counter = Math.floor((options.wallClockMs ?? Date.now)()) * COUNTER_STEPS_PER_MS;
    if (!this.encrypt) {
      if (options.allowCryptoNone !== true) {
        throw new Error(
          'crypto_cipher: none requires allowCryptoNone: packets would be neither secret nor authenticated',
        );
      }
      options.onWarning?.('crypto_cipher is none: cluster traffic is NOT encrypted or authenticated');
      this.authkey = Buffer.alloc(0);
      return;
    }
    if (options.authkey === undefined) throw new Error('crypto_cipher aes256 needs an authkey');
    assertAuthkeyLength(options.authkey);
    this.authkey = Buffer.from(options.authkey);
    const sessionId = (options.randomBytes ?? randomBytes)(SESSION_ID_BYTES);
    sessionId.copy(this.header, SESSION_OFFSET);
    this.sealFrame = this.aead.sealer(derivePacketKey(this.authkey, this.clusterName, this.localNodeId, sessionId));
    this.nonce.writeUInt32BE(options.localNodeId, 0);
  }

  /** Which AES-256-GCM implementation seals and opens (`none`: no cipher). */
  get engine(): string {
    return this.encrypt ? this.aead.engine : 'none';
  }

  /** Bytes `seal` adds to a frame. */
  get overheadBytes(): number {
    return this.encrypt ? ENCRYPTED_OVERHEAD_BYTES : CLEAR_HEADER_BYTES;
  }

  /** Replaces the nodelist addresses (a node was added or removed). */
  setNodelist(nodelist: readonly ListedAddress[]): void {
    this.nodesByAddress = new Map();
    this.listAddresses(nodelist);
  }

  /** Adds nodelist entries (a link was added at run time); entries already listed are kept once. */
  listAddresses(entries: readonly ListedAddress[]): void {
    for (const { nodeId, address } of entries) {
      const key = canonicalAddress(address);
      const ids = this.nodesByAddress.get(key) ?? [];
      if (!ids.includes(nodeId)) ids.push(nodeId);
      this.nodesByAddress.set(key, ids);
    }
  }

  /**
   * Removes nodelist entries (a link was removed at run time): datagrams from those addresses no longer pass as
   * from those nodes. The caller decides what is no longer in use (one entry may serve several links).
   */
  unlistAddresses(entries: readonly ListedAddress[]): void {
    for (const { nodeId, address } of entries) {
      const key = canonicalAddress(address);
      const remaining = (this.nodesByAddress.get(key) ?? []).filter((id) => id !== nodeId);
      if (remaining.length > 0) this.nodesByAddress.set(key, remaining);
      else this.nodesByAddress.delete(key);
    }
  }

  /**
   * Protects one frame for sending; the result is one datagram. With `into` (a buffer of DATAGRAM_BYTES_MAX bytes
   * the caller reuses) the datagram is written there and the result is a view of it, valid until the caller's next
   * use of `into`; without, a new Buffer.
   */
  seal(frame: Uint8Array, into?: Buffer): Buffer {
    const bytes = frame.length + this.overheadBytes;
    if (bytes > DATAGRAM_BYTES_MAX) {
      throw new RangeError(`frame of ${frame.length} bytes does not fit one datagram`);
    }
    assert(into === undefined || into.length >= DATAGRAM_BYTES_MAX, 'crypto: a seal buffer holds any datagram');
    this.counters.sealed++;
    const out = into === undefined ? Buffer.allocUnsafe(bytes) : into.subarray(0, bytes);
    if (this.encrypt) this.sealEncrypted(frame, out);
    else this.sealClear(frame, out);
    return out;
  }

  /**
   * Checks and unwraps one received datagram from `sourceAddress` (its IP). `expectedSender`, when given, is the
   * node the datagram must come from (the driver knows it from the source address:port on the link; 0 = none):
   * anything else is rejected before it can touch the replay window; undefined = no check. `link`: the link it
   * came on (whose replay window it goes through). Never throws on any datagram.
   */
  open(datagram: Uint8Array, sourceAddress: string, expectedSender: number | undefined, link: number): OpenResult {
    assert(Number.isInteger(link) && link >= 0 && link <= LINK_NUMBER_MAX, 'crypto: a datagram came on a valid link');
    const result = this.openUnchecked(datagram, sourceAddress, expectedSender, link);
    if (result.ok) this.counters.opened++;
    else this.counters.rejected[result.reason]++;
    if (!result.ok && result.reason === 'auth_failed') {
      const known = this.authFailedBySource.get(sourceAddress);
      if (known !== undefined || this.authFailedBySource.size < AUTH_FAILED_SOURCES_MAX) {
        this.authFailedBySource.set(sourceAddress, (known ?? 0) + 1);
      }
    }
    return result;
  }

  /** A copy of the counters. */
  stats(): PacketCryptoStats {
    return {
      sealed: this.counters.sealed,
      opened: this.counters.opened,
      rejected: { ...this.counters.rejected },
      authFailedBySource: Object.fromEntries(this.authFailedBySource),
    };
  }

  /** Writes the encrypted datagram of `frame` into `out`, which is exactly its size. */
  private sealEncrypted(frame: Uint8Array, out: Buffer): void {
    const counter = this.counter++;
    if (!Number.isSafeInteger(counter)) throw new RangeError('packet counter exhausted');
    writeCounter(this.header, COUNTER_OFFSET, counter);
    writeCounter(this.nonce, 4, counter);
    this.header.copy(out, 0);
    assert(this.sealFrame !== undefined, 'crypto: an encrypting node has its sealer');
    this.sealFrame(this.nonce, this.header, frame, out, ENCRYPTED_HEADER_BYTES);
  }

  /** Writes the clear datagram of `frame` into `out`, which is exactly its size. */
  private sealClear(frame: Uint8Array, out: Buffer): void {
    this.header.copy(out, 0, 0, CRC_OFFSET);
    out.set(frame, CLEAR_HEADER_BYTES);
    out.writeUInt32BE(clearChecksum(out), CRC_OFFSET);
  }

  private openUnchecked(
    datagram: Uint8Array,
    sourceAddress: string,
    expectedSender: number | undefined,
    link: number,
  ): OpenResult {
    const listed = this.nodesByAddress.get(sourceAddress) ?? this.nodesByAddress.get(safeCanonical(sourceAddress));
    if (listed === undefined) return { ok: false, reason: 'unlisted_ip' };
    const minimum = this.encrypt ? ENCRYPTED_OVERHEAD_BYTES : CLEAR_HEADER_BYTES;
    if (datagram.length < minimum) return { ok: false, reason: 'too_short' };
    if (datagram.length > DATAGRAM_BYTES_MAX) return { ok: false, reason: 'too_long' };
    // The UDP driver's datagrams are Buffers already: no second view per datagram.
    const bytes = Buffer.isBuffer(datagram)
      ? datagram
      : Buffer.from(datagram.buffer, datagram.byteOffset, datagram.length);
    if (bytes[0] !== (this.encrypt ? FORMAT_AES256_GCM_V1 : FORMAT_CLEAR_V1))
      return { ok: false, reason: 'bad_format' };
    const sender = bytes.readUInt32BE(SENDER_OFFSET);
    if (!listed.includes(sender) || (expectedSender !== undefined && sender !== expectedSender)) {
      return { ok: false, reason: 'sender_mismatch' };
    }
    if (sender === this.localNodeId) return { ok: false, reason: 'own_node' };
    return this.encrypt ? this.openEncrypted(bytes, sender, link) : this.openClear(bytes, sender);
  }

  /**
   * The frame is a copy, as an encrypted one is new memory: the caller's datagram may be reused once `open` returns
   * (the native link sockets read the next batch into it) while the core keeps views of the frame.
   */
  private openClear(bytes: Buffer, sender: number): OpenResult {
    if (bytes.readUInt32BE(CRC_OFFSET) !== clearChecksum(bytes)) {
      return { ok: false, reason: 'auth_failed', fromNodeId: sender };
    }
    return { ok: true, frame: Buffer.from(bytes.subarray(CLEAR_HEADER_BYTES)), fromNodeId: sender };
  }

  private openEncrypted(bytes: Buffer, sender: number, link: number): OpenResult {
    const counter = readCounter(bytes, COUNTER_OFFSET);
    if (!Number.isSafeInteger(counter)) return { ok: false, reason: 'bad_format', fromNodeId: sender };
    const peer = this.peerState(sender);
    const window = peer.windows[link] ?? new ReplayWindow();
    peer.windows[link] = window;
    if (counter <= peer.highest - LINK_LAG_PACKETS_MAX || !window.check(counter)) {
      return { ok: false, reason: 'replayed', fromNodeId: sender };
    }
    const cached = cachedSession(peer, bytes);
    const sessionId = cached?.sessionId ?? bytes.subarray(SESSION_OFFSET, SESSION_OFFSET + SESSION_ID_BYTES);
    const open = cached?.open ?? this.aead.opener(derivePacketKey(this.authkey, this.clusterName, sender, sessionId));
    this.openNonce.writeUInt32BE(sender, 0);
    writeCounter(this.openNonce, 4, counter);
    const frame = open(this.openNonce, bytes, ENCRYPTED_HEADER_BYTES, bytes.length - GCM_TAG_BYTES);
    if (frame === undefined) return { ok: false, reason: 'auth_failed', fromNodeId: sender };
    window.commit(counter);
    peer.highest = Math.max(peer.highest, counter);
    rememberSession(peer, cached ?? { sessionId: Buffer.from(sessionId), open });
    return { ok: true, frame, fromNodeId: sender };
  }

  private peerState(nodeId: number): PeerState {
    let peer = this.peers.get(nodeId);
    if (peer === undefined) {
      peer = { windows: new Array(LINKS_MAX).fill(undefined), highest: -1, sessions: [] };
      this.peers.set(nodeId, peer);
    }
    return peer;
  }
}

function zeroRejections(): Record<RejectReason, number> {
  return Object.fromEntries(REJECT_REASONS.map((reason) => [reason, 0])) as Record<RejectReason, number>;
}

/** The peer's cached session of the datagram's session id, compared in place (no view per datagram). */
function cachedSession(peer: PeerState, datagram: Buffer): SessionKey | undefined {
  for (const session of peer.sessions) {
    if (session.sessionId.compare(datagram, SESSION_OFFSET, SESSION_OFFSET + SESSION_ID_BYTES) === 0) return session;
  }
  return undefined;
}

function rememberSession(peer: PeerState, session: SessionKey): void {
  const index = peer.sessions.indexOf(session);
  if (index === 0) return;
  if (index > 0) peer.sessions.splice(index, 1);
  peer.sessions.unshift(session);
  peer.sessions.length = Math.min(peer.sessions.length, CACHED_SESSIONS_PER_PEER);
}

/** zlib, for its CRC-32: only unencrypted links use it. */
const zlib = lazyBuiltin<typeof import('node:zlib')>('node:zlib');

function clearChecksum(datagram: Buffer): number {
  const { crc32 } = zlib();
  return crc32(datagram.subarray(CLEAR_HEADER_BYTES), crc32(datagram.subarray(0, CRC_OFFSET)));
}

function writeCounter(target: Buffer, offset: number, counter: number): void {
  target.writeUInt32BE(Math.floor(counter / UINT32_RANGE), offset);
  target.writeUInt32BE(counter % UINT32_RANGE, offset + 4);
}

function readCounter(source: Buffer, offset: number): number {
  return source.readUInt32BE(offset) * UINT32_RANGE + source.readUInt32BE(offset + 4);
}

function safeCanonical(address: string): string {
  try {
    return canonicalAddress(address);
  } catch {
    return address;
  }
}
