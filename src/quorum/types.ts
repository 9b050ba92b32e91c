/**
 * Public types of the votequorum core (src/quorum): options, events, actions and the status snapshot.
 * Modelled on corosync's exec/votequorum.c and man/votequorum.5; see docs/quorum.md.
 */

/**
 * A Totem ring id: the representative's node id and the ring sequence number, printed `rep.seq` in hex.
 * Same shape as Totem's `RingId` in docs/contracts.md (kept here so the quorum core compiles on its own).
 */
export interface RingId {
  /** Node id of the ring representative. */
  rep: number;
  /** Ring sequence number. */
  seq: number;
}

/** One `nodelist { node { } }` entry as votequorum sees it. */
export interface QuorumNodelistEntry {
  /** `nodeid`. */
  nodeId: number;
  /** `quorum_votes` (default 1). */
  quorumVotes?: number;
}

/** Which node decides an even split when `auto_tie_breaker: 1` (`auto_tie_breaker_node`). */
export type AutoTieBreakerNode = 'lowest' | 'highest' | readonly number[];

/** The `quorum { }` section plus the nodelist, in corosync.conf's terms (camelCase). */
export interface QuorumOptions {
  /** This node's `nodeid`. */
  localNodeId: number;
  /** `nodelist { }`; only used when it contains `localNodeId` (as corosync: otherwise "no nodelist"). */
  nodelist?: readonly QuorumNodelistEntry[];
  /** `quorum.expected_votes`; overrides the nodelist sum when set (> 0). */
  expectedVotes?: number;
  /** `quorum.votes` (deprecated): this node's votes when there is no nodelist (default 1). */
  votes?: number;
  /** `quorum.two_node` (default false). */
  twoNode?: boolean;
  /** `quorum.wait_for_all`; when omitted it follows `twoNode`. */
  waitForAll?: boolean;
  /** `quorum.last_man_standing` (default false). */
  lastManStanding?: boolean;
  /** `quorum.last_man_standing_window` in ms (default 10000). */
  lastManStandingWindowMs?: number;
  /** `quorum.auto_tie_breaker` (default false). */
  autoTieBreaker?: boolean;
  /** `quorum.auto_tie_breaker_node` (default `lowest`). */
  autoTieBreakerNode?: AutoTieBreakerNode;
  /** `quorum { device { } }` with a `model` set; absent: no quorum device configured. */
  device?: QuorumDeviceOptions;
}

/** The keys of `quorum.device` votequorum reads (votequorum.c `votequorum_qdevice_is_configured`). */
export interface QuorumDeviceOptions {
  /** `quorum.device.votes`; unset: the nodelist's node count - 1 when every node votes 1 (else a config error). */
  votes?: number;
  /** `quorum.device.timeout` in ms: a device that stops polling loses its vote after it (default 10000). */
  timeoutMs?: number;
  /** `quorum.device.sync_timeout` in ms: how long a sync waits for the device's poll (default 30000). */
  syncTimeoutMs?: number;
}

/**
 * The quorum device API of votequorum (votequorum.h `votequorum_qdevice_*`), used by the daemon's qdevice client
 * (corosync-qdevice's side). `name` is the device's name (corosync-qdevice registers as `Qdevice`).
 */
export type QdeviceRequest =
  | { type: 'qdeviceRegister'; name: string }
  | { type: 'qdeviceUnregister'; name: string }
  /** `votequorum_qdevice_poll`: the device is alive and casts (or not) its vote for the ring `ringId`. */
  | { type: 'qdevicePoll'; name: string; castVote: boolean; ringId: RingId | null }
  /** `votequorum_qdevice_master_wins`. */
  | { type: 'qdeviceMasterWins'; name: string; allow: boolean };

/** corosync's error names for a refused quorum device request. */
export type QdeviceRequestError =
  | 'CS_ERR_ACCESS'
  | 'CS_ERR_EXIST'
  | 'CS_ERR_NOT_EXIST'
  | 'CS_ERR_INVALID_PARAM'
  | 'CS_ERR_MESSAGE_ERROR';

/** Log action, as in docs/contracts.md, always with subsystem `QUORUM`. */
export interface QuorumLogAction {
  type: 'log';
  level: 'debug' | 'info' | 'notice' | 'warning' | 'error';
  subsystem: 'QUORUM';
  message: string;
}

/** Events accepted by `QuorumCore.step`. */
export type QuorumEvent =
  | { type: 'tick' }
  /** A Totem configuration change; only `regular` ones matter (a missing kind means regular). */
  | { type: 'configChange'; kind?: 'transitional' | 'regular'; members: readonly number[]; ringId: RingId }
  /** A payload some member broadcast, delivered in agreed order (own broadcasts included). */
  | { type: 'receive'; from: number; payload: Uint8Array }
  /** `corosync-quorumtool -e` / `pvecm expected`: set expected votes cluster-wide. */
  | { type: 'setExpected'; votes: number }
  /** `corosync-quorumtool -v votes -n nodeId`: set a node's votes cluster-wide (default: this node). */
  | { type: 'setVotes'; votes: number; nodeId?: number }
  /**
   * A reloaded configuration (corosync's `votequorum_refresh_config`): the full options built from the new
   * corosync.conf, `localNodeId` unchanged. Nodelist, `expectedVotes`, `votes` and `twoNode` take effect at once;
   * the other keys only at the next restart (see docs/quorum.md).
   */
  | { type: 'reconfigure'; options: QuorumOptions }
  | QdeviceRequest;

/** corosync's error names for a refused runtime request. */
export type QuorumRequestError = 'CS_ERR_INVALID_PARAM' | 'CS_ERR_NAME_NOT_FOUND';

/** Actions returned by `QuorumCore.step`. */
export type QuorumAction =
  /** Multicast `payload` to the current membership in agreed order (it comes back as a `receive`). */
  | { type: 'broadcast'; payload: Uint8Array }
  /**
   * corosync's quorum callback: after every completed sync (new membership) and whenever the quorate state
   * flips outside a sync. `changed` says whether `quorate` differs from the previous callback.
   */
  | { type: 'quorumChange'; quorate: boolean; changed: boolean; members: number[]; ringId: RingId | null }
  /** Answer to `setExpected` / `setVotes`: accepted (a broadcast follows) or refused with corosync's error. */
  | { type: 'requestResult'; request: 'setExpected' | 'setVotes'; ok: true }
  | { type: 'requestResult'; request: 'setExpected' | 'setVotes'; ok: false; error: QuorumRequestError }
  /**
   * Answer to `reconfigure`: applied (broadcasts may follow), or refused with nothing changed; `message` is the
   * reason (the `QuorumConfigError` the constructor would throw).
   */
  | { type: 'reconfigureResult'; ok: true }
  | { type: 'reconfigureResult'; ok: false; error: 'CS_ERR_INVALID_PARAM'; message: string }
  /** Answer to a quorum device request. */
  | { type: 'qdeviceResult'; request: QdeviceRequest['type']; ok: true }
  | { type: 'qdeviceResult'; request: QdeviceRequest['type']; ok: false; error: QdeviceRequestError }
  /**
   * The membership of a sync that just started (votequorum.c `votequorum_exec_send_nodelist_notification`): the
   * device asks its arbiter about this ring and polls with its id; the sync waits for that poll (or sync_timeout).
   */
  | { type: 'qdeviceNodeList'; members: number[]; ringId: RingId }
  | QuorumLogAction;

/** The words `corosync-quorumtool` prints on its `Flags:` line, in its order. */
export type QuorumFlag = '2Node' | 'Quorate' | 'WaitForAll' | 'LastManStanding' | 'AutoTieBreaker' | 'Qdevice';

/** A member's quorum device as its nodeinfo flags tell (`A,V,NMW` in the `Qdevice` column). */
export interface QdeviceMemberFlags {
  alive: boolean;
  castVote: boolean;
  masterWins: boolean;
}

/** One row of the membership block. */
export interface QuorumMemberStatus {
  /** Node id. */
  nodeId: number;
  /** The node's current votes. */
  votes: number;
  /** Placeholder for the node name (empty: the daemon or the formatter supplies names). */
  name: string;
  /** The member's quorum device; null when it has none registered (`NR`). */
  qdevice: QdeviceMemberFlags | null;
}

/** The quorum device row (node id 0) of the membership block. */
export interface QuorumDeviceStatus {
  /** The device's name (`Qdevice`). */
  name: string;
  /** The device's configured votes. */
  votes: number;
  /** Whether this node's device casts its vote now (votes count in `totalVotes` only then). */
  castVote: boolean;
}

/** Everything `corosync-quorumtool -s` / `pvecm status` show, as data. */
export interface QuorumSnapshot {
  /** This node's id (`Node ID:`). */
  nodeId: number;
  /** Ring of the last quorum callback (`Ring ID:`), null before the first. */
  ringId: RingId | null;
  /** Number of members of the last quorum callback (`Nodes:`). */
  nodes: number;
  /** What services were last told (`Quorate:`). */
  quorate: boolean;
  /** This node's expected votes (`Expected votes:`). */
  expectedVotes: number;
  /** Highest expected votes announced by a current member (`Highest expected:`). */
  highestExpected: number;
  /** Sum of the votes of current members (`Total votes:`). */
  totalVotes: number;
  /** Votes needed for quorum (`Quorum:`). */
  quorum: number;
  /** `Flags:` words; `Quorate` is votequorum's own view, which can run ahead of `quorate` during a sync. */
  flags: QuorumFlag[];
  /** Membership rows, sorted by node id. */
  members: QuorumMemberStatus[];
  /** Shown when a member has a device registered (corosync-quorumtool's `display_qdevice`), else null. */
  device: QuorumDeviceStatus | null;
}
