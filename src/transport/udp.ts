/**
 * The real-socket driver of the transport core: one UDP socket per local link, every frame sealed with
 * src/crypto before it leaves and opened (authenticated, source-checked, replay-checked) before the core sees it,
 * the core driven with `performance.now()` and one re-armable timer at `core.nextDeadline()`.
 * Nothing a datagram contains can make it throw: crypto and the core reject and count.
 */
import { EventEmitter } from 'node:events';
import { AssertionError } from '../base/assert.ts';
import { STAGE_TRACE_ON, stamp } from '../base/stage-trace.ts';
import { DeadlineTimer } from '../base/timer-delay.ts';
import type { PacketCrypto, PacketCryptoStats } from '../crypto/packet-crypto.ts';
import { DATAGRAM_BYTES_MAX } from '../crypto/packet-format.ts';
import { type DatagramEngine, type DatagramSocket, preferredDatagramEngine } from './datagram-socket.ts';
import { linkOptionsProblem, type Transport } from './transport.ts';
import type {
  LinkOptions,
  LinkOptionsUpdate,
  LinkStatus,
  LogAction,
  TransportAction,
  TransportCounters,
  TransportEvent,
} from './types.ts';
import { PendingBundle, sameFrames, splitBundle } from './udp-bundle.ts';
import { type LinkEndpoint, PeerEndpoints, type ResolvedEndpoint, resolveEndpoint } from './udp-endpoints.ts';

/** SO_RCVBUF / SO_SNDBUF asked for every link socket (knet wants big buffers; capped by net.core.rmem_max). */
export const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;
/** Default largest UDP payload per datagram: Ethernet MTU 1500 − IPv4 20 − UDP 8 (IPv6: − 40 − 8). */
export const DEFAULT_MAX_DATAGRAM_BYTES = { udp4: 1472, udp6: 1452 } as const;
/** Node id 0 does not exist: the expected sender of a datagram from an address:port no peer has on the link. */
const NO_NODE = 0;

/** Options of `UdpTransport.open`. */
export interface UdpTransportOptions {
  /** The pure transport core, already constructed with the same links and peers. */
  core: Transport;
  /** Packet protection (its nodelist must list the peers' addresses). */
  crypto: PacketCrypto;
  /** This node's address on each local link. */
  localEndpoints: LinkEndpoint[];
  /** Every peer's addresses, per link. */
  peers: { nodeId: number; endpoints: LinkEndpoint[] }[];
  /** Monotonic clock in ms (default `performance.now`). */
  clock?: () => number;
  /** Called with a failed assertion of the core before it propagates: a caller that catches errors must not swallow it. */
  onAssertion?: (error: AssertionError) => void;
  /** Socket buffer size (default SOCKET_BUFFER_BYTES). */
  socketBufferBytes?: number;
  /**
   * Largest UDP payload to send (the path MTU minus IP/UDP headers; default DEFAULT_MAX_DATAGRAM_BYTES). Frames to
   * one peer on one link produced in the same event-loop turn are bundled into datagrams up to this size.
   */
  maxDatagramBytes?: number;
  /** How the link sockets read and write (default `preferredDatagramEngine()`: the native addon's where it loads). */
  datagramEngine?: DatagramEngine;
}

/** Status of one local link socket. */
export interface UdpLinkSocketStatus {
  link: number;
  address: string;
  port: number;
  enabled: boolean;
}

/** Driver counters and state for `corolink links` / metrics. */
export interface UdpTransportSnapshot {
  links: UdpLinkSocketStatus[];
  datagramsSent: number;
  datagramsReceived: number;
  /** transmit actions with no known peer address on the link. */
  noAddressDrops: number;
  sendErrors: Record<string, number>;
  /** Frames handed to / received from the core (a datagram carries one frame or a bundle of several). */
  framesSent: number;
  framesReceived: number;
  /** Authenticated datagrams whose bundle structure was malformed. */
  malformedBundles: number;
  /** Exceptions thrown by the core (a bug): caught, logged and counted so the driver keeps running. */
  coreExceptions: number;
  crypto: PacketCryptoStats;
  /** The core's per peer × link status and counters. */
  peerLinks: LinkStatus[];
  transport: TransportCounters;
}

/** Events of `UdpTransport`. */
export interface UdpTransportEvents {
  deliver: [from: number, payload: Uint8Array];
  linkUp: [change: { nodeId: number; link: number; reason: string }];
  linkDown: [change: { nodeId: number; link: number; reason: string }];
  hostUp: [nodeId: number];
  hostDown: [nodeId: number];
  log: [record: LogAction];
}

interface LinkSocket {
  link: number;
  endpoint: ResolvedEndpoint;
  socket: DatagramSocket;
  enabled: boolean;
  /** False once `removeLink` took it away: datagrams still read are dropped. */
  reading: boolean;
  /** Plaintext bytes one datagram may carry on this link (max datagram − crypto overhead). */
  bundleBudgetBytes: number;
  /** Frames waiting for the end of the event-loop turn, by destination node. */
  pending: Map<number, PeerQueue>;
  /** The last datagram sealed on this link in this flush, see `sendPending`. */
  lastSealed: SealedBundle | null;
  /**
   * Where datagrams are sealed when the socket is done with each one as `send` returns (`sendReturnsDatagram`): no
   * new Buffer per datagram. `lastSealed` is always the newest seal, so it stays this memory's content.
   */
  sealBuffer: Buffer | undefined;
}

/**
 * A sealed datagram and the peers it went to. A multicast hands the same frame objects to every peer on a link, so
 * the next peer's bundle is usually the same frames: it gets the same datagram instead of a second AES-GCM seal.
 * Nothing binds a datagram to its receiver, and no peer gets one datagram twice (its replay window would drop it).
 */
interface SealedBundle {
  frames: readonly Uint8Array[];
  datagram: Buffer;
  recipients: number[];
}

/** The frames queued for one peer on one link, and the (reused) completion callback of their sends. */
interface PeerQueue {
  bundle: PendingBundle;
  afterSend: (error: NodeJS.ErrnoException) => void;
}

/** The UDP driver: create with `UdpTransport.open`, stop with `close`. */
export class UdpTransport extends EventEmitter<UdpTransportEvents> {
  private readonly core: Transport;
  private readonly crypto: PacketCrypto;
  private readonly clock: () => number;
  private readonly onAssertion: ((error: AssertionError) => void) | undefined;
  private readonly peers = new PeerEndpoints();
  private readonly sockets = new Map<number, LinkSocket>();
  /** Links whose socket `addLink` is binding (a second add of the same link must fail, not race). */
  private readonly linksBeingAdded = new Set<number>();
  private readonly socketBufferBytes: number;
  private readonly timer: DeadlineTimer;
  private closed = false;
  private flushScheduled = false;
  /** When the datagram being handled (or the last one) was read from its socket, on `clock`. */
  private receivedAt = 0;
  private readonly maxDatagramBytes: number | undefined;
  private readonly engine: DatagramEngine;
  private readonly counters = {
    datagramsSent: 0,
    datagramsReceived: 0,
    noAddressDrops: 0,
    sendErrors: {} as Record<string, number>,
    framesSent: 0,
    framesReceived: 0,
    malformedBundles: 0,
    coreExceptions: 0,
  };

  private constructor(options: UdpTransportOptions) {
    super();
    this.core = options.core;
    this.crypto = options.crypto;
    this.clock = options.clock ?? (() => performance.now());
    this.timer = new DeadlineTimer(() => this.run({ type: 'tick' }), this.clock);
    this.onAssertion = options.onAssertion;
    this.maxDatagramBytes = options.maxDatagramBytes;
    this.engine = options.datagramEngine ?? preferredDatagramEngine();
    this.socketBufferBytes = options.socketBufferBytes ?? SOCKET_BUFFER_BYTES;
    for (const peer of options.peers) {
      for (const endpoint of peer.endpoints) this.peers.add(peer.nodeId, endpoint);
    }
  }

  /** Binds one socket per local link and starts the core's clock. Rejects if a bind fails (all sockets closed). */
  static async open(options: UdpTransportOptions): Promise<UdpTransport> {
    const transport = new UdpTransport(options);
    try {
      for (const endpoint of options.localEndpoints) {
        transport.sockets.set(endpoint.link, await transport.bindLink(endpoint));
      }
    } catch (error) {
      await transport.close();
      throw error;
    }
    transport.run({ type: 'tick' });
    return transport;
  }

  /** Sends one message (best effort); `urgent` = control traffic, sent on every up link. */
  send(to: number | 'all', payload: Uint8Array, options: { urgent?: boolean } = {}): void {
    const urgent = options.urgent === true;
    this.run({ type: 'send', to, payload, urgent });
    // Control traffic (the Totem token above all) leaves at once, with the frames queued before it, instead of at
    // the end of the turn: the rest of the turn (delivering a token visit's messages to local clients) must not
    // delay the token's next hop — that delay, on every hop, was most of a loaded ring's rotation time.
    if (urgent) this.flush();
  }

  /** Which engine reads and writes the link sockets (`DatagramEngine.name`), for the daemon's start log. */
  get datagramEngine(): string {
    return this.engine.name;
  }

  /** When the datagram now being delivered was read from its socket (`clock` time): for the token trace. */
  get lastReceiveAt(): number {
    return this.receivedAt;
  }

  /** Administratively enables or disables a local link (a disabled link sends nothing). */
  setLinkEnabled(link: number, enabled: boolean): void {
    const socket = this.sockets.get(link);
    if (socket !== undefined) socket.enabled = enabled;
    this.run({ type: 'setLinkEnabled', link, enabled });
  }

  /** The carrier of the local interface link `link` is on, as the kernel reports it (src/daemon/carrier.ts). */
  setLinkCarrier(link: number, carrier: boolean): void {
    this.run({ type: 'setLinkCarrier', link, carrier });
  }

  /**
   * Adds a local link to the running transport: binds its socket (as `open` does), registers the peers' addresses
   * on it (in the crypto's source-address filter too), then the core starts heartbeating on it; it carries data
   * once it is up. Rejects, with nothing changed, when the link exists, an endpoint names another link, the
   * options are invalid or the bind fails.
   */
  async addLink(
    local: LinkEndpoint,
    peers: { nodeId: number; endpoint: LinkEndpoint }[],
    options: LinkOptions,
  ): Promise<void> {
    const link = options.link;
    const problem = this.addLinkProblem(local, peers, options);
    if (problem !== null) throw new Error(`cannot add link ${link}: ${problem}`);
    this.linksBeingAdded.add(link);
    let socket: LinkSocket;
    try {
      socket = await this.bindLink(local);
    } catch (error) {
      throw new Error(`cannot add link ${link}: ${(error as Error).message}`, { cause: error });
    } finally {
      this.linksBeingAdded.delete(link);
    }
    if (this.closed) {
      await socket.socket.close();
      throw new Error(`cannot add link ${link}: the transport was closed`);
    }
    this.sockets.set(link, socket);
    for (const { nodeId, endpoint } of peers) this.peers.add(nodeId, endpoint);
    this.crypto.listAddresses(peers.map(({ nodeId, endpoint }) => ({ nodeId, address: endpoint.address })));
    this.run({ type: 'addLink', options, peers: peers.map(({ nodeId }) => ({ nodeId })) });
  }

  /**
   * Removes a local link: the core takes it down (its recent data fails over to the remaining links), the socket
   * closes, and the peers' addresses on it are forgotten — in the crypto's filter too, unless another link still
   * uses them. Rejects when the link does not exist.
   */
  async removeLink(link: number): Promise<void> {
    const local = this.sockets.get(link);
    if (local === undefined) throw new Error(`cannot remove link ${link}: no such link`);
    this.sendQueued(local); // what the core already handed over for this link still leaves on it
    this.sockets.delete(link);
    local.reading = false;
    this.run({ type: 'removeLink', link });
    const forgotten = this.peers.forgetLink(link);
    this.crypto.unlistAddresses(forgotten.filter(({ nodeId, address }) => !this.peers.hasAddress(nodeId, address)));
    // Let the send requests queued above complete before the socket closes (a closed socket drops them silently).
    await new Promise((resolve) => setImmediate(resolve));
    await local.socket.close();
  }

  /**
   * Adds a node to the running transport (a node added to the nodelist): its addresses on the local links are
   * registered (in the crypto's source-address filter too), then the core starts heartbeating to it. Endpoints on
   * links this node does not have are ignored. Throws, with nothing changed, when the node is already known.
   */
  addPeer(nodeId: number, endpoints: LinkEndpoint[]): void {
    if (this.core.hasPeer(nodeId)) {
      throw new Error(`cannot add node ${nodeId}: it is already a peer`);
    }
    const usable = endpoints.filter((e) => this.sockets.has(e.link));
    for (const endpoint of usable) this.peers.add(nodeId, endpoint);
    this.crypto.listAddresses(usable.map((e) => ({ nodeId, address: e.address })));
    this.run({ type: 'addPeer', nodeId, links: usable.map((e) => e.link) });
  }

  /** Removes a node (taken out of the nodelist): its links go down, its addresses are forgotten (unknown: a warning). */
  removePeer(nodeId: number): void {
    const forgotten: { nodeId: number; address: string }[] = [];
    for (const link of this.sockets.keys()) {
      const endpoint = this.peers.destination(nodeId, link);
      if (endpoint === undefined) continue;
      forgotten.push({ nodeId, address: endpoint.address });
      this.peers.remove(nodeId, link);
    }
    this.crypto.unlistAddresses(forgotten);
    this.run({ type: 'removePeer', nodeId });
  }

  /** Re-tunes a running link (priority, ping timings, pong count) without taking it down; unknown link: a warning. */
  updateLink(link: number, options: LinkOptionsUpdate): void {
    this.run({ type: 'updateLink', link, options });
  }

  /** Counters and socket state. */
  snapshot(): UdpTransportSnapshot {
    return {
      links: [...this.sockets.values()]
        .map(({ link, endpoint, enabled }) => ({ link, address: endpoint.address, port: endpoint.port, enabled }))
        .sort((a, b) => a.link - b.link),
      datagramsSent: this.counters.datagramsSent,
      datagramsReceived: this.counters.datagramsReceived,
      noAddressDrops: this.counters.noAddressDrops,
      sendErrors: { ...this.counters.sendErrors },
      framesSent: this.counters.framesSent,
      framesReceived: this.counters.framesReceived,
      malformedBundles: this.counters.malformedBundles,
      coreExceptions: this.counters.coreExceptions,
      crypto: this.crypto.stats(),
      peerLinks: this.core.linkStatus(this.clock()),
      transport: this.core.counters(),
    };
  }

  /** Stops the timer and closes every socket; later calls and datagrams are ignored. */
  async close(): Promise<void> {
    this.closed = true;
    this.timer.clear();
    const sockets = [...this.sockets.values()];
    this.sockets.clear();
    await Promise.all(sockets.map(({ socket }) => socket.close()));
  }

  /** Why `addLink` must refuse, or null. */
  private addLinkProblem(
    local: LinkEndpoint,
    peers: { endpoint: LinkEndpoint }[],
    options: LinkOptions,
  ): string | null {
    const link = options.link;
    if (this.closed) return 'the transport is closed';
    if (this.sockets.has(link) || this.linksBeingAdded.has(link) || this.core.linkOptions(link) !== undefined) {
      return 'the link already exists';
    }
    if (local.link !== link || peers.some(({ endpoint }) => endpoint.link !== link)) {
      return 'an endpoint names another link';
    }
    const invalid = linkOptionsProblem(options);
    return invalid === null ? null : `invalid ${invalid}`;
  }

  /** Binds the socket of one local link (closed again if the bind fails). */
  private async bindLink(endpoint: LinkEndpoint): Promise<LinkSocket> {
    const resolved = resolveEndpoint(endpoint);
    const link = endpoint.link;
    let linkSocket: LinkSocket | undefined;
    const socket = await this.engine.open(resolved, this.socketBufferBytes, {
      datagram: (datagram, address, port) => {
        if (linkSocket?.reading === true) this.onDatagram(link, datagram, address, port);
      },
      error: (error) => this.log('warning', `link ${link} socket error: ${error.message}`),
    });
    const maxDatagramBytes = this.maxDatagramBytes ?? DEFAULT_MAX_DATAGRAM_BYTES[resolved.family];
    linkSocket = {
      link,
      endpoint: resolved,
      socket,
      enabled: true,
      reading: true,
      bundleBudgetBytes: maxDatagramBytes - this.crypto.overheadBytes,
      pending: new Map(),
      lastSealed: null,
      sealBuffer: socket.sendReturnsDatagram ? Buffer.allocUnsafeSlow(DATAGRAM_BYTES_MAX) : undefined,
    };
    return linkSocket;
  }

  /** One datagram read on `link` (valid during this call only: see DatagramHandlers). */
  private onDatagram(link: number, datagram: Buffer, address: string, port: number): void {
    if (this.closed) return;
    this.receivedAt = this.clock();
    if (STAGE_TRACE_ON) stamp(`recvmsg ${link}`);
    this.counters.datagramsReceived++;
    const expectedSender = this.peers.nodeAt(link, address, port) ?? NO_NODE;
    const opened = this.crypto.open(datagram, address, expectedSender, link);
    if (!opened.ok) return;
    const frames = splitBundle(opened.frame);
    if (frames === null) {
      this.counters.malformedBundles++;
      return;
    }
    for (const frame of frames) {
      this.counters.framesReceived++;
      this.run({ type: 'receive', link, bytes: frame });
    }
  }

  private run(event: TransportEvent): void {
    if (this.closed) return;
    let actions: TransportAction[];
    try {
      actions = this.core.step(event, this.clock());
    } catch (error) {
      if (error instanceof AssertionError) {
        this.onAssertion?.(error); // a broken invariant stops the process: never counted, never swallowed
        throw error;
      }
      this.counters.coreExceptions++;
      this.log('error', `transport core failed on ${event.type}: ${(error as Error).message}`);
      return;
    }
    for (const action of actions) this.perform(action);
    this.rearm();
  }

  private perform(action: TransportAction): void {
    switch (action.type) {
      case 'transmit':
        this.transmit(action.link, action.to, action.bytes);
        return;
      case 'deliver':
        this.emit('deliver', action.from, action.payload);
        return;
      case 'linkUp':
      case 'linkDown':
        this.emit(action.type, { nodeId: action.nodeId, link: action.link, reason: action.reason });
        return;
      case 'hostUp':
      case 'hostDown':
        this.emit(action.type, action.nodeId);
        return;
      case 'log':
        this.emit('log', action);
        return;
    }
  }

  /** Queues a frame; queues are sealed and sent at the end of the current event-loop turn (or when full). */
  private transmit(link: number, to: number, frame: Uint8Array): void {
    const local = this.sockets.get(link);
    if (local === undefined || this.peers.destination(to, link) === undefined) {
      this.counters.noAddressDrops++;
      return;
    }
    let queue = local.pending.get(to);
    if (queue === undefined) {
      const afterSend = (error: NodeJS.ErrnoException) => this.onSendError(link, to, error);
      queue = { bundle: new PendingBundle(link, to), afterSend };
      local.pending.set(to, queue);
    }
    if (queue.bundle.size > 0 && !queue.bundle.fits(frame, local.bundleBudgetBytes)) this.sendPending(local, queue);
    queue.bundle.add(frame);
    this.counters.framesSent++;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    for (const local of this.sockets.values()) this.sendQueued(local);
  }

  /** Sends every queued frame of one link. */
  private sendQueued(local: LinkSocket): void {
    for (const queue of local.pending.values()) if (queue.bundle.size > 0) this.sendPending(local, queue);
    local.lastSealed = null;
    local.socket.flush();
  }

  private sendPending(local: LinkSocket, queue: PeerQueue): void {
    const { link, to } = queue.bundle;
    const destination = this.peers.destination(to, link);
    const frames = queue.bundle.queued;
    const plaintext = queue.bundle.take();
    if (destination === undefined || this.closed) return;
    const last = local.lastSealed;
    let datagram: Buffer;
    if (last !== null && !last.recipients.includes(to) && sameFrames(last.frames, frames)) {
      datagram = last.datagram;
      last.recipients.push(to);
    } else {
      try {
        datagram = this.crypto.seal(plaintext, local.sealBuffer);
      } catch (error) {
        // A frame no datagram can carry (a link MTU above the UDP maximum): what the kernel would answer.
        const code = error instanceof RangeError ? 'EMSGSIZE' : undefined;
        queueMicrotask(() => this.onSendError(link, to, Object.assign(error as Error, code ? { code } : {})));
        return;
      }
      local.lastSealed = { frames, datagram, recipients: [to] };
    }
    this.counters.datagramsSent++;
    if (STAGE_TRACE_ON) stamp(`sendmsg ${link} ${to}`);
    local.socket.send(destination, datagram, queue.afterSend);
  }

  private onSendError(link: number, to: number, error: NodeJS.ErrnoException): void {
    const code = (error as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
    this.counters.sendErrors[code] = (this.counters.sendErrors[code] ?? 0) + 1;
    this.run({ type: 'sendError', link, to, code });
  }

  private rearm(): void {
    if (!this.closed) this.timer.set(this.core.nextDeadline());
  }

  private log(level: 'warning' | 'error', message: string): void {
    this.emit('log', { type: 'log', level, subsystem: 'KNET', message });
  }
}
