/**
 * votequorum as a pure state machine: `step(event, now) → actions`, `nextDeadline()` for the
 * last_man_standing window (drive it with `{ type: 'tick' }`).
 *
 * Follows corosync exec/votequorum.c (v3.1.x) and man/votequorum.5:
 * - every node multicasts its nodeinfo (votes, expected votes, flags) in agreed order after each regular
 *   configuration change (`votequorum_sync_process`); the sync ends once the nodeinfo of every member of the
 *   ring has been delivered, then quorum is recalculated and announced (`votequorum_sync_activate` and the
 *   quorum service's `quorum_api_set_quorum`, exec/vsf_quorum.c, which also writes the log lines);
 * - `calculate_quorum`, `recalculate_quorum`, `are_we_quorate`, `check_auto_tie_breaker`, the nodeinfo and
 *   reconfigure handlers, `setexpected`/`setvotes` validation and the last-man-standing timer are ported
 *   rule for rule; `getinfo` + corosync-quorumtool give `snapshot()`;
 * - a configuration reload (`reconfigure` event) follows `votequorum_refresh_config`: the runtime keys are read
 *   again (`votequorum_readconfig(VOTEQUORUM_READCONFIG_RUNTIME)`), the nodeinfo is multicast, plus a node-votes
 *   and an expected-votes reconfigure message when those changed;
 * - the quorum device side: registration, polls for the current ring (a poll for another ring is ignored), the
 *   poll timer (`device.timeout`, `device.sync_timeout` while a sync waits for the device), the device's votes
 *   (counted in total votes only while this node's device casts its vote, always in expected votes), the device's
 *   nodeinfo (node id 0), the `NODE_FLAGS_QDEVICE_*` flags and master_wins.
 * Deliberate deviations (docs/quorum.md): no allow_downscale, expected_votes_tracking, cancel-wait-for-all or
 * device extra info; a device registers locally at once (corosync multicasts the registration to record the
 * device's name on the other nodes: names are local here); a sync that waits for the device's poll holds back this
 * node's nodeinfo until the poll for the new ring (or sync_timeout) instead of holding corosync's sync barrier, so
 * every member still completes the sync at the same point of the agreed order; a reload the constructor would refuse changes nothing (corosync goes on with its runtime
 * data, having re-read two_node by then), it recalculates quorum at once (corosync: when its nodeinfo comes
 * back) and nodes no longer in the nodelist are forgotten once they are not members; the sync waits for
 * ring-tagged nodeinfo messages instead of corosync's separate sync barrier; a runtime request changes nothing
 * locally until its own multicast is delivered (corosync pre-applies it on the requesting node); quorum is a
 * full integer (corosync: uint8_t); the constructor announces nothing: the first announcement follows the first
 * configuration change; wait_for_all is re-armed only by an inquorate result outside a sync or at its end, not
 * by the partial count in the middle of a sync (in corosync a node that stays quorate across a membership change
 * could re-arm it on its own nodeinfo, before its peers' arrive, and end the sync inquorate while its peers are
 * quorate).
 */
import { assert, isStrictlyAscending } from '../base/assert.ts';
import { UINT32_MAX } from '../base/limits.ts';
import {
  DEFAULT_LAST_MAN_STANDING_WINDOW_MS,
  DEFAULT_QDEVICE_SYNC_TIMEOUT_MS,
  DEFAULT_QDEVICE_TIMEOUT_MS,
} from '../config/defaults.ts';
import {
  decodeQuorumMessage,
  encodeQuorumMessage,
  NodeFlag,
  type NodeInfoMessage,
  QDEVICE_NODE_ID,
  ReconfigureParam,
} from './codec.ts';
import {
  QuorumConfigError,
  type QuorumSettings,
  type QuorumStartupKeys,
  reloadQuorumSettings,
  resolveQuorumSettings,
} from './settings.ts';
import type {
  QdeviceMemberFlags,
  QdeviceRequest,
  QdeviceRequestError,
  QuorumAction,
  QuorumEvent,
  QuorumFlag,
  QuorumLogAction,
  QuorumOptions,
  QuorumRequestError,
  QuorumSnapshot,
  RingId,
} from './types.ts';

/** What this node knows about one node (votequorum.c `struct cluster_node`). */
interface NodeRecord {
  nodeId: number;
  /** MEMBER once its nodeinfo was delivered in the current ring; DEAD when it left. */
  member: boolean;
  votes: number;
  expectedVotes: number;
  flags: number;
}

/** Sums over the nodes currently counted as members. */
interface MemberTally {
  totalVotes: number;
  memberCount: number;
  highestExpected: number;
}

/** The votequorum service of one node. */
export class QuorumCore {
  /** Configuration adjustments made at startup (corosync's CRIT/WARNING lines), for the driver to log. */
  readonly configLog: readonly QuorumLogAction[];
  private settings: QuorumSettings;
  /** What the keys read only at startup were (for `reconfigure`). */
  private readonly startupKeys: QuorumStartupKeys;
  private readonly startupOptions: QuorumOptions;
  /** Node ids of the nodelist in use; null without one (no entry for this node: expected_votes only). */
  private nodelistIds: ReadonlySet<number> | null;
  private readonly nodes = new Map<number, NodeRecord>();
  private readonly us: NodeRecord;
  private quorum = 0;
  private clusterIsQuorate = false;
  private waitForAllStatus = false;
  private lastManStanding: boolean;
  private lastManStandingDeadline = Number.POSITIVE_INFINITY;
  private lowestNodeId = -1;
  private highestNodeId = -1;
  private members: number[] = [];
  private previousMembers: number[] = [];
  private ringId: RingId | null = null;
  /**
   * Members whose nodeinfo for the current ring is still to come; null when no sync is in progress.
   * Starts as a sync that never completes on its own: nothing is announced before the first configuration.
   */
  private syncPending: Set<number> | null = new Set();
  /** What the quorum service last told its users (exec/vsf_quorum.c `primary_designated`, view list, ring). */
  private announcedQuorate = false;
  private announcedMembers: number[] = [];
  private announcedRingId: RingId | null = null;
  private output: QuorumAction[] = [];
  /** votequorum.c `qdevice->votes`: the device's votes, from the configuration and the device's nodeinfo. */
  private deviceVotes: number;
  /** votequorum.c `qdevice_name`: the name the local device registered with ('' when none). */
  private deviceName = '';
  /** votequorum.c `qdevice_master_wins`. */
  private deviceMasterWins = false;
  /** votequorum.c `qdevice_timer`: when the device loses its vote without a poll; Infinity when not armed. */
  private deviceDeadline = Number.POSITIVE_INFINITY;
  /** votequorum.c `sync_wait_for_poll_or_timeout`: this node's nodeinfo for the ring waits for the device's poll. */
  private syncWaitForPoll = false;

  /** @throws QuorumConfigError on a configuration corosync refuses to start with. */
  constructor(options: QuorumOptions, _now: number) {
    const { settings, log, startup } = resolveQuorumSettings(options);
    this.settings = settings;
    this.configLog = log;
    this.startupKeys = startup;
    this.startupOptions = { ...options };
    this.nodelistIds = nodelistIdsOf(options);
    this.lastManStanding = settings.lastManStanding;
    this.us = {
      nodeId: settings.localNodeId,
      member: true,
      votes: settings.votes,
      expectedVotes: settings.expectedVotes,
      flags: NodeFlag.first,
    };
    this.nodes.set(this.us.nodeId, this.us);
    this.deviceVotes = settings.device?.votes ?? 0;
    if (settings.waitForAll) this.setWaitForAllStatus(true);
    this.recalculateQuorum(false, false);
  }

  /** Feeds one event; returns the actions it causes. */
  step(event: QuorumEvent, now: number): QuorumAction[] {
    this.output = [];
    switch (event.type) {
      case 'tick':
        this.onTick(now);
        break;
      case 'configChange':
        if (event.kind !== 'transitional') this.onConfigChange(event.members, event.ringId, now);
        break;
      case 'receive':
        this.onReceive(event.from, event.payload);
        break;
      case 'setExpected':
        this.onSetExpected(event.votes);
        break;
      case 'setVotes':
        this.onSetVotes(event.nodeId ?? this.us.nodeId, event.votes);
        break;
      case 'reconfigure':
        this.onReconfigure(event.options);
        break;
      default:
        this.onDeviceRequest(event, now);
    }
    const actions = this.output;
    this.output = [];
    return actions;
  }

  /** The next timer: the last_man_standing window's end or the device's poll timeout; Infinity when none. */
  nextDeadline(): number {
    return Math.min(this.lastManStandingDeadline, this.deviceDeadline);
  }

  /** What `corosync-quorumtool -s` shows on this node (votequorum `getinfo` + the quorum service's view). */
  snapshot(): QuorumSnapshot {
    const tally = this.tallyMembers();
    if (this.castsDeviceVote()) tally.totalVotes += this.deviceVotes;
    const flags: QuorumFlag[] = [];
    if (this.settings.twoNode) flags.push('2Node');
    if (this.clusterIsQuorate) flags.push('Quorate');
    if (this.settings.waitForAll) flags.push('WaitForAll');
    if (this.lastManStanding) flags.push('LastManStanding');
    if (this.settings.tieBreaker.kind !== 'none') flags.push('AutoTieBreaker');
    if (this.us.flags & NodeFlag.qdeviceRegistered) flags.push('Qdevice');
    const members = this.announcedMembers.map((nodeId) => {
      const node = this.nodes.get(nodeId);
      return { nodeId, votes: node?.votes ?? 0, name: '', qdevice: deviceFlagsOf(node?.flags ?? 0) };
    });
    const deviceShown = members.some((member) => member.qdevice !== null);
    return {
      nodeId: this.us.nodeId,
      ringId: this.announcedRingId,
      nodes: this.announcedMembers.length,
      quorate: this.announcedQuorate,
      expectedVotes: this.us.expectedVotes,
      highestExpected: tally.highestExpected,
      totalVotes: tally.totalVotes,
      quorum: this.quorum,
      flags,
      members,
      device: deviceShown ? { name: this.deviceName, votes: this.deviceVotes, castVote: this.castsDeviceVote() } : null,
    };
  }

  // ---- events ---------------------------------------------------------------------------------------------

  /** votequorum.c `votequorum_last_man_standing_timer_fn`. */
  private onTick(now: number): void {
    if (now >= this.deviceDeadline) this.onDeviceTimeout();
    if (now < this.lastManStandingDeadline) return;
    this.lastManStandingDeadline = Number.POSITIVE_INFINITY;
    if (this.clusterIsQuorate) this.recalculateQuorum(true, true);
  }

  /** votequorum.c `votequorum_sync_init` + `votequorum_sync_process`, vsf_quorum.c `quorum_sync_init`. */
  private onConfigChange(memberList: readonly number[], ringId: RingId, now: number): void {
    const newMembers = [...new Set(memberList)].sort((a, b) => a - b);
    assert(newMembers.includes(this.us.nodeId), 'votequorum: a configuration holds this node');
    if (newMembers.length > 1) this.us.flags &= ~NodeFlag.first;
    let nodesLeft = false;
    for (const nodeId of this.members) {
      if (newMembers.includes(nodeId)) continue;
      nodesLeft = true;
      const node = this.nodes.get(nodeId);
      if (node) node.member = false;
      // A node no longer in the nodelist (taken out by a reload) is forgotten once it has left.
      if (node && !this.inNodelist(nodeId)) this.nodes.delete(nodeId);
    }
    if (this.lastManStanding) {
      const enoughLeft = newMembers.length >= this.quorum && nodesLeft;
      const tieBreakerSide =
        newMembers.length <= this.quorum && this.settings.tieBreaker.kind !== 'none' && this.lowestNodeIdIsMember();
      if (enoughLeft || tieBreakerSide) this.lastManStandingDeadline = now + this.settings.lastManStandingWindowMs;
    }
    this.previousMembers = this.members;
    this.members = newMembers;
    assert(isStrictlyAscending(newMembers), 'votequorum: the member list is ascending and unique');
    this.ringId = { rep: ringId.rep, seq: ringId.seq };
    this.syncPending = new Set(newMembers);
    if (this.hasFlag(NodeFlag.qdeviceRegistered) && this.hasFlag(NodeFlag.qdeviceAlive)) {
      this.deviceDeadline = now + (this.settings.device?.syncTimeoutMs ?? DEFAULT_QDEVICE_SYNC_TIMEOUT_MS);
      this.syncWaitForPoll = true;
      this.log(
        'info',
        `waiting for quorum device ${this.deviceName} poll (but maximum for ${this.deviceDeadline - now} ms)`,
      );
    }
    this.logList('Sync members', newMembers);
    const joined = newMembers.filter((nodeId) => !this.announcedMembers.includes(nodeId));
    const left = this.announcedMembers.filter((nodeId) => !newMembers.includes(nodeId));
    if (joined.length > 0) this.logList('Sync joined', joined);
    if (left.length > 0) this.logList('Sync left', left);
    this.sendSyncInfo();
    if (this.hasFlag(NodeFlag.qdeviceRegistered)) {
      this.output.push({ type: 'qdeviceNodeList', members: [...newMembers], ringId: this.ringId });
    }
  }

  private onReceive(from: number, payload: Uint8Array): void {
    const decoded = decodeQuorumMessage(payload);
    if (!decoded.ok) {
      this.log('warning', `Ignoring invalid votequorum message from node ${from}: ${decoded.error}`);
      return;
    }
    if (!this.members.includes(from)) {
      this.log('debug', `Ignoring votequorum message from node ${from}, not a member of the current ring`);
      return;
    }
    const message = decoded.message;
    if (message.type === 'nodeinfo') {
      const sender = message.nodeId === from || message.nodeId === QDEVICE_NODE_ID;
      if (!sender || !this.ringId || !sameRing(message.ringId, this.ringId)) {
        this.log('debug', `Ignoring stale or foreign nodeinfo from node ${from}`);
        return;
      }
      if (message.nodeId === QDEVICE_NODE_ID) {
        this.onDeviceInfo(from, message.votes);
        return;
      }
      this.onNodeInfo(message);
      this.syncPending?.delete(from);
      if (this.syncPending?.size === 0) this.activateSync();
      return;
    }
    this.log('debug', `got reconfigure message from cluster node ${from} for ${message.nodeId}`);
    if (message.param === ReconfigureParam.expectedVotes) {
      this.setMembersExpectedVotes(message.value);
      this.recalculateQuorum(true, false);
      return;
    }
    const node = this.nodes.get(message.nodeId);
    if (!node) return;
    node.votes = message.value;
    this.recalculateQuorum(true, false);
  }

  /** votequorum.c `message_handler_req_exec_votequorum_nodeinfo`. */
  private onNodeInfo(message: NodeInfoMessage): void {
    let node = this.nodes.get(message.nodeId);
    const isNew = node === undefined;
    if (!node) {
      node = { nodeId: message.nodeId, member: false, votes: 0, expectedVotes: 0, flags: 0 };
      this.nodes.set(node.nodeId, node);
    }
    const before = { ...node };
    node.flags = message.flags;
    node.votes = message.votes;
    node.member = true;
    const senderQuorate = (message.flags & NodeFlag.quorate) !== 0;
    let allowDecrease = false;
    if (!this.clusterIsQuorate && senderQuorate) {
      allowDecrease = true;
      this.us.expectedVotes = message.expectedVotes;
    }
    node.expectedVotes = senderQuorate ? message.expectedVotes : this.us.expectedVotes;
    if (this.lastManStanding && node.votes > 1) {
      this.log(
        'warning',
        'Last Man Standing feature is supported only when all cluster nodes votes are set to 1. Disabling LMS.',
      );
      this.lastManStanding = false;
      this.lastManStandingDeadline = Number.POSITIVE_INFINITY;
    }
    const changed =
      isNew ||
      node === this.us ||
      (node.flags & NodeFlag.first) !== 0 ||
      before.votes !== node.votes ||
      before.expectedVotes !== node.expectedVotes ||
      before.flags !== node.flags ||
      !before.member;
    if (changed) this.recalculateQuorum(allowDecrease, false);
    if (this.settings.waitForAll && senderQuorate && (node.flags & NodeFlag.waitForAllStatus) === 0) {
      this.setWaitForAllStatus(false);
    }
  }

  /**
   * The device's nodeinfo (votequorum.c `message_handler_req_exec_votequorum_nodeinfo` for node 0): its votes are
   * taken from a quorate sender while this node is not quorate, otherwise only raised.
   */
  private onDeviceInfo(from: number, votes: number): void {
    const senderQuorate = ((this.nodes.get(from)?.flags ?? 0) & NodeFlag.quorate) !== 0;
    const before = this.deviceVotes;
    this.deviceVotes = !this.clusterIsQuorate && senderQuorate ? votes : Math.max(this.deviceVotes, votes);
    if (this.deviceVotes !== before) this.recalculateQuorum(false, false);
  }

  // ---- the quorum device (votequorum.c `message_handler_req_lib_votequorum_qdevice_*`) ------------------------

  private onDeviceRequest(request: QdeviceRequest, now: number): void {
    const error = this.deviceRequestError(request);
    if (error) {
      this.output.push({ type: 'qdeviceResult', request: request.type, ok: false, error });
      return;
    }
    switch (request.type) {
      case 'qdeviceRegister':
        this.registerDevice(request.name);
        break;
      case 'qdeviceUnregister':
        this.unregisterDevice();
        break;
      case 'qdevicePoll':
        this.pollDevice(request.castVote, now);
        break;
      case 'qdeviceMasterWins':
        this.setDeviceFlags(NodeFlag.qdeviceMasterWins, request.allow);
        this.deviceMasterWins = request.allow;
        break;
    }
    this.output.push({ type: 'qdeviceResult', request: request.type, ok: true });
    this.assertDeviceState();
  }

  /** The checks of each request handler, with corosync's error codes. */
  private deviceRequestError(request: QdeviceRequest): QdeviceRequestError | null {
    const registered = this.hasFlag(NodeFlag.qdeviceRegistered);
    if (request.type === 'qdeviceRegister') {
      if (!registered || request.name === this.deviceName) return null;
      this.log(
        'warning',
        `A new qdevice with different name (new: ${request.name} old: ${this.deviceName}) is trying to re-register!`,
      );
      return 'CS_ERR_EXIST';
    }
    if (!registered) return 'CS_ERR_NOT_EXIST';
    if (request.type === 'qdevicePoll' && !sameRingOrNone(request.ringId, this.ringId)) {
      this.log(
        'debug',
        `Received poll ring id (${ringText(request.ringId)}) != last sync ring id (${ringText(this.ringId)}). Ignoring poll call.`,
      );
      return 'CS_ERR_MESSAGE_ERROR';
    }
    return request.name === this.deviceName ? null : 'CS_ERR_INVALID_PARAM';
  }

  /** Registration; this node's nodeinfo and the device's follow (corosync: once its registration came back). */
  private registerDevice(name: string): void {
    if (this.hasFlag(NodeFlag.qdeviceRegistered)) return;
    this.deviceName = name;
    this.us.flags |= NodeFlag.qdeviceRegistered;
    this.sendDeviceInfo();
    this.sendNodeInfo();
  }

  private unregisterDevice(): void {
    this.deviceDeadline = Number.POSITIVE_INFINITY;
    const deferred = this.syncWaitForPoll;
    this.syncWaitForPoll = false;
    this.us.flags &= ~DEVICE_FLAGS;
    this.deviceName = '';
    this.deviceMasterWins = false;
    this.afterOwnFlagsChanged();
    if (deferred) this.sendDeviceInfo();
  }

  /** A poll for the current ring: the device is alive and casts its vote or not; its timer restarts. */
  private pollDevice(castVote: boolean, now: number): void {
    const before = this.us.flags;
    const deferred = this.syncWaitForPoll;
    this.syncWaitForPoll = false;
    this.us.flags |= NodeFlag.qdeviceAlive;
    if (castVote) this.us.flags |= NodeFlag.qdeviceCastVote;
    else this.us.flags &= ~NodeFlag.qdeviceCastVote;
    this.deviceDeadline = now + (this.settings.device?.timeoutMs ?? DEFAULT_QDEVICE_TIMEOUT_MS);
    if (this.us.flags !== before || deferred) this.afterOwnFlagsChanged();
    if (deferred) this.sendDeviceInfo();
  }

  /** votequorum.c `qdevice_timer_fn`: no poll in time, the device loses its vote. */
  private onDeviceTimeout(): void {
    this.deviceDeadline = Number.POSITIVE_INFINITY;
    if (!this.hasFlag(NodeFlag.qdeviceAlive)) return;
    const deferred = this.syncWaitForPoll;
    this.syncWaitForPoll = false;
    this.us.flags &= ~(NodeFlag.qdeviceAlive | NodeFlag.qdeviceCastVote);
    this.log('info', `lost contact with quorum device ${this.deviceName}`);
    this.afterOwnFlagsChanged();
    if (deferred) this.sendDeviceInfo();
    this.assertDeviceState();
  }

  /** Sets or clears one of this node's device flags; its nodeinfo goes out when that changed something. */
  private setDeviceFlags(flag: number, on: boolean): void {
    const before = this.us.flags;
    if (on) this.us.flags |= flag;
    else this.us.flags &= ~flag;
    if (this.us.flags !== before) this.afterOwnFlagsChanged();
  }

  /**
   * This node's flags changed: its nodeinfo tells the members, and quorum is recalculated when it comes back.
   * Outside any ring nothing comes back: recalculate at once.
   */
  private afterOwnFlagsChanged(): void {
    if (this.ringId === null) this.recalculateQuorum(false, false);
    else this.sendNodeInfo();
  }

  private hasFlag(flag: number): boolean {
    return (this.us.flags & flag) !== 0;
  }

  /** Whether the device's votes count in this node's total (votequorum.c: `us->flags & NODE_FLAGS_QDEVICE_CAST_VOTE`). */
  private castsDeviceVote(): boolean {
    return this.hasFlag(NodeFlag.qdeviceCastVote);
  }

  private assertDeviceState(): void {
    const flags = this.us.flags;
    const registered = (flags & NodeFlag.qdeviceRegistered) !== 0;
    assert(registered || (flags & DEVICE_FLAGS) === 0, 'votequorum: device flags only with a registered device');
    assert(
      (flags & NodeFlag.qdeviceCastVote) === 0 || (flags & NodeFlag.qdeviceAlive) !== 0,
      'votequorum: only an alive device casts its vote',
    );
    assert(!this.syncWaitForPoll || registered, 'votequorum: a sync waits only for a registered device');
    assert(
      this.deviceDeadline === Number.POSITIVE_INFINITY || registered,
      'votequorum: the poll timer runs only for a registered device',
    );
  }

  /** votequorum.c `votequorum_sync_activate`. */
  private activateSync(): void {
    this.syncPending = null;
    for (const nodeId of this.members)
      assert(this.isMember(nodeId), 'votequorum: every ring member is counted after sync');
    assert(
      this.tallyMembers().memberCount === this.members.length,
      'votequorum: only ring members are counted after sync',
    );
    this.recalculateQuorum(false, false);
    this.announce();
  }

  /** votequorum.c `message_handler_req_lib_votequorum_setexpected`. */
  private onSetExpected(expectedVotes: number): void {
    const error = this.checkExpectedVotes(expectedVotes);
    this.answer('setExpected', error);
    if (error) return;
    this.broadcast({
      type: 'reconfigure',
      param: ReconfigureParam.expectedVotes,
      nodeId: this.us.nodeId,
      value: expectedVotes,
    });
  }

  /** Expected votes below the current total, or that would cost a quorate cluster its quorum, are refused. */
  private checkExpectedVotes(expectedVotes: number): QuorumRequestError | null {
    if (!isVoteCount(expectedVotes)) return 'CS_ERR_INVALID_PARAM';
    const { quorum, totalVotes } = this.calculateQuorum(true, expectedVotes);
    if (expectedVotes < totalVotes || (this.clusterIsQuorate && quorum > totalVotes)) return 'CS_ERR_INVALID_PARAM';
    return null;
  }

  /** votequorum.c `message_handler_req_lib_votequorum_setvotes`. */
  private onSetVotes(nodeId: number, votes: number): void {
    const error = this.checkNodeVotes(nodeId, votes);
    this.answer('setVotes', error);
    if (error) return;
    this.broadcast({ type: 'reconfigure', param: ReconfigureParam.nodeVotes, nodeId, value: votes });
  }

  /** Refuses an unknown node, and votes giving a quorum below half or above the total of the members. */
  private checkNodeVotes(nodeId: number, votes: number): QuorumRequestError | null {
    const node = this.nodes.get(nodeId);
    if (!node) return 'CS_ERR_NAME_NOT_FOUND';
    if (!isVoteCount(votes)) return 'CS_ERR_INVALID_PARAM';
    const savedVotes = node.votes;
    node.votes = votes;
    const { quorum, totalVotes } = this.calculateQuorum(true, 0);
    node.votes = savedVotes;
    if (quorum < Math.floor(totalVotes / 2) || quorum > totalVotes) return 'CS_ERR_INVALID_PARAM';
    return null;
  }

  /**
   * votequorum.c `votequorum_refresh_config` + `votequorum_readconfig(VOTEQUORUM_READCONFIG_RUNTIME)`: the nodelist,
   * expected_votes, votes and two_node are read again (wait_for_all follows two_node unless set; auto_tie_breaker
   * is checked again against the new nodelist), this node's votes and expected votes are reset from them, its
   * nodeinfo is multicast, then a node-votes and an expected-votes reconfigure message when those changed (the
   * latter sets every member's expected votes, decrease allowed). Deviations: a configuration the constructor
   * would refuse changes nothing; quorum is recalculated at once, without decrease (that comes with the
   * expected-votes message) unless the node is in no ring yet; non-members outside the new nodelist are forgotten.
   */
  private onReconfigure(options: QuorumOptions): void {
    let resolved: ReturnType<typeof reloadQuorumSettings>;
    try {
      if (options.localNodeId !== this.us.nodeId) {
        throw new QuorumConfigError(
          `configuration error: nodeid cannot change at runtime (${this.us.nodeId} → ${options.localNodeId})`,
        );
      }
      resolveQuorumSettings(options); // refused as a restart with it would be
      resolved = reloadQuorumSettings(options, this.startupKeys);
    } catch (error) {
      if (!(error instanceof QuorumConfigError)) throw error;
      this.log('warning', error.message);
      this.log('warning', 'will continue with current runtime data');
      this.output.push({ type: 'reconfigureResult', ok: false, error: 'CS_ERR_INVALID_PARAM', message: error.message });
      return;
    }
    const settings = resolved.settings;
    this.output.push(...resolved.log);
    this.logStartupOnlyChanges(options);
    const old = {
      votes: this.us.votes,
      expectedVotes: this.us.expectedVotes,
      nodes: this.nodelistIds?.size ?? 0,
      twoNode: this.settings.twoNode,
      deviceVotes: this.deviceVotes,
    };
    this.settings = settings;
    this.nodelistIds = nodelistIdsOf(options);
    this.us.votes = settings.votes;
    this.us.expectedVotes = settings.expectedVotes;
    this.deviceVotes = settings.device?.votes ?? 0;
    // wait_for_all_status is set only at startup; it is cleared when two_node no longer implies wait_for_all.
    if (!settings.waitForAll && this.waitForAllStatus) this.setWaitForAllStatus(false);
    for (const node of [...this.nodes.values()]) {
      if (!node.member && !this.inNodelist(node.nodeId)) this.nodes.delete(node.nodeId);
    }
    // Only what changed is logged: most reloads (a link re-tuned, a token raised) leave votequorum as it was.
    const nodeCount = this.nodelistIds?.size ?? 0;
    const changes: string[] = [];
    if (settings.expectedVotes !== old.expectedVotes) {
      changes.push(`expected_votes ${old.expectedVotes} → ${settings.expectedVotes}`);
    }
    if (nodeCount !== old.nodes) changes.push(`nodes ${old.nodes} → ${nodeCount}`);
    if (settings.votes !== old.votes) changes.push(`votes ${old.votes} → ${settings.votes}`);
    if (settings.twoNode !== old.twoNode) changes.push(`two_node ${Number(old.twoNode)} → ${Number(settings.twoNode)}`);
    if (this.deviceVotes !== old.deviceVotes)
      changes.push(`quorum.device.votes ${old.deviceVotes} → ${this.deviceVotes}`);
    if (changes.length > 0) this.log('notice', `configuration reloaded: ${changes.join(', ')}`);
    this.output.push({ type: 'reconfigureResult', ok: true });
    // Outside any ring nothing was announced yet and no message would come back: take the decrease at once.
    this.recalculateQuorum(this.ringId === null, false);
    if (this.ringId === null) return; // the first configuration change sends the nodeinfo
    this.sendSyncInfo();
    if (settings.votes !== old.votes) {
      this.broadcast({
        type: 'reconfigure',
        param: ReconfigureParam.nodeVotes,
        nodeId: this.us.nodeId,
        value: settings.votes,
      });
    }
    if (settings.expectedVotes !== old.expectedVotes) {
      this.broadcast({
        type: 'reconfigure',
        param: ReconfigureParam.expectedVotes,
        nodeId: this.us.nodeId,
        value: settings.expectedVotes,
      });
    }
  }

  /** wait_for_all, last_man_standing and auto_tie_breaker are read only at startup (read-only keys in corosync). */
  private logStartupOnlyChanges(options: QuorumOptions): void {
    const before = this.startupOptions;
    const window = (value: QuorumOptions) => value.lastManStandingWindowMs ?? DEFAULT_LAST_MAN_STANDING_WINDOW_MS;
    const tieBreakerNode = (value: QuorumOptions) => String(value.autoTieBreakerNode ?? 'lowest');
    const keys: [string, unknown, unknown][] = [
      ['wait_for_all', before.waitForAll, options.waitForAll],
      ['last_man_standing', before.lastManStanding ?? false, options.lastManStanding ?? false],
      ['last_man_standing_window', window(before), window(options)],
      ['auto_tie_breaker', before.autoTieBreaker ?? false, options.autoTieBreaker ?? false],
      ['auto_tie_breaker_node', tieBreakerNode(before), tieBreakerNode(options)],
    ];
    for (const [key, startup, reloaded] of keys) {
      if (startup !== reloaded) this.log('notice', `quorum.${key} changed: takes effect at the next restart`);
    }
  }

  private inNodelist(nodeId: number): boolean {
    return this.nodelistIds === null || this.nodelistIds.has(nodeId);
  }

  // ---- quorum calculation (votequorum.c "quorum calculation core bits") -----------------------------------

  /** votequorum.c `calculate_quorum`: the quorum the current members give (without storing it). */
  private calculateQuorum(allowDecrease: boolean, maxExpected: number): { quorum: number; totalVotes: number } {
    const tally = this.tallyMembers();
    if (this.castsDeviceVote()) tally.totalVotes += this.deviceVotes;
    const highestExpected = maxExpected > 0 ? maxExpected : tally.highestExpected;
    let quorum = Math.max(majorityOf(highestExpected), majorityOf(tally.totalVotes));
    if (!allowDecrease) quorum = Math.max(this.quorum, quorum);
    if (this.settings.twoNode && tally.memberCount <= 2) quorum = 1;
    return { quorum, totalVotes: tally.totalVotes };
  }

  /** votequorum.c `recalculate_quorum`. */
  private recalculateQuorum(allowDecrease: boolean, byCurrentNodes: boolean): void {
    const tally = this.tallyMembers();
    const maxExpected = byCurrentNodes ? tally.memberCount : 0;
    // votequorum.c `get_total_votes`: the device's votes count here whether it votes or not.
    const possibleVotes = tally.totalVotes + this.deviceVotes;
    if (possibleVotes > this.us.expectedVotes) this.us.expectedVotes = possibleVotes;
    const { quorum, totalVotes } = this.calculateQuorum(allowDecrease, maxExpected);
    this.quorum = quorum;
    assert(quorum >= 1, 'votequorum: quorum is at least one vote');
    assert(this.us.expectedVotes >= tally.totalVotes, "votequorum: expected votes cover the members' total votes");
    this.setMembersExpectedVotes(maxExpected);
    this.areWeQuorate(totalVotes);
  }

  /** votequorum.c `are_we_quorate`. */
  private areWeQuorate(totalVotes: number): void {
    if (this.settings.waitForAll && this.waitForAllStatus) {
      if (totalVotes !== this.us.expectedVotes) {
        this.log(
          'notice',
          `Waiting for all cluster members. Current votes: ${totalVotes} expected_votes: ${this.us.expectedVotes}`,
        );
        return;
      }
      this.setWaitForAllStatus(false);
    }
    let quorate = this.quorum <= totalVotes;
    if (quorate) {
      const memberIds = this.memberNodeIds();
      this.lowestNodeId = Math.min(...memberIds);
      this.highestNodeId = Math.max(...memberIds);
    }
    if (
      this.settings.tieBreaker.kind !== 'none' &&
      totalVotes === Math.floor(this.us.expectedVotes / 2) &&
      this.previousMembers.length - this.members.length < this.quorum &&
      this.tieBreakerAllowsQuorum()
    ) {
      quorate = true;
    }
    const masterWins = this.deviceMasterWins && !quorate && this.deviceMasterIsMember();
    if (masterWins) {
      this.log('debug', 'node is quorate as part of master_wins partition');
      quorate = true;
    }
    assert(
      !quorate || this.quorum <= totalVotes || this.settings.tieBreaker.kind !== 'none' || masterWins,
      'votequorum: quorate only with quorum ≤ total votes (or by the tie breaker or master_wins)',
    );
    const changed = quorate !== this.clusterIsQuorate;
    this.clusterIsQuorate = quorate;
    if (quorate) this.us.flags |= NodeFlag.quorate;
    else this.us.flags &= ~NodeFlag.quorate;
    // Deviation: the partial count in the middle of a sync does not re-arm wait_for_all (see the header).
    if (this.settings.waitForAll && (quorate || this.syncPending === null)) this.setWaitForAllStatus(!quorate);
    if (changed && this.syncPending === null) this.announce();
  }

  /** votequorum.c `check_auto_tie_breaker`. */
  private tieBreakerAllowsQuorum(): boolean {
    const tieBreaker = this.settings.tieBreaker;
    if (tieBreaker.kind === 'lowest') return this.lowestNodeIdIsMember();
    if (tieBreaker.kind === 'highest') return this.isMember(this.highestNodeId);
    if (tieBreaker.kind === 'none') return false;
    const listed = tieBreaker.nodeIds;
    const index = listed.findIndex((nodeId) => this.members.includes(nodeId));
    if (index < 0) return false;
    // A node listed earlier that was with us before the change may be in the other half: no quorum.
    return !listed.slice(0, index).some((nodeId) => this.previousMembers.includes(nodeId));
  }

  /** votequorum.c `check_qdevice_master`: a member whose device casts its vote with master_wins. */
  private deviceMasterIsMember(): boolean {
    const master = NodeFlag.qdeviceMasterWins | NodeFlag.qdeviceCastVote;
    return [...this.nodes.values()].some((node) => node.member && (node.flags & master) === master);
  }

  /** votequorum.c `check_low_node_id_partition`: the lowest id of the last quorate view is still with us. */
  private lowestNodeIdIsMember(): boolean {
    return this.isMember(this.lowestNodeId);
  }

  private isMember(nodeId: number): boolean {
    return this.nodes.get(nodeId)?.member === true;
  }

  /** votequorum.c `get_total_votes` / the loop in `calculate_quorum` and `getinfo`. */
  private tallyMembers(): MemberTally {
    const tally: MemberTally = { totalVotes: 0, memberCount: 0, highestExpected: 0 };
    for (const node of this.nodes.values()) {
      if (!node.member) continue;
      tally.totalVotes += node.votes;
      tally.memberCount += 1;
      tally.highestExpected = Math.max(tally.highestExpected, node.expectedVotes);
    }
    return tally;
  }

  private memberNodeIds(): number[] {
    return [...this.nodes.values()].filter((node) => node.member).map((node) => node.nodeId);
  }

  /** votequorum.c `update_node_expected_votes` (0 = leave unchanged). */
  private setMembersExpectedVotes(expectedVotes: number): void {
    if (expectedVotes === 0) return;
    for (const node of this.nodes.values()) {
      if (node.member) node.expectedVotes = expectedVotes;
    }
  }

  /** votequorum.c `update_wait_for_all_status`. */
  private setWaitForAllStatus(waiting: boolean): void {
    this.waitForAllStatus = waiting;
    if (waiting) this.us.flags |= NodeFlag.waitForAllStatus;
    else this.us.flags &= ~NodeFlag.waitForAllStatus;
  }

  // ---- output ---------------------------------------------------------------------------------------------

  /** The quorum callback: exec/vsf_quorum.c `quorum_api_set_quorum`. */
  private announce(): void {
    const quorate = this.clusterIsQuorate;
    const changed = quorate !== this.announcedQuorate;
    if (quorate && changed) {
      this.log('notice', 'This node is within the primary component and will provide service.');
    } else if (changed) {
      this.log('notice', 'This node is within the non-primary component and will NOT provide any services.');
    }
    assert(this.syncPending === null, 'votequorum: quorum is announced only outside a sync');
    this.announcedQuorate = quorate;
    this.announcedMembers = [...this.members];
    this.announcedRingId = this.ringId;
    this.logList('Members', this.members);
    this.output.push({
      type: 'quorumChange',
      quorate,
      changed,
      members: [...this.members],
      ringId: this.ringId,
    });
  }

  /**
   * votequorum.c `votequorum_exec_send_nodeinfo` for this node, tagged with the ring it is sent in. Held back while
   * the sync waits for the device's poll: the poll (or its timeout) sends it.
   */
  private sendNodeInfo(): void {
    if (this.ringId === null || this.syncWaitForPoll) return;
    this.broadcast({
      type: 'nodeinfo',
      nodeId: this.us.nodeId,
      votes: this.us.votes,
      expectedVotes: this.us.expectedVotes,
      flags: this.us.flags,
      ringId: this.ringId,
    });
  }

  /**
   * The device's nodeinfo (node id 0, its votes), sent with this node's in a sync and after a reload or a
   * registration. Only with a device configured or registered, so that nodes without one send what older
   * corolink versions read.
   */
  private sendDeviceInfo(): void {
    if (this.ringId === null || this.syncWaitForPoll) return;
    if (this.settings.device === null && !this.hasFlag(NodeFlag.qdeviceRegistered)) return;
    this.broadcast({
      type: 'nodeinfo',
      nodeId: QDEVICE_NODE_ID,
      votes: this.deviceVotes,
      expectedVotes: 0,
      flags: 0,
      ringId: this.ringId,
    });
  }

  /** What a sync sends (votequorum.c `votequorum_sync_process`): this node's nodeinfo, then the device's. */
  private sendSyncInfo(): void {
    this.sendNodeInfo();
    this.sendDeviceInfo();
  }

  private answer(request: 'setExpected' | 'setVotes', error: QuorumRequestError | null): void {
    this.output.push(
      error ? { type: 'requestResult', request, ok: false, error } : { type: 'requestResult', request, ok: true },
    );
  }

  private broadcast(message: Parameters<typeof encodeQuorumMessage>[0]): void {
    this.output.push({ type: 'broadcast', payload: encodeQuorumMessage(message) });
  }

  /** exec/vsf_quorum.c `log_view_list`: `Members[3]: 1 2 3`. */
  private logList(label: string, nodeIds: readonly number[]): void {
    this.log('notice', `${label}[${nodeIds.length}]:${nodeIds.map((nodeId) => ` ${nodeId}`).join('')}`);
  }

  private log(level: QuorumLogAction['level'], message: string): void {
    this.output.push({ type: 'log', level, subsystem: 'QUORUM', message });
  }
}

/** `floor(votes / 2) + 1`, written `(votes + 2) / 2` in votequorum.c. */
export function majorityOf(votes: number): number {
  return Math.floor((votes + 2) / 2);
}

function isVoteCount(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= UINT32_MAX;
}

/** The node ids of the nodelist votequorum uses: only one that lists this node counts (otherwise "no nodelist"). */
function nodelistIdsOf(options: QuorumOptions): ReadonlySet<number> | null {
  const nodelist = options.nodelist ?? [];
  if (!nodelist.some((node) => node.nodeId === options.localNodeId)) return null;
  return new Set(nodelist.map((node) => node.nodeId));
}

function sameRing(a: RingId, b: RingId): boolean {
  return a.rep === b.rep && a.seq === b.seq;
}

/** The poll's ring check: before the first ring corosync's ring id is 0.0, which a poll without a ring matches. */
function sameRingOrNone(a: RingId | null, b: RingId | null): boolean {
  return a === null || b === null ? a === b : sameRing(a, b);
}

function ringText(ringId: RingId | null): string {
  return ringId ? `${ringId.rep.toString(16)}.${ringId.seq.toString(16)}` : '0.0';
}

/** Every `NODE_FLAGS_QDEVICE_*` bit this core uses. */
const DEVICE_FLAGS =
  NodeFlag.qdeviceRegistered | NodeFlag.qdeviceAlive | NodeFlag.qdeviceCastVote | NodeFlag.qdeviceMasterWins;

/** The `Qdevice` column of a member: its device flags, null without a registered device (`NR`). */
function deviceFlagsOf(flags: number): QdeviceMemberFlags | null {
  if ((flags & NodeFlag.qdeviceRegistered) === 0) return null;
  return {
    alive: (flags & NodeFlag.qdeviceAlive) !== 0,
    castVote: (flags & NodeFlag.qdeviceCastVote) !== 0,
    masterWins: (flags & NodeFlag.qdeviceMasterWins) !== 0,
  };
}
