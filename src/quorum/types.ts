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
}

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
  | { type: 'reconfigure'; options: QuorumOptions };

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
  | QuorumLogAction;

/** The words `corosync-quorumtool` prints on its `Flags:` line, in its order. */
export type QuorumFlag = '2Node' | 'Quorate' | 'WaitForAll' | 'LastManStanding' | 'AutoTieBreaker';

/** One row of the membership block. */
export interface QuorumMemberStatus {
  /** Node id. */
  nodeId: number;
  /** The node's current votes. */
  votes: number;
  /** Placeholder for the node name (empty: the daemon or the formatter supplies names). */
  name: string;
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
}
