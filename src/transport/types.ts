/**
 * Public types of the transport core (the knet-like link manager): options, input events, output actions and
 * the per peer × link status record. The contract is docs/contracts.md § Transport; docs/transport.md explains
 * the behaviour.
 */

/** How data traffic to one peer is spread over its up links (knet `link_mode`). */
export type LinkMode = 'passive' | 'active' | 'rr';

/** One local link (corosync `interface { linknumber: N }` + knet link settings). */
export interface LinkOptions {
  /** Link number 0..7. */
  link: number;
  /** knet link priority: in passive mode the highest value wins (ties → lowest link number). */
  priority: number;
  /** Interval between pings to each peer on this link (knet ping_interval). */
  pingIntervalMs: number;
  /** No pong for this long (× backoff, + 2 × latency) → link down (knet pong_timeout). */
  pingTimeoutMs: number;
  /** Good pongs needed to declare a down link up (knet pong_count). */
  pongCount: number;
  /** Largest plaintext frame (header included) this link may carry; crypto overhead is the driver's concern. */
  mtu: number;
}

/** Options of a Transport core. */
export interface TransportOptions {
  /** corosync nodeid of this node. */
  localNodeId: number;
  /** Cluster id stamped in and checked on every frame: clusterIdFromName(cluster_name). */
  clusterId: number;
  /** Data link policy. Urgent (control) traffic always uses every up link. */
  linkMode: LinkMode;
  /** Local links. */
  links: LinkOptions[];
  /** Peers and the link numbers on which each has an address. */
  peers: { nodeId: number; links: number[] }[];
  /** Passive mode: how long a recovered better link must stay up before traffic returns to it. */
  failbackHoldMs: number;
  /** Largest message `send` accepts (fragmented over the links' MTU); corosync's is 1 MiB. */
  maxMessageBytes: number;
  /**
   * Changes when this node restarts (u32). Receivers reset their duplicate filter and reassembly state for us
   * when it changes. Drivers pass a random u32 or the boot time; default: derived from the construction `now`.
   */
  incarnation?: number;
  /**
   * Where the ping grid counts from, on the core's clock (default 0; docs/transport.md § Pings on a shared grid).
   * Drivers pass the Unix epoch on their monotonic clock, so every node's grid lines up on wall time: the peers'
   * pings arrive together, and a node wakes once per interval for all of them instead of once per peer.
   */
  pingGridOriginMs?: number;
}

/** Input events of the transport core. */
export type TransportEvent =
  | { type: 'tick' }
  /** One plaintext frame received on a link (decryption and source-address checks done by the driver). */
  | { type: 'receive'; link: number; bytes: Uint8Array }
  /** Send one message (best effort). urgent = control traffic (Totem token, membership): every up link. */
  | { type: 'send'; to: number | 'all'; payload: Uint8Array; urgent?: boolean }
  /** The socket refused a send (ENETUNREACH, EADDRNOTAVAIL…): immediate down evidence for that peer × link. */
  | { type: 'sendError'; link: number; to: number; code: string }
  /** Administratively enable or disable a local link: a disabled link sends nothing. */
  | { type: 'setLinkEnabled'; link: number; enabled: boolean }
  /**
   * The carrier of the local interface a link is on (docs/transport.md § Carrier): lost, every peer × link on it goes
   * down at once and the peers are told on the other links; back, the link pings at once and comes up by round trips.
   */
  | { type: 'setLinkCarrier'; link: number; carrier: boolean }
  /** A new local link (it pings at once, comes up per peer after pongCount pongs); `peers` have an address on it. */
  | { type: 'addLink'; options: LinkOptions; peers: { nodeId: number }[] }
  /** Removes a local link and all its state; its data fails over to the remaining links. */
  | { type: 'removeLink'; link: number }
  /** Re-tunes a local link in place, without taking it down (docs/transport.md § Live link changes). */
  | { type: 'updateLink'; link: number; options: LinkOptionsUpdate }
  | { type: 'addPeer'; nodeId: number; links: number[] }
  | { type: 'removePeer'; nodeId: number }
  /** A known peer got an address on an existing local link (a link only some peers have). */
  | { type: 'addPeerLink'; nodeId: number; link: number }
  /** A peer lost its address on a local link: that peer × link goes down and is forgotten. */
  | { type: 'removePeerLink'; nodeId: number; link: number };

/** The link options `updateLink` may change on a running link (the MTU and the link number are fixed). */
export type LinkOptionsUpdate = Partial<
  Pick<LinkOptions, 'priority' | 'pingIntervalMs' | 'pingTimeoutMs' | 'pongCount'>
>;

/** Log severity levels (corosync's). */
export type LogLevel = 'debug' | 'info' | 'notice' | 'warning' | 'error';

/** A log record in knet's words; the driver adds timestamp and formatting (`[KNET  ] …`). */
export interface LogAction {
  type: 'log';
  level: LogLevel;
  subsystem: 'KNET';
  message: string;
}

/** Output actions of the transport core. */
export type TransportAction =
  /**
   * A plaintext frame for the driver to seal and send to `to` on `link`. The same bytes may appear in several
   * transmit actions (a broadcast is encoded once per link): the driver must not modify them.
   */
  | { type: 'transmit'; link: number; to: number; bytes: Uint8Array }
  /** One whole message (reassembled, deduplicated); the payload may be a view into the received frame. */
  | { type: 'deliver'; from: number; payload: Uint8Array }
  | { type: 'linkUp'; nodeId: number; link: number; reason: string }
  | { type: 'linkDown'; nodeId: number; link: number; reason: string }
  /** First link of a peer up. */
  | { type: 'hostUp'; nodeId: number }
  /** Last link of a peer down. */
  | { type: 'hostDown'; nodeId: number }
  | LogAction;

/** Latency statistics of a link, from pong round trips (knet's min/avg/max). */
export interface LatencyStats {
  minMs: number;
  avgMs: number;
  maxMs: number;
  /** Samples in the running average (capped at the precision). */
  samples: number;
}

/** Per peer × link counters. */
export interface LinkCounters {
  txPackets: number;
  txBytes: number;
  rxPackets: number;
  rxBytes: number;
  pingsSent: number;
  /** Good round trips: pongs and echoes of our pings in the peer's pings. */
  pongsReceived: number;
  /** Pongs (or echoes) discarded: too late (> pingTimeoutMs), duplicated or from the future. */
  pongsDiscarded: number;
  /** Send errors reported by the driver. */
  sendErrors: number;
  upCount: number;
  downCount: number;
}

/** What `corolink links` shows for one peer × local link. */
export interface LinkStatus {
  nodeId: number;
  link: number;
  /** The local link exists, is administratively enabled and the peer has an address on it. */
  enabled: boolean;
  /** Heartbeat says the path works (knet `connected`). */
  connected: boolean;
  /** Carries this peer's data traffic now (passive: the best link; active/rr: every connected link). */
  inUse: boolean;
  /**
   * Why the link does not carry data now, null when it does: 'disabled' | 'no address' | 'no pong for N ms' |
   * 'send error CODE' | 'waiting for pong_count pongs (k/N)' | 'hold-down' | 'standby (best link: L)'.
   */
  reason: string | null;
  priority: number;
  mtu: number;
  /** null until the first pong. */
  latency: LatencyStats | null;
  counters: LinkCounters;
  /** `now` of the last up/down change (or of creation). */
  lastChangeMs: number;
}

/** Transport-wide counters. */
export interface TransportCounters {
  /** Received frames dropped, by reason (decoder reasons and transport reasons). */
  rejected: Record<string, number>;
  /** Messages or frames not sent, by reason ('no_link', 'unknown_node', 'message_too_large'). */
  txDropped: Record<string, number>;
  /** Partial messages evicted from reassembly buffers to stay within the memory bound. */
  reassemblyEvictions: number;
  /** Frames re-sent on another link after the link they went out on failed. */
  failoverResends: number;
  /** Frames re-sent on a standby link when the passive data link became suspect (no pong for a while). */
  suspectResends: number;
  /** Steps that came so late that this process must have been paused (its silence is not held against links). */
  pauses: number;
  /** Whole messages delivered. */
  delivered: number;
}
