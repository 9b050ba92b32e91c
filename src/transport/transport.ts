/**
 * The transport core: a knet-like link manager for the local node × peers × links, as a pure state machine
 * (`step(event, now) → actions`, `nextDeadline()`; docs/contracts.md § Transport, docs/transport.md).
 *
 * What knet does (reference §2): per peer × link heartbeats decide up/down (see peer-link.ts); data to a peer
 * goes on the links its link mode picks (selection.ts); every data frame carries a per-sending-host sequence
 * number and the receiver drops duplicates (dedup.ts); messages larger than the data MTU are fragmented and
 * reassembled (reassembly.ts); link and host changes are logged in knet's words (knet-log.ts).
 *
 * Where corolink deliberately differs:
 * - urgent (control) messages go on EVERY up link whatever the link mode, deduplicated by the receiver, so a
 *   single link cut never loses a Totem token (knet: passive mode uses one link for everything). Measured
 *   2026-12-04: the token on the passive data link only (recovered by the cover below) saves ≈ 21 % of the
 *   datagrams, but a cut then costs up to one missed pong (≤ 20.5 ms in the simulator, against ≤ 1 ms) and a lossy
 *   data link loses tokens (docs/transport.md § Control traffic on every link);
 * - passive mode has a fail-back hold-down (failbackHoldMs) before traffic returns to a recovered better link;
 * - frames recently sent on a link that fails are re-sent at once on the replacement link (recent-frames.ts);
 * - passive mode: a data link that missed one pong is covered by the best other link until a pong comes (its
 *   unanswered frames re-sent there, new data sent on both) — long before the timeout declares it down;
 * - every frame names its cluster and its sender's incarnation; a sender restart resets the receiver's
 *   duplicate filter and reassembly buffers for it;
 * - the data MTU used for fragmentation is the smallest configured link MTU (knet: the smallest discovered
 *   PMTU); PMTU probes are answered but not yet sent (no discovery yet).
 * Delivery is best effort, like knet: Totem retransmits.
 */
import { assert } from '../base/assert.ts';
import { LINK_NUMBER_MAX, LINKS_MAX } from '../base/limits.ts';
import { fnv1a32 } from '../wire/cluster-id.ts';
import {
  decodePacket,
  encodeData,
  encodeFragment,
  encodeLinkState,
  encodePingPong,
  encodePmtuReply,
  FLAG_NO_PONG,
  FLAG_URGENT,
  FRAGMENT_HEADER_BYTES,
  FRAME_BYTES_MAX,
  type FrameHeader,
  HEADER_BYTES,
  type LinkState,
  type Packet,
  relinkFrame,
} from '../wire/packet.ts';
import { nextSeq } from '../wire/sequence.ts';
import { DeliveredWindow } from './dedup.ts';
import { FrameStore } from './frame-store.ts';
import { activeLinksLog, knetLog, linkDownLog, linkUpLog, noActiveLinksLog, passiveBestLinkLog } from './knet-log.ts';
import { LINK_MTU_BYTES_MIN, PAUSE_THRESHOLD_MS, REASSEMBLY_BYTES_PER_PEER_MAX } from './limits.ts';
import { PeerLink, zeroLinkCounters } from './peer-link.ts';
import { Reassembler } from './reassembly.ts';
import { RecentFrames } from './recent-frames.ts';
import { choosePassiveLink, inHoldDown, isBetterLink, nextFailbackMs } from './selection.ts';
import type {
  LinkOptions,
  LinkOptionsUpdate,
  LinkStatus,
  TransportAction,
  TransportCounters,
  TransportEvent,
  TransportOptions,
} from './types.ts';

/**
 * Send errors that prove the path is broken (the interface is down or lost its address): the link goes down at
 * once. Others (ENOBUFS, EAGAIN, EMSGSIZE…) are only counted.
 */
export const LINK_DOWN_SEND_ERRORS: ReadonlySet<string> = new Set([
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENETDOWN',
  'EHOSTDOWN',
  'EADDRNOTAVAIL',
]);

/** Our link-down reason when our own link cannot carry traffic. */
const LOCAL_DOWN_REASONS: Record<LinkState, string> = { noCarrier: 'no carrier', disabled: 'disabled' };

/** A peer's link-down reason when the peer says why its link is down (a `linkState` frame). */
const LINK_STATE_REASONS: Record<LinkState, string> = {
  noCarrier: 'host reports no carrier',
  disabled: 'host disabled the link',
};

/** A local link: its options, whether it is administratively enabled and whether its interface has carrier. */
interface LocalLink {
  /** One object shared by every peer's PeerLink on this link, so that `updateLink` re-tunes them all at once. */
  readonly options: LinkOptions;
  enabled: boolean;
  /** As the driver last reported it (`setLinkCarrier`); true until told otherwise. */
  carrier: boolean;
}

/** The options `updateLink` may change on a running link. */
const TUNABLE_LINK_OPTIONS = ['priority', 'pingIntervalMs', 'pingTimeoutMs', 'pongCount'] as const;

/** Everything the core keeps about one peer. */
interface PeerState {
  readonly nodeId: number;
  /** By link number; undefined where the peer has no address or the local link does not exist. */
  readonly links: (PeerLink | undefined)[];
  /** Connected links of enabled local links, by link number. */
  eligible: PeerLink[];
  /** Passive mode: the link carrying data now. */
  passiveLink: PeerLink | null;
  /** Passive mode: when a held-down better link may take over. */
  failbackAtMs: number;
  /** Passive mode: the data link found suspect (no recent pong) and the standby link covering it, or null. */
  covering: { suspect: PeerLink; standby: PeerLink } | null;
  /** rr mode: index into `eligible` of the next link to use. */
  rrCursor: number;
  /** At least one eligible link. */
  reachable: boolean;
  /** The sender incarnation last seen in its frames. */
  incarnation: number | null;
  readonly delivered: DeliveredWindow;
  readonly reassembly: Reassembler;
  readonly recent: RecentFrames;
}

/** `emit`'s handle for a frame not kept for failover (control traffic, urgent frames, re-sends on a standby). */
const NOT_STORED = -1;

/** Why `options` cannot describe a link, or null when it can. */
export function linkOptionsProblem(options: LinkOptions): string | null {
  if (!Number.isInteger(options.link) || options.link < 0 || options.link > LINK_NUMBER_MAX) return 'link number';
  if (!Number.isFinite(options.priority)) return 'priority';
  if (!(options.pingIntervalMs > 0) || !(options.pingTimeoutMs > 0)) return 'ping interval/timeout';
  if (!Number.isInteger(options.pongCount) || options.pongCount < 1) return 'pong count';
  if (!Number.isInteger(options.mtu) || options.mtu < LINK_MTU_BYTES_MIN || options.mtu > FRAME_BYTES_MAX) {
    return 'mtu';
  }
  return null;
}

function isNodeId(value: number): boolean {
  return Number.isInteger(value) && value > 0 && value <= 0xffffffff;
}

/** Default incarnation: a hash of the construction time (differs between restarts of a process or a sim node). */
function incarnationFromClock(now: number): number {
  return fnv1a32(new Uint8Array(new Float64Array([now]).buffer));
}

/** The knet-like link manager core. */
export class Transport {
  private readonly localLinks: (LocalLink | undefined)[] = new Array(LINKS_MAX).fill(undefined);
  private readonly peers = new Map<number, PeerState>();
  /** Reused header for every frame this node encodes. */
  private readonly header: FrameHeader;
  /** Frames of the message being sent, by link (a broadcast is encoded once per link). */
  private readonly frameCache: (Uint8Array | Uint8Array[] | undefined)[] = new Array(LINKS_MAX).fill(undefined);
  /** The copies of recent data frames behind every peer's failover ring. */
  private readonly frameStore = new FrameStore();
  /** Handles in `frameStore` of the frames in `frameCache` stored so far, by link and fragment index. */
  private readonly storedCache: number[][] = Array.from({ length: LINKS_MAX }, () => []);
  private txSeq = 0;
  private dataMtuBytes = Number.POSITIVE_INFINITY;
  private lastNow: number;
  private cachedDeadline = Number.POSITIVE_INFINITY;
  private deadlineDirty = true;
  private readonly stats: TransportCounters = {
    rejected: {},
    txDropped: {},
    reassemblyEvictions: 0,
    failoverResends: 0,
    suspectResends: 0,
    pauses: 0,
    delivered: 0,
  };

  constructor(
    private readonly options: TransportOptions,
    now: number,
  ) {
    if (!isNodeId(options.localNodeId)) throw new RangeError('transport: invalid localNodeId');
    if (!Number.isInteger(options.clusterId) || options.clusterId < 0 || options.clusterId > 0xffffffff) {
      throw new RangeError('transport: invalid clusterId');
    }
    if (!(options.maxMessageBytes > 0) || options.maxMessageBytes > REASSEMBLY_BYTES_PER_PEER_MAX) {
      throw new RangeError(`transport: maxMessageBytes must be in 1..${REASSEMBLY_BYTES_PER_PEER_MAX}`);
    }
    if (!(options.failbackHoldMs >= 0)) throw new RangeError('transport: invalid failbackHoldMs');
    if (options.pingGridOriginMs !== undefined && !Number.isFinite(options.pingGridOriginMs)) {
      throw new RangeError('transport: invalid pingGridOriginMs');
    }
    this.lastNow = now;
    this.header = {
      clusterId: options.clusterId,
      sourceNodeId: options.localNodeId,
      incarnation: (options.incarnation ?? incarnationFromClock(now)) >>> 0,
      link: 0,
      seq: 0,
      flags: 0,
    };
    for (const link of options.links) {
      const problem = linkOptionsProblem(link);
      if (problem !== null) throw new RangeError(`transport: link ${link.link}: invalid ${problem}`);
      if (this.localLinks[link.link] !== undefined) throw new RangeError(`transport: link ${link.link} twice`);
      this.localLinks[link.link] = { options: { ...link }, enabled: true, carrier: true };
    }
    this.updateDataMtu();
    for (const peer of options.peers) {
      if (!isNodeId(peer.nodeId) || peer.nodeId === options.localNodeId || this.peers.has(peer.nodeId)) {
        throw new RangeError(`transport: invalid or repeated peer ${peer.nodeId}`);
      }
      this.peers.set(peer.nodeId, this.newPeer(peer.nodeId, peer.links, now));
    }
  }

  /** Feeds one event; returns the actions to perform, in order. Never throws on bad input. */
  step(event: TransportEvent, now: number): TransportAction[] {
    const actions: TransportAction[] = [];
    this.forgivePause(now, actions);
    this.lastNow = now;
    switch (event.type) {
      case 'send':
        this.send(event.to, event.payload, event.urgent === true, now, actions);
        return actions;
      case 'receive':
        this.receive(event.link, event.bytes, now, actions);
        return actions;
      case 'tick':
        this.tick(now, actions);
        break;
      case 'sendError':
        this.sendError(event.to, event.link, event.code, now, actions);
        break;
      case 'setLinkEnabled':
        this.setLinkEnabled(event.link, event.enabled, now, actions);
        break;
      case 'setLinkCarrier':
        this.setLinkCarrier(event.link, event.carrier, now, actions);
        break;
      case 'addLink':
        this.addLink(event.options, event.peers, now, actions);
        break;
      case 'removeLink':
        this.removeLink(event.link, now, actions);
        break;
      case 'updateLink':
        this.updateLink(event.link, event.options, now, actions);
        break;
      case 'addPeer':
        this.addPeer(event.nodeId, event.links, now, actions);
        break;
      case 'removePeer':
        this.removePeer(event.nodeId, now, actions);
        break;
      case 'addPeerLink':
        this.addPeerLink(event.nodeId, event.link, now, actions);
        break;
      case 'removePeerLink':
        this.removePeerLink(event.nodeId, event.link, now, actions);
        break;
    }
    this.deadlineDirty = true;
    return actions;
  }

  /** Absolute time at which the core wants a tick (next ping, pong deadline, end of a hold-down). */
  nextDeadline(): number {
    if (!this.deadlineDirty) return this.cachedDeadline;
    let deadline = Number.POSITIVE_INFINITY;
    for (const peer of this.peers.values()) {
      deadline = Math.min(deadline, peer.failbackAtMs, this.suspectDeadline(peer));
      for (const peerLink of peer.links) {
        if (peerLink !== undefined && this.isEnabled(peerLink.link)) {
          deadline = Math.min(deadline, peerLink.nextDeadline(this.lastNow));
        }
      }
    }
    this.cachedDeadline = deadline;
    this.deadlineDirty = false;
    return deadline;
  }

  /** Per peer × local link status at `now`, ordered by node id then link (for `corolink links`). */
  linkStatus(now: number): LinkStatus[] {
    const statuses: LinkStatus[] = [];
    const peers = [...this.peers.values()].sort((a, b) => a.nodeId - b.nodeId);
    for (const peer of peers) {
      for (const local of this.localLinks) {
        if (local !== undefined) statuses.push(this.statusOf(peer, local, now));
      }
    }
    return statuses;
  }

  /** A copy of a local link's current options, or undefined when the link does not exist. */
  linkOptions(link: number): LinkOptions | undefined {
    const local = this.localLinks[link];
    return local === undefined ? undefined : { ...local.options };
  }

  /** Whether the node is a configured peer (knet: a host was added). */
  hasPeer(nodeId: number): boolean {
    return this.peers.has(nodeId);
  }

  /** Whether the peer has at least one usable link (knet host `reachable`). */
  isReachable(nodeId: number): boolean {
    return this.peers.get(nodeId)?.reachable === true;
  }

  /** A copy of the transport-wide counters. */
  counters(): TransportCounters {
    return {
      ...this.stats,
      rejected: { ...this.stats.rejected },
      txDropped: { ...this.stats.txDropped },
    };
  }

  // ---- sending -------------------------------------------------------------------------------------------

  private send(to: number | 'all', payload: Uint8Array, urgent: boolean, now: number, actions: TransportAction[]) {
    if (payload.length > this.options.maxMessageBytes) {
      this.dropTx('message_too_large', actions);
      return;
    }
    this.txSeq = nextSeq(this.txSeq);
    this.header.seq = this.txSeq;
    this.header.flags = urgent ? FLAG_URGENT : 0;
    this.frameCache.fill(undefined);
    for (const handles of this.storedCache) handles.length = 0;
    if (to === 'all') {
      for (const peer of this.peers.values()) this.route(peer, payload, urgent, now, actions);
      return;
    }
    const peer = this.peers.get(to);
    if (peer === undefined) this.dropTx('unknown_node', actions);
    else this.route(peer, payload, urgent, now, actions);
  }

  private route(peer: PeerState, payload: Uint8Array, urgent: boolean, now: number, actions: TransportAction[]) {
    const mode = this.options.linkMode;
    if (urgent || mode === 'active') {
      if (peer.eligible.length === 0) this.dropTx('no_link', actions);
      // Control traffic (on every up link) leaves the links quiet: a gathering ring's JOINs to every peer tripled
      // the heartbeat of every link, an idle ring's token hops kept its links at the busy interval, with pongs.
      for (const peerLink of peer.eligible) this.transmitMessage(peer, peerLink, payload, false, !urgent, now, actions);
      return;
    }
    const peerLink = mode === 'passive' ? peer.passiveLink : this.nextRoundRobin(peer);
    if (peerLink === null) {
      this.dropTx('no_link', actions);
      return;
    }
    assert(peerLink.connected, 'knet: data goes out only on a connected link');
    this.transmitMessage(peer, peerLink, payload, true, true, now, actions);
    if (mode === 'passive') {
      const standby = this.standbyFor(peer, peerLink, now, actions);
      if (standby !== null) this.transmitMessage(peer, standby, payload, false, true, now, actions);
    }
  }

  /**
   * Passive mode: once the data link has missed one pong (a ping unanswered for a few round trips, see
   * PeerLink.pongMissedAtMs), the best other link carries a copy of the data, and when the suspicion starts the
   * frames sent on the data link since its last answered ping are re-sent there — at the first send or tick after
   * the pong was missed, whichever comes first. This closes most of the failover gap (detection takes the whole
   * ping timeout) at the cost of duplicate data only while a link is in doubt. Returns the standby link, or null
   * when the data link is fine.
   */
  private standbyFor(peer: PeerState, dataLink: PeerLink, now: number, actions: TransportAction[]): PeerLink | null {
    if (now < dataLink.pongMissedAtMs()) {
      peer.covering = null;
      return null;
    }
    let standby: PeerLink | null = null;
    for (const candidate of peer.eligible) {
      if (candidate !== dataLink && (standby === null || isBetterLink(candidate, standby))) standby = candidate;
    }
    if (standby === null) return null;
    if (peer.covering?.suspect !== dataLink || peer.covering.standby !== standby) {
      peer.covering = { suspect: dataLink, standby };
      for (const frame of peer.recent.takeSentOn(dataLink.link, dataLink.answeredPingAtMs)) {
        this.emitData(peer, standby, relinkFrame(frame, standby.link), NOT_STORED, true, now, actions);
        this.stats.suspectResends++;
      }
    }
    return standby;
  }

  /**
   * Passive mode, on a tick: starts covering a data link that missed a pong while frames sent on it are at risk,
   * without waiting for the next send (the last message of a burst would otherwise wait for link-down).
   */
  private coverSuspectLinks(now: number, actions: TransportAction[]) {
    if (this.options.linkMode !== 'passive') return;
    for (const peer of this.peers.values()) {
      const dataLink = peer.passiveLink;
      if (dataLink !== null && now >= this.suspectDeadline(peer)) this.standbyFor(peer, dataLink, now, actions);
    }
  }

  /**
   * Passive mode: when the data link of `peer` becomes suspect if no pong comes — only while it carries our data,
   * is not yet covered and another link could cover it (Infinity otherwise: no tick that could not act).
   */
  private suspectDeadline(peer: PeerState): number {
    const dataLink = peer.passiveLink;
    if (
      dataLink === null ||
      peer.eligible.length < 2 ||
      peer.covering?.suspect === dataLink ||
      !dataLink.carriesOurData(this.lastNow)
    ) {
      return Number.POSITIVE_INFINITY;
    }
    return dataLink.pongMissedAtMs();
  }

  private nextRoundRobin(peer: PeerState): PeerLink | null {
    const count = peer.eligible.length;
    if (count === 0) return null;
    const peerLink = peer.eligible[peer.rrCursor % count]!;
    peer.rrCursor = (peer.rrCursor + 1) % count;
    return peerLink;
  }

  private transmitMessage(
    peer: PeerState,
    peerLink: PeerLink,
    payload: Uint8Array,
    remember: boolean,
    busy: boolean,
    now: number,
    actions: TransportAction[],
  ) {
    const frames = this.framesOn(peerLink.link, payload);
    if (frames instanceof Uint8Array) {
      this.emitData(peer, peerLink, frames, this.storedAs(remember, peerLink.link, 0, frames), busy, now, actions);
      return;
    }
    for (let index = 0; index < frames.length; index++) {
      const frame = frames[index]!;
      this.emitData(peer, peerLink, frame, this.storedAs(remember, peerLink.link, index, frame), busy, now, actions);
    }
  }

  /** The store handle of fragment `index` of the current message on `link`, stored at its first send; or none. */
  private storedAs(remember: boolean, link: number, index: number, frame: Uint8Array): number {
    if (!remember) return NOT_STORED;
    const handles = this.storedCache[link]!;
    if (index < handles.length) return handles[index]!;
    assert(index === handles.length, 'knet: the fragments of a message are sent in order');
    const handle = this.frameStore.put(frame);
    handles.push(handle);
    return handle;
  }

  /**
   * Emits a data frame; when `busy` (our data, not control traffic), a link that starts carrying our data is pinged
   * at the busy interval from now on.
   */
  private emitData(
    peer: PeerState,
    peerLink: PeerLink,
    frame: Uint8Array,
    stored: number,
    busy: boolean,
    now: number,
    actions: TransportAction[],
  ) {
    if (busy) {
      if (!peerLink.carriesOurData(now)) this.deadlineDirty = true;
      peerLink.lastDataSentAtMs = now;
    }
    this.emit(peer, peerLink, frame, stored, now, actions);
  }

  /** The frames of the current message on `link`: one data frame, or fragments of at most the data MTU. */
  private framesOn(link: number, payload: Uint8Array): Uint8Array | Uint8Array[] {
    const cached = this.frameCache[link];
    if (cached !== undefined) return cached;
    this.header.link = link;
    let frames: Uint8Array | Uint8Array[];
    if (HEADER_BYTES + payload.length <= this.dataMtuBytes) {
      frames = encodeData(this.header, payload);
    } else {
      const chunkBytes = this.dataMtuBytes - HEADER_BYTES - FRAGMENT_HEADER_BYTES;
      const count = Math.ceil(payload.length / chunkBytes);
      frames = [];
      for (let index = 0; index < count; index++) {
        const offset = index * chunkBytes;
        const length = Math.min(chunkBytes, payload.length - offset);
        frames.push(encodeFragment(this.header, payload, offset, length, index, count));
      }
    }
    this.frameCache[link] = frames;
    return frames;
  }

  private emit(
    peer: PeerState,
    peerLink: PeerLink,
    frame: Uint8Array,
    stored: number,
    now: number,
    actions: TransportAction[],
  ) {
    actions.push({ type: 'transmit', link: peerLink.link, to: peer.nodeId, bytes: frame });
    peerLink.counters.txPackets++;
    peerLink.counters.txBytes += frame.length;
    if (stored !== NOT_STORED) peer.recent.record(peerLink.link, stored, now);
  }

  /** Header for a control frame (ping, pong, PMTU) on `link`. */
  private controlHeader(link: number): FrameHeader {
    this.header.link = link;
    this.header.seq = 0;
    this.header.flags = 0;
    return this.header;
  }

  private dropTx(reason: string, actions: TransportAction[]) {
    const count = (this.stats.txDropped[reason] ?? 0) + 1;
    this.stats.txDropped[reason] = count;
    if (isPowerOfTwo(count)) actions.push(knetLog('debug', `tx: message not sent: ${reason} (${count} so far)`));
  }

  // ---- receiving -----------------------------------------------------------------------------------------

  private receive(link: number, bytes: Uint8Array, now: number, actions: TransportAction[]) {
    if (this.localLinks[link] === undefined) return this.reject('unknown_link', link, actions);
    const decoded = decodePacket(bytes, this.options.clusterId);
    if (!decoded.ok) return this.reject(decoded.reason, link, actions);
    const packet = decoded.packet;
    const source = packet.header.sourceNodeId;
    if (packet.header.link !== link) return this.reject('link_mismatch', link, actions);
    if (source === this.options.localNodeId) return this.reject('own_node', link, actions);
    const peer = this.peers.get(source);
    if (peer === undefined) return this.reject('unknown_node', link, actions);
    const peerLink = peer.links[link];
    if (peerLink === undefined) return this.reject('no_address', link, actions);
    peerLink.counters.rxPackets++;
    peerLink.counters.rxBytes += bytes.length;
    this.noteIncarnation(peer, packet.header.incarnation, actions);
    this.handlePacket(peer, peerLink, packet, now, actions);
  }

  private handlePacket(peer: PeerState, peerLink: PeerLink, packet: Packet, now: number, actions: TransportAction[]) {
    const enabled = this.isEnabled(peerLink.link);
    switch (packet.type) {
      case 'data':
        this.acceptMessage(peer, packet.header.seq, packet.payload, peerLink.link, actions);
        return;
      case 'fragment':
        this.acceptFragment(peer, packet, peerLink.link, actions);
        return;
      case 'ping':
        if (!enabled) return;
        if (packet.echo !== undefined) {
          const { pingSeq, sentAtMs, heldMs } = packet.echo;
          this.acceptPong(peer, peerLink, pingSeq, sentAtMs, heldMs, now, actions);
        }
        if ((packet.header.flags & FLAG_NO_PONG) !== 0) {
          peerLink.onPingToEcho(packet.pingSeq, packet.sentAtMs, now);
          return;
        }
        peerLink.onPingToPong();
        this.emit(
          peer,
          peerLink,
          encodePingPong('pong', this.controlHeader(peerLink.link), packet.pingSeq, packet.sentAtMs),
          NOT_STORED,
          now,
          actions,
        );
        return;
      case 'pong':
        if (enabled) this.acceptPong(peer, peerLink, packet.pingSeq, packet.sentAtMs, 0, now, actions);
        return;
      case 'pmtuProbe':
        if (!enabled) return;
        this.emit(
          peer,
          peerLink,
          encodePmtuReply(this.controlHeader(peerLink.link), packet.probeSeq, packet.frameBytes),
          NOT_STORED,
          now,
          actions,
        );
        return;
      case 'pmtuReply':
        return; // no PMTU discovery yet: replies are counted in rxPackets and otherwise ignored
      case 'linkState': {
        const target = peer.links[packet.link];
        if (target?.connected) this.linkDown(peer, target, LINK_STATE_REASONS[packet.state], now, actions);
        return;
      }
    }
  }

  private noteIncarnation(peer: PeerState, incarnation: number, actions: TransportAction[]) {
    if (peer.incarnation === incarnation) return;
    if (peer.incarnation !== null) {
      peer.delivered.reset();
      peer.reassembly.clear();
      actions.push(knetLog('info', `rx: host: ${peer.nodeId} restarted, resetting its sequence and defrag buffers`));
    }
    peer.incarnation = incarnation;
  }

  private acceptMessage(peer: PeerState, seq: number, payload: Uint8Array, link: number, actions: TransportAction[]) {
    const verdict = peer.delivered.check(seq);
    if (verdict !== 'new') return this.reject(verdict, link, actions);
    peer.delivered.mark(seq);
    assert(peer.delivered.check(seq) !== 'new', 'knet: a delivered seq is never new again');
    this.stats.delivered++;
    actions.push({ type: 'deliver', from: peer.nodeId, payload });
  }

  private acceptFragment(
    peer: PeerState,
    fragment: Packet & { type: 'fragment' },
    link: number,
    actions: TransportAction[],
  ) {
    const seq = fragment.header.seq;
    const verdict = peer.delivered.check(seq);
    if (verdict !== 'new') return this.reject(verdict, link, actions);
    if (fragment.messageBytes > this.options.maxMessageBytes) return this.reject('message_too_large', link, actions);
    const result = peer.reassembly.add({
      seq,
      messageBytes: fragment.messageBytes,
      offset: fragment.offset,
      index: fragment.index,
      count: fragment.count,
      payload: fragment.payload,
    });
    if (result.status === 'complete') this.acceptMessage(peer, seq, result.message, link, actions);
    else if (result.status !== 'incomplete') this.reject(result.status, link, actions);
  }

  /** A pong, or the echo of our ping held `heldMs` by the peer (0 for a pong). */
  private acceptPong(
    peer: PeerState,
    peerLink: PeerLink,
    pingSeq: number,
    sentAtMs: number,
    heldMs: number,
    now: number,
    actions: TransportAction[],
  ) {
    // A pong that answers the ping whose deadline is the one reported moves that deadline (no needless tick).
    if (peerLink.pongMissedAtMs() <= this.cachedDeadline) this.deadlineDirty = true;
    const outcome = peerLink.onPong(pingSeq, sentAtMs, heldMs, now);
    if (outcome === 'discarded') this.reject('pong_discarded', peerLink.link, actions);
    else if (outcome === 'up') this.linkUp(peer, peerLink, now, actions);
  }

  /** Counts a dropped frame by reason; logs it at debug level on the 1st, 2nd, 4th, 8th… occurrence. */
  private reject(reason: string, link: number, actions: TransportAction[]) {
    const count = (this.stats.rejected[reason] ?? 0) + 1;
    this.stats.rejected[reason] = count;
    if (isPowerOfTwo(count)) {
      actions.push(knetLog('debug', `rx: dropped frame on link ${link}: ${reason} (${count} so far)`));
    }
  }

  // ---- heartbeat and link state ------------------------------------------------------------------------

  /** A step far past the core's own deadline: the process was paused, and the pause is nobody's link failure. */
  private forgivePause(now: number, actions: TransportAction[]) {
    // Measured from the deadline, or from the previous step when that deadline was already overdue then.
    const pausedMs = now - Math.max(this.nextDeadline(), this.lastNow);
    if (!(pausedMs > PAUSE_THRESHOLD_MS) || !Number.isFinite(pausedMs)) return;
    for (const peer of this.peers.values()) {
      for (const peerLink of peer.links) peerLink?.forgivePause(pausedMs);
    }
    this.deadlineDirty = true;
    this.stats.pauses++;
    actions.push(
      knetLog(
        'warning',
        `this process was not scheduled for ${Math.round(pausedMs)} ms; link timeouts extended by as much`,
      ),
    );
  }

  private tick(now: number, actions: TransportAction[]) {
    for (const peer of this.peers.values()) {
      for (const peerLink of peer.links) {
        if (peerLink === undefined || !this.isEnabled(peerLink.link)) continue;
        if (peerLink.timedOut(now)) {
          const silentMs = Math.round(now - peerLink.lastPongAtMs);
          this.linkDown(peer, peerLink, `no pong for ${silentMs} ms`, now, actions);
        }
        if (peerLink.pingDue(now)) this.ping(peer, peerLink, now, actions);
      }
      if (now >= peer.failbackAtMs) this.refreshPeer(peer, now, actions);
    }
    this.coverSuspectLinks(now, actions);
  }

  /** A ping, carrying the echo of the peer's latest ping if one waits; on a connected quiet link it asks for no pong. */
  private ping(peer: PeerState, peerLink: PeerLink, now: number, actions: TransportAction[]) {
    const wantPong = peerLink.wantsPong(now);
    const pingSeq = peerLink.takePing(now, wantPong);
    const header = this.controlHeader(peerLink.link);
    header.flags = wantPong ? 0 : FLAG_NO_PONG;
    const ping = encodePingPong('ping', header, pingSeq, now, peerLink.takeEcho(now));
    this.emit(peer, peerLink, ping, NOT_STORED, now, actions);
  }

  private sendError(to: number, link: number, code: string, now: number, actions: TransportAction[]) {
    const peer = this.peers.get(to);
    const peerLink = peer?.links[link];
    if (peer === undefined || peerLink === undefined) return;
    peerLink.onSendError(code);
    if (peerLink.connected && LINK_DOWN_SEND_ERRORS.has(code)) {
      this.linkDown(peer, peerLink, `send error ${code}`, now, actions);
    }
  }

  private linkUp(peer: PeerState, peerLink: PeerLink, now: number, actions: TransportAction[]) {
    peerLink.markUp(now);
    actions.push(linkUpLog(peer.nodeId, peerLink.link));
    actions.push({
      type: 'linkUp',
      nodeId: peer.nodeId,
      link: peerLink.link,
      reason: `${peerLink.options.pongCount} pongs received`,
    });
    this.refreshPeer(peer, now, actions);
  }

  private linkDown(peer: PeerState, peerLink: PeerLink, reason: string, now: number, actions: TransportAction[]) {
    peerLink.markDown(now);
    actions.push(linkDownLog(peer.nodeId, peerLink.link, reason));
    actions.push({ type: 'linkDown', nodeId: peer.nodeId, link: peerLink.link, reason });
    this.refreshPeer(peer, now, actions);
    this.failOver(peer, peerLink, now, actions);
  }

  /** Recomputes a peer's usable links and data link(s); logs changes; raises hostUp/hostDown. */
  private refreshPeer(peer: PeerState, now: number, actions: TransportAction[]) {
    const before = peer.eligible;
    const eligible = peer.links.filter(
      (peerLink): peerLink is PeerLink => peerLink?.connected === true && this.isEnabled(peerLink.link),
    );
    const changed = eligible.length !== before.length || eligible.some((peerLink, i) => peerLink !== before[i]);
    peer.eligible = eligible;
    if (this.options.linkMode === 'passive') {
      const current = peer.passiveLink?.link ?? null;
      const chosen = choosePassiveLink(eligible, current, now, this.options.failbackHoldMs);
      if (chosen !== peer.passiveLink) {
        actions.push(
          chosen === null
            ? noActiveLinksLog(peer.nodeId)
            : passiveBestLinkLog(peer.nodeId, chosen.link, chosen.options.priority),
        );
      }
      assert(chosen === null || eligible.includes(chosen), 'knet: the passive data link is an eligible link');
      peer.passiveLink = chosen;
      peer.failbackAtMs = nextFailbackMs(eligible, chosen?.link ?? null, this.options.failbackHoldMs);
    } else if (changed) {
      peer.rrCursor = 0;
      actions.push(
        eligible.length === 0 ? noActiveLinksLog(peer.nodeId) : activeLinksLog(peer.nodeId, eligible.length),
      );
    }
    const reachable = eligible.length > 0;
    assert(
      this.options.linkMode !== 'passive' || reachable === (peer.passiveLink !== null),
      'knet: a reachable peer has a passive data link, an unreachable one none',
    );
    if (reachable === peer.reachable) return;
    peer.reachable = reachable;
    if (reachable) {
      actions.push({ type: 'hostUp', nodeId: peer.nodeId });
      return;
    }
    // knet clears a host's dedup and defrag buffers when it has no active link left.
    peer.delivered.reset();
    peer.reassembly.clear();
    peer.recent.clear();
    actions.push({ type: 'hostDown', nodeId: peer.nodeId });
  }

  /** Re-sends the frames that went out on `failed` since shortly before its last pong, on the new link(s). */
  private failOver(peer: PeerState, failed: PeerLink, now: number, actions: TransportAction[]) {
    if (this.options.linkMode === 'active' || peer.eligible.length === 0) return;
    const sinceMs = failed.lastPongAtMs - failed.options.pingIntervalMs;
    for (const frame of peer.recent.takeSentOn(failed.link, sinceMs)) {
      const target = this.options.linkMode === 'passive' ? peer.passiveLink : this.nextRoundRobin(peer);
      if (target === null) return;
      const relinked = relinkFrame(frame, target.link);
      this.emitData(peer, target, relinked, this.frameStore.put(relinked), true, now, actions);
      this.stats.failoverResends++;
    }
  }

  // ---- administration ------------------------------------------------------------------------------------

  private setLinkEnabled(link: number, enabled: boolean, now: number, actions: TransportAction[]) {
    const local = this.localLinks[link];
    if (local === undefined) {
      actions.push(knetLog('warning', `link: cannot ${enabled ? 'enable' : 'disable'} unknown link ${link}`));
      return;
    }
    if (local.enabled === enabled) return;
    local.enabled = enabled;
    actions.push(knetLog('notice', `link: link ${link} ${enabled ? 'enabled' : 'disabled'}`));
    this.relinkPeers(local, enabled ? null : 'disabled', now, actions);
  }

  /**
   * The interface under a local link lost or regained carrier. Lost: every peer × link on it goes down now (no
   * waiting for the ping timeout) and each peer is told on its remaining links, so it need not wait either (as when
   * the link is disabled). Back: the links ping at once and come up by round trips; the peers are not told.
   */
  private setLinkCarrier(link: number, carrier: boolean, now: number, actions: TransportAction[]) {
    const local = this.localLinks[link];
    if (local === undefined) {
      actions.push(knetLog('warning', `link: carrier of unknown link ${link} ignored`));
      return;
    }
    if (local.carrier === carrier) return;
    local.carrier = carrier;
    // debug: the daemon's carrier watch logs the change with the interface's name (notice).
    actions.push(knetLog('debug', `link: link ${link} ${carrier ? 'has carrier again' : 'lost carrier'}`));
    this.relinkPeers(local, carrier ? null : 'noCarrier', now, actions);
  }

  /**
   * After a local link's state changed: with `down` (why it cannot carry traffic now) every peer × link on it goes
   * down and each peer is told; without, the links restart (ping at once) once the link is enabled and has carrier.
   */
  private relinkPeers(local: LocalLink, down: LinkState | null, now: number, actions: TransportAction[]) {
    const link = local.options.link;
    for (const peer of this.peers.values()) {
      const peerLink = peer.links[link];
      if (peerLink === undefined) continue;
      if (down === null) {
        if (local.enabled && local.carrier && !peerLink.connected) peerLink.restart(now);
        continue;
      }
      if (peerLink.connected) this.linkDown(peer, peerLink, LOCAL_DOWN_REASONS[down], now, actions);
      this.announceLinkDown(peer, link, down, now, actions);
    }
  }

  /** Tells `peer`, on every link still up to it, that our link `link` is down and why (a `linkState` frame). */
  private announceLinkDown(peer: PeerState, link: number, state: LinkState, now: number, actions: TransportAction[]) {
    for (const other of peer.eligible) {
      this.emit(peer, other, encodeLinkState(this.controlHeader(other.link), link, state), NOT_STORED, now, actions);
    }
  }

  private addLink(options: LinkOptions, peers: { nodeId: number }[], now: number, actions: TransportAction[]) {
    const problem = linkOptionsProblem(options);
    if (problem !== null || this.localLinks[options.link] !== undefined) {
      actions.push(knetLog('warning', `link: cannot add link ${options.link}: ${problem ?? 'already configured'}`));
      return;
    }
    const local: LocalLink = { options: { ...options }, enabled: true, carrier: true };
    this.localLinks[options.link] = local;
    this.updateDataMtu();
    actions.push(knetLog('notice', `link: link ${options.link} added (pri: ${options.priority})`));
    for (const { nodeId } of peers) {
      const peer = this.peers.get(nodeId);
      if (peer !== undefined) peer.links[options.link] = this.newPeerLink(nodeId, local.options, now);
      else actions.push(knetLog('warning', `link: cannot add host: ${nodeId} link: ${options.link}: unknown host`));
    }
  }

  private removeLink(link: number, now: number, actions: TransportAction[]) {
    if (this.localLinks[link] === undefined) {
      actions.push(knetLog('warning', `link: cannot remove unknown link ${link}`));
      return;
    }
    for (const peer of this.peers.values()) {
      const peerLink = peer.links[link];
      if (peerLink !== undefined) this.forgetPeerLink(peer, peerLink, 'link removed', now, actions);
    }
    this.localLinks[link] = undefined;
    this.updateDataMtu();
    actions.push(knetLog('notice', `link: link ${link} removed`));
  }

  /**
   * Re-tunes a running link in place: its PeerLinks share `local.options`, so every peer sees the change at once
   * and no link goes down. A priority change re-chooses the passive data link now; new ping timings apply from
   * the next ping (re-timed from the last one) and the next timeout check; a new pong count from the next pong.
   */
  private updateLink(link: number, update: LinkOptionsUpdate, now: number, actions: TransportAction[]) {
    const local = this.localLinks[link];
    if (local === undefined) {
      actions.push(knetLog('warning', `link: cannot update unknown link ${link}`));
      return;
    }
    const before = { ...local.options };
    const after = { ...before, ...tunableChanges(update) };
    const problem = linkOptionsProblem(after);
    if (problem !== null) {
      actions.push(knetLog('warning', `link: cannot update link ${link}: invalid ${problem}`));
      return;
    }
    Object.assign(local.options, after);
    if (after.priority !== before.priority) {
      actions.push(knetLog('notice', `link: link ${link} priority set to: ${after.priority}`));
      for (const peer of this.peers.values()) this.refreshPeer(peer, now, actions);
    }
    if (after.pingIntervalMs !== before.pingIntervalMs || after.pingTimeoutMs !== before.pingTimeoutMs) {
      const timers = `interval: ${after.pingIntervalMs} timeout: ${after.pingTimeoutMs}`;
      actions.push(knetLog('notice', `link: link ${link} timeout update - ${timers}`));
      for (const peer of this.peers.values()) peer.links[link]?.retimePing(now);
    }
    if (after.pongCount !== before.pongCount) {
      actions.push(knetLog('notice', `link: link ${link} pong count update: ${after.pongCount}`));
    }
  }

  private addPeerLink(nodeId: number, link: number, now: number, actions: TransportAction[]) {
    const peer = this.peers.get(nodeId);
    const local = this.localLinks[link];
    if (peer === undefined || local === undefined || peer.links[link] !== undefined) {
      const problem = peer === undefined ? 'unknown host' : local === undefined ? 'unknown link' : 'already configured';
      actions.push(knetLog('warning', `link: cannot add host: ${nodeId} link: ${link}: ${problem}`));
      return;
    }
    peer.links[link] = this.newPeerLink(nodeId, local.options, now);
    actions.push(knetLog('notice', `link: host: ${nodeId} link: ${link} added`));
  }

  private removePeerLink(nodeId: number, link: number, now: number, actions: TransportAction[]) {
    const peer = this.peers.get(nodeId);
    const peerLink = peer?.links[link];
    if (peer === undefined || peerLink === undefined) {
      const problem = peer === undefined ? 'unknown host' : 'no such link';
      actions.push(knetLog('warning', `link: cannot remove host: ${nodeId} link: ${link}: ${problem}`));
      return;
    }
    this.forgetPeerLink(peer, peerLink, 'address removed', now, actions);
    actions.push(knetLog('notice', `link: host: ${nodeId} link: ${link} removed`));
  }

  /**
   * A peer × link ceases to exist (local link removed, or the peer's address on it): down first if it was up —
   * which fails its recent data over to the remaining links — then every trace of it is dropped, so that a link
   * re-added under the same number starts from scratch.
   */
  private forgetPeerLink(peer: PeerState, peerLink: PeerLink, reason: string, now: number, actions: TransportAction[]) {
    if (peerLink.connected) this.linkDown(peer, peerLink, reason, now, actions);
    peer.links[peerLink.link] = undefined;
    peer.recent.forgetLink(peerLink.link);
    if (peer.covering?.suspect === peerLink || peer.covering?.standby === peerLink) peer.covering = null;
  }

  private addPeer(nodeId: number, links: number[], now: number, actions: TransportAction[]) {
    if (!isNodeId(nodeId) || nodeId === this.options.localNodeId || this.peers.has(nodeId)) {
      actions.push(knetLog('warning', `host: cannot add host ${nodeId}`));
      return;
    }
    this.peers.set(nodeId, this.newPeer(nodeId, links, now));
    actions.push(knetLog('notice', `host: host: ${nodeId} added`));
  }

  private removePeer(nodeId: number, now: number, actions: TransportAction[]) {
    const peer = this.peers.get(nodeId);
    if (peer === undefined) {
      actions.push(knetLog('warning', `host: cannot remove unknown host ${nodeId}`));
      return;
    }
    for (const peerLink of peer.links) {
      if (peerLink?.connected) this.linkDown(peer, peerLink, 'host removed', now, actions);
    }
    this.peers.delete(nodeId);
    actions.push(knetLog('notice', `host: host: ${nodeId} removed`));
  }

  private newPeerLink(nodeId: number, options: LinkOptions, now: number): PeerLink {
    return new PeerLink(nodeId, options, now, this.options.pingGridOriginMs);
  }

  private newPeer(nodeId: number, links: number[], now: number): PeerState {
    const peerLinks: (PeerLink | undefined)[] = new Array(LINKS_MAX).fill(undefined);
    for (const link of links) {
      const local = this.localLinks[link];
      if (local !== undefined) peerLinks[link] = this.newPeerLink(nodeId, local.options, now);
    }
    return {
      nodeId,
      links: peerLinks,
      eligible: [],
      passiveLink: null,
      covering: null,
      failbackAtMs: Number.POSITIVE_INFINITY,
      rrCursor: 0,
      reachable: false,
      incarnation: null,
      delivered: new DeliveredWindow(),
      reassembly: new Reassembler(this.stats),
      recent: new RecentFrames(this.frameStore),
    };
  }

  // ---- queries -------------------------------------------------------------------------------------------

  private isEnabled(link: number): boolean {
    return this.localLinks[link]?.enabled === true;
  }

  /** Global data MTU: the smallest configured link MTU, so any fragment fits any link. */
  private updateDataMtu() {
    let mtu = Number.POSITIVE_INFINITY;
    for (const local of this.localLinks) if (local !== undefined) mtu = Math.min(mtu, local.options.mtu);
    this.dataMtuBytes = mtu;
  }

  private statusOf(peer: PeerState, local: LocalLink, now: number): LinkStatus {
    const link = local.options.link;
    const peerLink = peer.links[link];
    const inUse = peerLink !== undefined && this.carriesData(peer, peerLink);
    return {
      nodeId: peer.nodeId,
      link,
      enabled: local.enabled && peerLink !== undefined,
      connected: peerLink?.connected === true,
      inUse,
      reason: peerLink === undefined ? 'no address' : inUse ? null : this.idleReason(peer, peerLink, local, now),
      priority: local.options.priority,
      mtu: local.options.mtu,
      latency: peerLink?.latency ? { ...peerLink.latency } : null,
      counters: peerLink ? { ...peerLink.counters } : zeroLinkCounters(),
      lastChangeMs: peerLink?.lastChangeMs ?? now,
    };
  }

  private carriesData(peer: PeerState, peerLink: PeerLink): boolean {
    if (this.options.linkMode === 'passive') return peer.passiveLink === peerLink;
    return peer.eligible.includes(peerLink);
  }

  /** Why a link does not carry data now (see LinkStatus.reason). */
  private idleReason(peer: PeerState, peerLink: PeerLink, local: LocalLink, now: number): string {
    if (!local.enabled) return 'disabled';
    if (!local.carrier) return 'no carrier';
    if (peerLink.connected) {
      const inUse = peer.passiveLink;
      if (inUse !== null && isBetterLink(peerLink, inUse) && inHoldDown(peerLink, now, this.options.failbackHoldMs)) {
        return 'hold-down';
      }
      return `standby (best link: ${inUse?.link ?? 'none'})`;
    }
    const gathered = peerLink.pongsGatheredAt(now);
    const waiting = `waiting for pong_count pongs (${gathered}/${peerLink.options.pongCount})`;
    if (gathered > 0) return waiting;
    if (peerLink.lastSendError !== null) return `send error ${peerLink.lastSendError}`;
    const silentSinceMs = Number.isFinite(peerLink.lastPongAtMs) ? peerLink.lastPongAtMs : peerLink.lastChangeMs;
    const silentMs = now - silentSinceMs;
    return silentMs > peerLink.options.pingTimeoutMs ? `no pong for ${Math.round(silentMs)} ms` : waiting;
  }
}

/** The tunable fields present in an update (anything else an untyped caller put there is ignored). */
function tunableChanges(update: LinkOptionsUpdate | undefined): LinkOptionsUpdate {
  const changes: LinkOptionsUpdate = {};
  for (const key of TUNABLE_LINK_OPTIONS) {
    const value = update?.[key];
    if (value !== undefined) changes[key] = value;
  }
  return changes;
}

/** 1, 2, 4, 8…: the occurrences of a repeated event worth a log line (bounded log volume). */
function isPowerOfTwo(count: number): boolean {
  return Number.isInteger(Math.log2(count));
}
