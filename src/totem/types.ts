/**
 * Public types of the Totem core (single-ring ordering and membership): options, input events, output actions,
 * status snapshot. The contract is docs/contracts.md § Totem; docs/totem.md explains the behaviour.
 */

/** Ring identifier: representative (lowest node id of the ring) and ring sequence number; printed `rep.seq` (hex). */
export interface RingId {
  rep: number;
  seq: number;
}

/** Delivery guarantee of a multicast: agreed (total order) or safe (total order + every member has it). */
export type Guarantee = 'agreed' | 'safe';

/**
 * Which cluster config a node runs: `version` = corosync.conf config_version (a non-negative safe integer), `digest` =
 * a u32 hash of the nodelist computed by the caller. A node outside my ring with a different stamp is not admitted.
 */
export interface ConfigStamp {
  version: number;
  digest: number;
}

/** Totem timing and flow-control options (corosync's `totem { }` values after derivation by the config layer). */
export interface TotemOptions {
  /** This node's id (non-zero u32). */
  localNodeId: number;
  /** Every configured node id (the nodelist), including this node. */
  nodes: number[];
  /** Token loss timeout (corosync's effective token: token + (n−2) × token_coefficient). */
  tokenMs: number;
  /** Resend the last token when no newer token came back within this time. */
  tokenRetransmitMs: number;
  /** How long the representative holds the token on an idle ring. Default 0.8 × tokenRetransmitMs − 10. */
  holdMs?: number;
  /** Interval between JOIN resends in the gather state. */
  joinMs: number;
  /** Time to reach consensus in the gather state before silent nodes are declared failed. */
  consensusMs: number;
  /** Interval between MERGE_DETECT messages from the representative of an operational ring. */
  mergeMs: number;
  /** Most new messages one node may send per token visit. */
  maxMessages: number;
  /** Most messages all nodes together may send per token rotation. */
  windowSize: number;
  /** Token rotations with my aru holding the ring back before I declare myself failed to receive. */
  failToRecvConst: number;
  /** Idle token rotations before the representative starts holding the token. */
  seqnoUnchangedConst: number;
  /** Token warning threshold in percent of tokenMs (corosync token_warning, 0 disables). Default 75. */
  tokenWarningPct?: number;
  /** Largest number of not yet sent messages queued; a multicast beyond it is refused. Default 4096. */
  maxPendingMessages?: number;
  /** Bytes pending beyond which `canSend` says no (an empty queue always takes one message). Default 2 MiB. */
  maxPendingBytes?: number;
  /** Highest ring seq this node used before (corosync's ringid file), so a restart never reuses a ring id. */
  initialRingSeq?: number;
  /**
   * totempg-style packing (off when absent): at a token visit, consecutive pending payloads of one guarantee are
   * joined by `pack` into one MCAST while `packedBytes(count, bytes)` stays within `budgetBytes` (about one
   * transport frame). The pack is ordered and delivered as one message; the layer above unpacks it, so a pack is
   * delivered atomically, in order, at one seq. Flow control counts MCASTs, as corosync's does, except that one
   * larger than `budgetBytes` (a single big payload) counts once per budget it spans, as totempg's fragments do.
   */
  packer?: TotemPacker;
  /**
   * Burst hold (corolink; 0 or absent: off): a token arriving while this node's own queue holds a burst in progress
   * — 2 or more messages, less than one pack of them (`packer.budgetBytes`), and the node sent at its previous visit —
   * is kept up to this many ms, until the queue fills a pack, so that the visit carries a pack rather than a few
   * messages (docs/totem.md "Burst hold"). Needs `packer`.
   */
  burstHoldMs?: number;
  /** The cluster config this node runs (carried in JOIN and MERGE_DETECT). Default `{ version: 0, digest: 0 }`. */
  configStamp?: ConfigStamp;
}

/** The options a `reconfigure` event may change at run time; each applies from the next time its timer is armed. */
export type TotemTimings = Pick<
  TotemOptions,
  | 'tokenMs'
  | 'tokenRetransmitMs'
  | 'holdMs'
  | 'joinMs'
  | 'consensusMs'
  | 'mergeMs'
  | 'maxMessages'
  | 'windowSize'
  | 'failToRecvConst'
  | 'seqnoUnchangedConst'
  | 'tokenWarningPct'
>;

/** How the layer above joins several payloads into one MCAST (see `TotemOptions.packer`); pure functions. */
export interface TotemPacker {
  budgetBytes: number;
  /** Size of the pack of `count` payloads of `bytes` bytes in total. */
  packedBytes(count: number, bytes: number): number;
  pack(payloads: Uint8Array[]): Uint8Array;
}

/** Input events of the Totem core. */
export type TotemEvent =
  | { type: 'tick' }
  /** One whole message from the transport. */
  | { type: 'receive'; from: number; payload: Uint8Array }
  /** Multicast from the layer above; refused with a `backpressure` action when the pending queue is full. */
  | { type: 'multicast'; payload: Uint8Array; guarantee?: Guarantee }
  /** Transport: every link to the node is down (hostDown) — failure evidence. */
  | { type: 'peerUnreachable'; nodeId: number }
  /** Transport: a link to the node came up (hostUp). */
  | { type: 'peerReachable'; nodeId: number }
  /** Clean shutdown: tell the peers we leave, then stop. */
  | { type: 'leave' }
  /**
   * The cluster config changed at run time. `nodes` replaces the nodelist (MERGE_DETECT targets; a removed member
   * stays until failure detection takes it out), `configStamp` replaces my stamp, `timings` apply from the next time
   * each timer is armed (an invalid value refuses all of `timings`, with a warning). No membership change by itself.
   */
  | { type: 'reconfigure'; nodes?: number[]; configStamp?: ConfigStamp; timings?: Partial<TotemTimings> };

/** Log severity levels (corosync's). */
export type TotemLogLevel = 'debug' | 'info' | 'notice' | 'warning' | 'error';

/** Output actions of the Totem core. */
export type TotemAction =
  /** control → the transport sends it on every up link (urgent). */
  | { type: 'send'; to: number | 'all'; payload: Uint8Array; control: boolean }
  /** A message delivered in agreed order; `ringId`/`seq` name the ring it was sent in and its place there. */
  | { type: 'deliver'; sender: number; payload: Uint8Array; ringId: RingId; seq: number; guarantee: Guarantee }
  /**
   * A configuration change. transitional: members that move together from the old ring, `left` = old members not
   * among them, `joined` empty. regular: the new ring, `joined` = members new to this node, `left` as in the
   * transitional change. `failed` ⊆ `left`: nodes that vanished without a leave notice. `ringId` = the new ring.
   */
  | {
      type: 'configChange';
      kind: 'transitional' | 'regular';
      members: number[];
      left: number[];
      joined: number[];
      failed: number[];
      ringId: RingId;
    }
  /** The multicast was refused: `pending` messages already wait for the token. Retry later (CS_ERR_TRY_AGAIN). */
  | { type: 'backpressure'; pending: number }
  /**
   * A JOIN or MERGE_DETECT of a node outside my ring was ignored: it runs another cluster config. Reported once per
   * (node, its stamp) until its stamp or mine changes; the messages stay ignored (counted in `configMismatches`).
   */
  | { type: 'configMismatch'; nodeId: number; theirs: ConfigStamp; ours: ConfigStamp }
  | { type: 'log'; level: TotemLogLevel; subsystem: 'TOTEM'; message: string };

/** Membership state (TOCS §4). `left` after a `leave` event: the core ignores everything. */
export type MembershipState = 'operational' | 'gather' | 'commit' | 'recovery' | 'left';

/** Status of the Totem core for `corolink status` and metrics. */
export interface TotemSnapshot {
  state: MembershipState;
  /** The installed (last regular) ring; null before the first ring formed. */
  ringId: RingId | null;
  members: number[];
  /** Highest ring seq used or seen (persist it: `initialRingSeq` after a restart). */
  highestRingSeq: number;
  /** All messages of the installed ring up to this seq are here. */
  myAru: number;
  highestSeqReceived: number;
  /** Time of the last full token rotation seen by this node, ms (0 until two visits). */
  tokenRotationMs: number;
  /** Messages this node re-multicast for the retransmit list. */
  retransmitted: number;
  /** Sequence numbers this node asked for on the retransmit list. */
  retransmitRequested: number;
  /** Tokens this node resent because no newer token arrived in time. */
  tokenRetransmits: number;
  /** Tokens this node kept at their arrival while its own burst filled a pack (`TotemOptions.burstHoldMs`). */
  burstHolds: number;
  /** Messages delivered to the layer above. */
  delivered: number;
  /** Of `delivered`, the messages sent with safe delivery (held until the token proved every member has them). */
  deliveredSafe: number;
  /** Messages waiting for the token. */
  pending: number;
  /** Messages of the installed ring kept for retransmission and recovery (released once every member has them). */
  retained: number;
  /** Received messages that failed to decode. */
  badMessages: number;
  /** Configuration changes (regular) installed. */
  configurations: number;
  /** JOIN and MERGE_DETECT messages ignored because their sender, outside my ring, runs another config. */
  configMismatches: number;
}
