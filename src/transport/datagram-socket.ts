import { createSocket, type Socket } from 'node:dgram';
import { constants } from 'node:os';
import { nativeAddon } from '../base/native-addon.ts';
import { canonicalAddress } from '../crypto/address.ts';
import { literalLookup, type ResolvedEndpoint } from './udp-endpoints.ts';

/**
 * One link's UDP socket as the UDP driver uses it (docs/transport.md "The link sockets"): bound at open, datagrams
 * in through `handlers.datagram`, best-effort sends out. Two engines: the native addon's batched reads (recvmmsg
 * into one reused arena, one JavaScript call per batch) and batched sends (a turn's datagrams staged and sent at its
 * end in one sendmmsg, a destination's equal-sized ones as one UDP GSO send) — the default where the addon loads —
 * and node:dgram (a fresh buffer and address string per datagram; the fallback, and `COROLINK_UDP=node-dgram`).
 */
export interface DatagramSocket {
  /**
   * True when `send` is done with the datagram once it returns, so the caller may write the next one into the same
   * memory: the native engine copies it at once (into its stage, or its backlog); node:dgram sends later (false).
   */
  readonly sendReturnsDatagram: boolean;
  /**
   * Sends one datagram, after every earlier send of this socket and by the end of this event-loop turn (its
   * microtasks); errors go to `onError`.
   */
  send(to: ResolvedEndpoint, datagram: Buffer, onError: (error: NodeJS.ErrnoException) => void): void;
  /** Hands this turn's sends so far to the kernel now, not after the turn's other microtasks. */
  flush(): void;
  /** Stops reading and closes the socket; sends still queued are dropped. Idempotent. */
  close(): Promise<void>;
}

/** What a socket calls. */
export interface DatagramHandlers {
  /**
   * A datagram from address:port (the address canonical). `datagram` is valid only during the call: the native
   * engine reads the next batch into the same memory, so whatever is kept must be copied.
   */
  datagram(datagram: Buffer, address: string, port: number): void;
  /** A socket-level error (a failed read): logged by the driver; the socket stays open. */
  error(error: Error): void;
}

/** How a link socket reads and writes. */
export interface DatagramEngine {
  /** For the daemon's start log. */
  readonly name: string;
  /** Binds a socket to `endpoint`; rejects (nothing left open) when it cannot, with node:dgram's error shape. */
  open(endpoint: ResolvedEndpoint, bufferBytes: number, handlers: DatagramHandlers): Promise<DatagramSocket>;
}

/** Datagrams one recvmmsg reads at most (knet reads up to 512 at a time; 32 is most of a token visit's frames). */
export const RECV_BATCH_DATAGRAMS = 32;
/** Bytes of one read slot: the largest UDP payload over IPv4 fits, so no datagram is ever truncated. */
const RECV_SLOT_BYTES = 64 * 1024;
/** Datagrams a native socket holds while the kernel's send buffer is full; more are dropped (ENOBUFS). */
export const SEND_BACKLOG_DATAGRAMS_MAX = 1024;
/**
 * A native socket stages one event-loop turn's sends, up to this many datagrams and bytes, and hands them to the
 * kernel together at the turn's end (or when the stage is full): a token visit's frames to both peers (≈ 32 datagrams
 * of ≤ 1,472 B with the default pack of 16 frames) fit with room to spare.
 */
export const SEND_STAGE_DATAGRAMS = 256;
export const SEND_STAGE_BYTES = 256 * 1024;

/** node:dgram: what Node gives every program. */
export const NODE_DGRAM_ENGINE: DatagramEngine = {
  name: 'node:dgram',
  async open(endpoint, bufferBytes, handlers) {
    const socket = createSocket({
      type: endpoint.family,
      ipv6Only: endpoint.family === 'udp6',
      recvBufferSize: bufferBytes,
      sendBufferSize: bufferBytes,
      lookup: literalLookup,
    });
    await new Promise<void>((resolve, reject) => {
      const failed = (error: Error) => {
        socket.close();
        reject(error);
      };
      socket.once('error', failed);
      socket.bind({ address: endpoint.address, port: endpoint.port, exclusive: true }, () => {
        socket.off('error', failed);
        resolve();
      });
    });
    const decodeAddress = endpoint.family === 'udp6' ? canonicalAddress : (address: string) => address;
    socket.on('message', (datagram, remote) => handlers.datagram(datagram, decodeAddress(remote.address), remote.port));
    socket.on('error', (error) => handlers.error(error));
    return new NodeDatagramSocket(socket);
  },
};

class NodeDatagramSocket implements DatagramSocket {
  readonly sendReturnsDatagram = false;
  private closing: Promise<void> | undefined;

  constructor(private readonly socket: Socket) {}

  send(to: ResolvedEndpoint, datagram: Buffer, onError: (error: NodeJS.ErrnoException) => void): void {
    this.socket.send(datagram, to.port, to.address, (error) => {
      if (error) onError(error);
    });
  }

  flush(): void {} // node:dgram sends from libuv, after the turn

  close(): Promise<void> {
    this.closing ??= new Promise((resolve) => this.socket.close(() => resolve()));
    return this.closing;
  }
}

/** The addon's UDP calls (native/udp.c). */
interface UdpAddon {
  udpOpen(
    family: 4 | 6,
    address: string,
    port: number,
    bufferBytes: number,
    arena: Buffer,
    meta: Int32Array,
    onBatch: (count: number) => void,
    onWritable: () => void,
  ): object;
  udpDestination(handle: object, address: string, port: number): number;
  udpSend(handle: object, id: number, datagram: Buffer): number;
  udpFlush(handle: object, staging: Buffer, entries: Int32Array, count: number): number;
  udpWantWritable(handle: object, wanted: boolean): void;
  udpClose(handle: object): void;
}

/**
 * Ints of the addon's `meta` per read slot: length (-1: truncated), port, family, address words × 4, segment (the
 * size of the datagrams of one GSO send read together with UDP_GRO, the last one may be shorter; 0: one datagram).
 */
const META_INTS = 8;
/** Ints of `udpFlush`'s entries per staged datagram: destination id, offset, length, status. */
const ENTRY_INTS = 4;
/** A staged datagram's status after `udpFlush`: not sent, the kernel's send buffer was full (else 0 or an errno). */
const STATUS_UNSENT = -1;

/** errno number → code ('EAGAIN'), for the native engine's send errors. */
const ERRNO_CODES = new Map(Object.entries(constants.errno).map(([code, errno]) => [errno, code]));

/** A send the kernel had no room for, kept in order until the socket is writable again. */
interface BackloggedSend {
  id: number;
  datagram: Buffer;
  onError: (error: NodeJS.ErrnoException) => void;
}

class NativeDatagramSocket implements DatagramSocket {
  readonly sendReturnsDatagram = true;
  private readonly arena = Buffer.allocUnsafeSlow(RECV_BATCH_DATAGRAMS * RECV_SLOT_BYTES);
  private readonly meta = new Int32Array(RECV_BATCH_DATAGRAMS * META_INTS);
  private readonly handle: object;
  /** Destination ids of the endpoints sent to (the driver keeps one object per peer address). */
  private readonly ids = new WeakMap<ResolvedEndpoint, number>();
  /** The endpoint of each destination id (ids count up from 0): what a failed send names. */
  private readonly endpoints: ResolvedEndpoint[] = [];
  /** Source address strings by address word (IPv4) or words (IPv6): no string is built per datagram. */
  private readonly addresses = new Map<number | string, string>();
  private readonly backlog: BackloggedSend[] = [];
  /** This turn's sends, copied (docs/transport.md "The link sockets"): bytes, and per datagram id/offset/length/status. */
  private readonly stage = Buffer.allocUnsafeSlow(SEND_STAGE_BYTES);
  private readonly staged = new Int32Array(SEND_STAGE_DATAGRAMS * ENTRY_INTS);
  private readonly stagedOnError: ((error: NodeJS.ErrnoException) => void)[] = [];
  private stagedCount = 0;
  private stagedBytes = 0;
  private flushQueued = false;
  private readonly flushStaged = () => this.flush();
  private closed = false;

  constructor(
    private readonly addon: UdpAddon,
    endpoint: ResolvedEndpoint,
    bufferBytes: number,
    private readonly handlers: DatagramHandlers,
  ) {
    this.handle = addon.udpOpen(
      endpoint.family === 'udp6' ? 6 : 4,
      endpoint.address,
      endpoint.port,
      bufferBytes,
      this.arena,
      this.meta,
      (count) => this.onBatch(count),
      () => this.onWritable(),
    );
  }

  send(to: ResolvedEndpoint, datagram: Buffer, onError: (error: NodeJS.ErrnoException) => void): void {
    if (this.closed) return;
    let id = this.ids.get(to);
    if (id === undefined) {
      id = this.addon.udpDestination(this.handle, to.address, to.port);
      this.ids.set(to, id);
      this.endpoints[id] = to;
    }
    if (this.backlog.length > 0) {
      this.hold({ id, datagram, onError });
      return;
    }
    if (datagram.length > SEND_STAGE_BYTES - this.stagedBytes || this.stagedCount === SEND_STAGE_DATAGRAMS) {
      this.flush();
      if (this.backlog.length > 0) {
        this.hold({ id, datagram, onError });
        return;
      }
      if (datagram.length > SEND_STAGE_BYTES) {
        this.sendNow(id, datagram, onError);
        return;
      }
    }
    const at = this.stagedCount * ENTRY_INTS;
    this.staged[at] = id;
    this.staged[at + 1] = this.stagedBytes;
    this.staged[at + 2] = datagram.length;
    datagram.copy(this.stage, this.stagedBytes);
    this.stagedOnError[this.stagedCount] = onError;
    this.stagedCount++;
    this.stagedBytes += datagram.length;
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flushStaged);
    }
  }

  /** Hands the staged sends to the kernel; a send it had no room for, and every later one, waits in the backlog. */
  flush(): void {
    this.flushQueued = false;
    const count = this.stagedCount;
    if (count === 0 || this.closed) return;
    const gsoRefused = this.addon.udpFlush(this.handle, this.stage, this.staged, count);
    if (gsoRefused !== 0) {
      const code = ERRNO_CODES.get(gsoRefused) ?? `E${gsoRefused}`;
      this.handlers.error(new Error(`UDP GSO refused (${code}): sending datagram by datagram from now on`));
    }
    for (let i = 0; i < count; i++) {
      const at = i * ENTRY_INTS;
      const status = this.staged[at + 3]!;
      const onError = this.stagedOnError[i]!;
      if (status === STATUS_UNSENT) {
        const offset = this.staged[at + 1]!;
        this.hold({
          id: this.staged[at]!,
          datagram: this.stage.subarray(offset, offset + this.staged[at + 2]!),
          onError,
        });
      } else if (status !== 0) {
        this.fail(onError, status, this.staged[at]!);
      }
    }
    this.clearStage();
  }

  private clearStage(): void {
    this.stagedOnError.length = 0;
    this.stagedCount = 0;
    this.stagedBytes = 0;
  }

  private sendNow(id: number, datagram: Buffer, onError: (error: NodeJS.ErrnoException) => void) {
    const errno = this.addon.udpSend(this.handle, id, datagram);
    if (errno === constants.errno.EAGAIN) this.hold({ id, datagram, onError });
    else if (errno !== 0) this.fail(onError, errno, id);
  }

  close(): Promise<void> {
    if (!this.closed) this.addon.udpClose(this.handle);
    this.closed = true;
    this.backlog.length = 0;
    this.clearStage(); // dropped, as the backlog
    return Promise.resolve();
  }

  private onBatch(count: number): void {
    if (count < 0) {
      this.handlers.error(Object.assign(new Error(`recvmmsg ${ERRNO_CODES.get(-count) ?? -count}`), { errno: count }));
      return;
    }
    const meta = this.meta;
    for (let slot = 0; slot < count && !this.closed; slot++) {
      const at = slot * META_INTS;
      const length = meta[at]!;
      if (length < 0) continue; // truncated: larger than any datagram a peer sends (RECV_SLOT_BYTES)
      const start = slot * RECV_SLOT_BYTES;
      const address = this.sourceAddress(at);
      const port = meta[at + 1]!;
      const segment = meta[at + 7]!;
      if (segment <= 0 || segment >= length) {
        this.handlers.datagram(this.arena.subarray(start, start + length), address, port);
        continue;
      }
      for (let from = start; from < start + length && !this.closed; from += segment) {
        this.handlers.datagram(this.arena.subarray(from, Math.min(from + segment, start + length)), address, port);
      }
    }
  }

  /** The canonical text of slot `at`'s source address, built once per address. */
  private sourceAddress(at: number): string {
    const meta = this.meta;
    const key = meta[at + 2] === 4 ? meta[at + 3]! : `${meta[at + 3]},${meta[at + 4]},${meta[at + 5]},${meta[at + 6]}`;
    let text = this.addresses.get(key);
    if (text === undefined) {
      text = typeof key === 'number' ? ipv4Text(key) : ipv6Text(meta.subarray(at + 3, at + 7));
      this.addresses.set(key, text);
    }
    return text;
  }

  /** Keeps a copy of the send until the kernel has room (the caller reuses the datagram's memory: see the interface). */
  private hold(send: BackloggedSend): void {
    if (this.backlog.length >= SEND_BACKLOG_DATAGRAMS_MAX) {
      const error = Object.assign(new Error('send ENOBUFS: the link socket backlog is full'), { code: 'ENOBUFS' });
      queueMicrotask(() => send.onError(error));
      return;
    }
    if (this.backlog.length === 0) this.addon.udpWantWritable(this.handle, true);
    this.backlog.push({ ...send, datagram: Buffer.from(send.datagram) });
  }

  /** The kernel has room again: sends the backlog in order until it is empty or full again. */
  private onWritable(): void {
    let sent = 0;
    for (; sent < this.backlog.length && !this.closed; sent++) {
      const { id, datagram, onError } = this.backlog[sent]!;
      const errno = this.addon.udpSend(this.handle, id, datagram);
      if (errno === constants.errno.EAGAIN) break;
      if (errno !== 0) this.fail(onError, errno, id);
    }
    this.backlog.splice(0, sent);
    if (this.backlog.length > 0 && !this.closed) this.addon.udpWantWritable(this.handle, true);
  }

  private fail(onError: (error: NodeJS.ErrnoException) => void, errno: number, id: number): void {
    const code = ERRNO_CODES.get(errno) ?? `E${errno}`;
    const to = this.endpoints[id]!;
    const error = Object.assign(new Error(`send ${code} ${to.address}:${to.port}`), {
      code,
      errno: -errno,
      syscall: 'send',
    });
    queueMicrotask(() => onError(error));
  }
}

function ipv4Text(word: number): string {
  return `${(word >>> 24) & 255}.${(word >>> 16) & 255}.${(word >>> 8) & 255}.${word & 255}`;
}

function ipv6Text(words: Int32Array): string {
  const groups: string[] = [];
  for (const word of words) groups.push(((word >>> 16) & 0xffff).toString(16), (word & 0xffff).toString(16));
  return canonicalAddress(groups.join(':'));
}

let nativeEngine: DatagramEngine | Error | undefined;

/** The addon's batched link sockets, or why they are unavailable. */
export function nativeDatagramEngine(): DatagramEngine | Error {
  if (nativeEngine !== undefined) return nativeEngine;
  const addon = nativeAddon();
  if (addon instanceof Error || typeof (addon as Partial<UdpAddon>).udpOpen !== 'function') {
    nativeEngine = new Error(
      `the native UDP sockets are unavailable: ${addon instanceof Error ? addon.message : 'the addon has no udpOpen'}`,
    );
    return nativeEngine;
  }
  const udp = addon as UdpAddon;
  nativeEngine = {
    name: `recvmmsg, up to ${RECV_BATCH_DATAGRAMS} datagrams per read; sendmmsg with UDP GSO (native addon)`,
    open: async (endpoint, bufferBytes, handlers) => new NativeDatagramSocket(udp, endpoint, bufferBytes, handlers),
  };
  return nativeEngine;
}

/** The fastest engine this process has: the addon's, else node:dgram. */
export function preferredDatagramEngine(): DatagramEngine {
  const native = nativeDatagramEngine();
  return native instanceof Error ? NODE_DGRAM_ENGINE : native;
}
