// CPG — closed process groups over Totem's agreed order (reference §5; corosync exec/cpg.c).
//
// A pure state machine: `step(event, now) → actions`. Every node runs one instance fed with the same Totem
// stream (agreed order + configuration changes), so group membership changes happen at the same point of the
// stream on every node. After every regular configuration a sync phase makes merged partitions agree:
//
// 1. On a regular configuration each node multicasts SYNC{ring id, its local memberships}.
// 2. Until the SYNC of every member of that ring has been delivered, join/leave/procdown messages are ignored
//    (their effect is in the sender's SYNC, which announces what its processes asked for, delivered or not:
//    a JOIN still queued in Totem when the ring changed arrives before its sender's SYNC), data messages are held,
//    and local requests are queued.
// 3. The last SYNC ends the phase: the view becomes the union of the announcements; each node reports the
//    difference to its own processes (members of nodes that were with it before: JOIN/LEAVE; members of other
//    nodes: NODEUP/NODEDOWN), then delivers the held data messages and sends the queued requests. A held message
//    of a sender the new view lacks goes before the change, in the old view if that has its sender, else nowhere.
// A transitional configuration abandons an unfinished sync — its held messages go in the current view, to members
// that have their sender, or nowhere. The old ring's last data messages that follow it are delivered in that view
// too; when the regular configuration arrives the members of nodes that left are removed (NODEDOWN).
// Deviation from corosync: no separate downlist exchange — Totem's transitional configuration already names the
// departed nodes identically on every surviving node.

import { assert, isStrictlyAscending } from '../base/assert.ts';
import { MESSAGE_BYTES_MAX } from '../base/limits.ts';
import {
  type CpgMessage,
  createGroupNameCache,
  decodeCpgMessage,
  encodeCpgMessage,
  isValidGroupName,
  type SyncMember,
} from './codec.ts';
import { fragment, Reassembler } from './fragments.ts';
import { addressesMissingFrom, compareAddresses, GroupView, sameAddress } from './group-view.ts';
import type {
  CpgAction,
  CpgError,
  CpgEvent,
  CpgReason,
  Guarantee,
  MemberChange,
  ProcessAddress,
  RingId,
} from './types.ts';

/**
 * Largest Totem payload one fragment may use when the options set none (a core on its own, and the service engines'
 * default); the daemon's stack sets its own (TOTEM_PAYLOAD_BYTES_MAX in src/daemon/limits.ts).
 */
export const DEFAULT_TOTEM_PAYLOAD_BYTES_MAX = 1024;
/** Smallest usable Totem payload: a 1 MiB message must fit in the fragment count field. */
export const TOTEM_PAYLOAD_BYTES_MIN = 64;
/** Most group memberships of local processes (bounds the SYNC message). */
export const LOCAL_MEMBERSHIPS_MAX = 1024;
/** Most Totem payloads queued while the node is not operational; more requests get CS_ERR_TRY_AGAIN. */
export const PENDING_PAYLOADS_MAX = 4096;
/** Most data messages held during sync phases; beyond it the oldest is dropped with an error log. */
export const HELD_MESSAGES_MAX = 16384;

/** Options of a {@link Cpg} instance. */
export interface CpgOptions {
  localNodeId: number;
  /** Largest payload of one Totem message; CPG fragments bigger messages. */
  totemPayloadBytesMax?: number;
  /**
   * Bytes left zero at the start of every Totem payload CPG multicasts (beyond totemPayloadBytesMax), for the layer
   * below to fill in place: the stack's service id, written there instead of copying each payload behind it.
   */
  payloadHeadroomBytes?: number;
}

interface SyncPhase {
  ringId: RingId;
  awaiting: Set<number>;
  announced: Map<number, SyncMember[]>;
}

/** A Totem payload waiting for the end of the sync phase, with the delivery its message asked for. */
interface PendingFrame {
  payload: Uint8Array;
  guarantee: Guarantee;
}

interface HeldData {
  sender: ProcessAddress;
  group: string;
  payload: Uint8Array;
}

/** The CPG protocol core of one node. */
export class Cpg {
  private readonly localNodeId: number;
  private readonly totemPayloadBytesMax: number;
  private readonly payloadHeadroomBytes: number;
  private readonly view = new GroupView();
  /** Local processes' memberships as they asked for them (what this node announces in SYNC). */
  private readonly intents = new Map<string, Set<number>>();
  private readonly deadPids = new Set<number>();
  private readonly reassembler = new Reassembler();
  /** The last group name decoded (a stream of one group's messages decodes its name once). */
  private readonly groupNames = createGroupNameCache();
  private ringMembers: number[] = [];
  /** Nodes whose members this node knew before the current ring (transitional set, or itself at start). */
  private knownNodes: Set<number>;
  private sync: SyncPhase | undefined;
  private operational = false;
  /** Between a transitional configuration and the next regular one: Totem delivers the old ring's last messages. */
  private inTransitional = false;
  private held: HeldData[] = [];
  private pending: PendingFrame[] = [];

  constructor(options: CpgOptions, _now: number) {
    this.localNodeId = options.localNodeId;
    this.totemPayloadBytesMax = options.totemPayloadBytesMax ?? DEFAULT_TOTEM_PAYLOAD_BYTES_MAX;
    this.payloadHeadroomBytes = options.payloadHeadroomBytes ?? 0;
    if (this.totemPayloadBytesMax < TOTEM_PAYLOAD_BYTES_MIN) {
      throw new RangeError(`CPG: totemPayloadBytesMax must be at least ${TOTEM_PAYLOAD_BYTES_MIN}`);
    }
    this.knownNodes = new Set([options.localNodeId]);
  }

  /** CPG has no timers. */
  nextDeadline(): number {
    return Number.POSITIVE_INFINITY;
  }

  /** True once the sync phase of the current ring has finished. */
  isOperational(): boolean {
    return this.operational;
  }

  /** Current members of `group` as this node sees them (cpg_membership_get). */
  members(group: string): ProcessAddress[] {
    return this.view.members(group);
  }

  /** Names of every group with members (corosync-cpgtool). */
  groups(): string[] {
    return this.view.groupNames();
  }

  /** Feeds one event; returns the resulting actions, in a new array the caller owns (the core keeps none). */
  step(event: CpgEvent, _now: number): CpgAction[] {
    switch (event.type) {
      case 'tick':
        return [];
      case 'transitionalEnd':
        return this.endTransitional();
      case 'localJoin':
        return this.localJoin(event.group, event.pid);
      case 'localLeave':
        return this.localLeave(event.group, event.pid);
      case 'localMulticast':
        return this.localMulticast(event.group, event.pid, event.payload, event.guarantee ?? 'agreed');
      case 'processDown':
        return this.processDown(event.pid);
      case 'totemDeliver':
        return this.totemDeliver(event.sender, event.payload);
      case 'totemConfigChange':
        return event.kind === 'transitional' ? this.transitional(event.members) : this.regular(event);
    }
  }

  private localJoin(group: string, pid: number): CpgAction[] {
    if (!isValidGroupName(group)) return [failed('join', group, pid, 'CS_ERR_INVALID_PARAM')];
    if (this.intents.get(group)?.has(pid)) return [failed('join', group, pid, 'CS_ERR_EXIST')];
    if (this.membershipCount() >= LOCAL_MEMBERSHIPS_MAX) return [failed('join', group, pid, 'CS_ERR_TRY_AGAIN')];
    const frames = this.frames({ type: 'join', group, pid });
    if (!this.canSend(frames)) return [failed('join', group, pid, 'CS_ERR_TRY_AGAIN')];
    const pids = this.intents.get(group) ?? new Set<number>();
    pids.add(pid);
    this.intents.set(group, pids);
    this.deadPids.delete(pid);
    return this.send(frames);
  }

  private localLeave(group: string, pid: number): CpgAction[] {
    if (!this.intents.get(group)?.has(pid)) return [failed('leave', group, pid, 'CS_ERR_NOT_EXIST')];
    const frames = this.frames({ type: 'leave', group, pid });
    if (!this.canSend(frames)) return [failed('leave', group, pid, 'CS_ERR_TRY_AGAIN')];
    this.dropIntent(group, pid);
    return this.send(frames);
  }

  private localMulticast(group: string, pid: number, payload: Uint8Array, guarantee: Guarantee): CpgAction[] {
    if (!this.intents.get(group)?.has(pid)) return [failed('multicast', group, pid, 'CS_ERR_NOT_EXIST')];
    if (payload.length > MESSAGE_BYTES_MAX) return [failed('multicast', group, pid, 'CS_ERR_TOO_BIG')];
    const frames = this.frames({ type: 'data', group, pid, payload });
    if (!this.canSend(frames)) return [failed('multicast', group, pid, 'CS_ERR_TRY_AGAIN')];
    return this.send(frames, guarantee);
  }

  /** A local process exited without leaving: it leaves every group with reason PROCDOWN. */
  private processDown(pid: number): CpgAction[] {
    this.deadPids.add(pid);
    const actions: CpgAction[] = [];
    for (const [group, pids] of [...this.intents]) {
      if (!pids.has(pid)) continue;
      this.dropIntent(group, pid);
      actions.push(...this.send(this.frames({ type: 'procdown', group, pid })));
    }
    return actions;
  }

  private totemDeliver(sender: number, payload: Uint8Array): CpgAction[] {
    const result = this.reassembler.add(sender, payload);
    if (result.kind === 'partial') return [];
    if (result.kind === 'malformed') return [log('warning', `dropped message from node ${sender}: ${result.reason}`)];
    const message = decodeCpgMessage(result.message, this.groupNames);
    if (!message) return [log('warning', `dropped malformed message from node ${sender}`)];
    return this.apply(sender, message);
  }

  private apply(sender: number, message: CpgMessage): CpgAction[] {
    if (message.type === 'sync') return this.syncReceived(sender, message.ringId, message.members);
    const from = { nodeId: sender, pid: message.pid };
    if (message.type === 'data') {
      // Old-ring messages of the transitional configuration go in the view of that configuration (EVS): held, they
      // came after the next sync at the nodes that had them, a view the nodes that did not also installed (seed
      // 1292: node 4 delivered 4:1/2–6 after the view [2:1,4:1,5:1], node 2 never).
      if (this.operational || this.inTransitional) return this.deliverData(from, message.group, message.payload);
      return this.hold({ sender: from, group: message.group, payload: message.payload });
    }
    if (!this.operational) return []; // the sender's SYNC carries the effect of this request
    if (message.type === 'join') return this.memberJoined(message.group, from, 'CPG_REASON_JOIN');
    return this.memberLeft(message.group, from, message.type === 'leave' ? 'CPG_REASON_LEAVE' : 'CPG_REASON_PROCDOWN');
  }

  private transitional(members: number[]): CpgAction[] {
    // The sync this abandons never built a view for the messages held through it: they go in the view they were
    // multicast under, before the departed nodes' members leave it (Totem delivered them before this change).
    // Carried into the next view, they would reach members that never had their sender in a view.
    const actions = this.deliverHeld(this.takeHeld());
    this.sync = undefined;
    this.operational = false;
    this.knownNodes = new Set(members);
    this.reassembler.forgetAll();
    this.inTransitional = true;
    return actions;
  }

  /**
   * The old ring's last data messages (between the transitional configuration and the regular one) go in the old
   * view, departed nodes' members included: a member of the old ring may have delivered them there already in that
   * ring, then moved on (seed 5791: node 4 delivered 4:1/2, 4:1/3 and 4:1's LEAVE at 847.0 ms in ring {1,2,3,4};
   * nodes 1 and 2 got them only in the transitional configuration {1,2,3} at 1007.4 ms and, having removed 4:1 on
   * that configuration, dropped them, then showed 4:1 leave without them). Only when the regular configuration
   * arrives do the departed nodes' members leave (NODEDOWN). Join/leave messages of the window are not applied: the
   * NODEDOWN and the next SYNCs carry their effect, and a member cut off with a hole in the old ring's stream may have
   * applied the same leave without the messages before it (seed 199).
   */
  private endTransitional(): CpgAction[] {
    if (!this.inTransitional) return [];
    this.inTransitional = false;
    const actions: CpgAction[] = [];
    for (const group of this.view.groupNames()) {
      const gone = this.view.members(group).filter((member) => !this.knownNodes.has(member.nodeId));
      if (gone.length === 0) continue;
      for (const member of gone) this.view.remove(group, member);
      const left = gone.map((member) => change(member, 'CPG_REASON_NODEDOWN'));
      actions.push(...this.confchg(group, this.view.members(group), left, []));
    }
    return actions;
  }

  private deliverHeld(held: readonly HeldData[]): CpgAction[] {
    return held.flatMap((data) => this.deliverData(data.sender, data.group, data.payload));
  }

  private takeHeld(): HeldData[] {
    const held = this.held;
    this.held = [];
    return held;
  }

  private regular(event: { members: number[]; ringId: RingId }): CpgAction[] {
    assert(isStrictlyAscending(event.members), "CPG: a ring's member list is ascending and unique");
    assert(event.members.includes(this.localNodeId), 'CPG: a regular configuration holds this node');
    const actions = this.endTransitional();
    this.ringMembers = [...event.members];
    this.operational = false;
    this.sync = { ringId: event.ringId, awaiting: new Set(event.members), announced: new Map() };
    const members: SyncMember[] = [];
    for (const [group, pids] of this.intents) for (const pid of pids) members.push({ group, pid });
    const frames = this.frames({ type: 'sync', ringId: event.ringId, members });
    return [
      ...actions,
      log('debug', `sync started for ring ${event.ringId.rep}.${event.ringId.seq.toString(16)}`),
      ...frames.map((payload): CpgAction => ({ type: 'totemMulticast', payload, guarantee: 'agreed' })),
    ];
  }

  private syncReceived(sender: number, ringId: RingId, members: SyncMember[]): CpgAction[] {
    const sync = this.sync;
    if (!sync || sync.ringId.rep !== ringId.rep || sync.ringId.seq !== ringId.seq || !sync.awaiting.has(sender)) {
      return []; // a SYNC of an earlier ring, still queued in Totem when the ring changed
    }
    sync.awaiting.delete(sender);
    sync.announced.set(sender, members);
    return sync.awaiting.size === 0 ? this.completeSync(sync) : [];
  }

  private completeSync(sync: SyncPhase): CpgAction[] {
    const next = new GroupView();
    for (const [nodeId, members] of sync.announced)
      for (const { group, pid } of members) next.add(group, { nodeId, pid });
    // Held messages of a sender the new view lacks (it left during the sync) come before the change, in the view
    // that had it; the others after it, in the view every member that delivers them installs.
    const held = this.takeHeld();
    const actions = this.deliverHeld(held.filter((data) => !next.has(data.group, data.sender)));
    for (const group of new Set([...this.view.groupNames(), ...next.groupNames()])) {
      const before = this.view.members(group);
      const after = next.members(group);
      const left = addressesMissingFrom(before, after).map((member) => change(member, this.leaveReason(member)));
      const joined = addressesMissingFrom(after, before).map((member) =>
        change(member, this.knownNodes.has(member.nodeId) ? 'CPG_REASON_JOIN' : 'CPG_REASON_NODEUP'),
      );
      for (const member of left) this.view.remove(group, member);
      for (const member of joined) this.view.add(group, member);
      assert(sameMembers(this.view.members(group), after), 'CPG: after sync the view is the union of the SYNCs');
      if (left.length > 0 || joined.length > 0) actions.push(...this.confchg(group, after, left, joined));
    }
    assert(sync.awaiting.size === 0, "CPG: a sync completes only when every member's SYNC arrived");
    this.sync = undefined;
    this.operational = true;
    for (const pid of this.deadPids) if (!this.isLocalMemberAnywhere(pid)) this.deadPids.delete(pid);
    actions.push(...this.deliverHeld(held.filter((data) => next.has(data.group, data.sender))));
    const pending = this.pending;
    this.pending = [];
    actions.push(...pending.map((frame): CpgAction => ({ type: 'totemMulticast', ...frame })));
    actions.push(log('debug', `sync complete: ${this.view.groupNames().length} groups`));
    return actions;
  }

  private leaveReason(member: ProcessAddress): CpgReason {
    if (!this.ringMembers.includes(member.nodeId)) return 'CPG_REASON_NODEDOWN';
    const procDown = member.nodeId === this.localNodeId && this.deadPids.has(member.pid);
    return procDown ? 'CPG_REASON_PROCDOWN' : 'CPG_REASON_LEAVE';
  }

  private memberJoined(group: string, member: ProcessAddress, reason: CpgReason): CpgAction[] {
    if (this.view.has(group, member)) return [];
    this.view.add(group, member);
    return this.confchg(group, this.view.members(group), [], [change(member, reason)]);
  }

  private memberLeft(group: string, member: ProcessAddress, reason: CpgReason): CpgAction[] {
    if (!this.view.has(group, member)) return [];
    this.view.remove(group, member);
    return this.confchg(group, this.view.members(group), [change(member, reason)], []);
  }

  /**
   * Tells every local process concerned: the members after the change plus local processes that just left
   * (a process is only out of the group once it has seen the confchg showing it leave), minus dead processes.
   */
  private confchg(group: string, members: ProcessAddress[], left: MemberChange[], joined: MemberChange[]): CpgAction[] {
    assert(isStrictlyOrdered(members), 'CPG: a member list is sorted by node id and pid, without duplicates');
    assert(
      !left.some((member) => members.some((m) => sameAddress(m, member))),
      'CPG: a process that left is not a member',
    );
    assert(
      joined.every((member) => members.some((m) => sameAddress(m, member))),
      'CPG: a process that joined is a member',
    );
    const local = [...members, ...left].filter((member) => member.nodeId === this.localNodeId);
    const recipients = [...new Set(local.map((member) => member.pid))].filter((pid) => !this.deadPids.has(pid));
    return recipients.map((pid) => ({
      type: 'cpgConfchg',
      group,
      pid,
      members: members.map(({ nodeId, pid: memberPid }) => ({ nodeId, pid: memberPid })),
      left: [...left].sort(compareAddresses),
      joined: [...joined].sort(compareAddresses),
    }));
  }

  /**
   * Hands a message to the local members of its group, if its sender is a member in the current view; else drops
   * it, as corosync's cpg drops a message from a sender it does not know ("Unknown node"). Every node has the same
   * view at this point of the stream, so all drop it: a process that left within a sync (its node's SYNC without
   * it) may still have messages queued behind that SYNC; delivered, they would reach a view without their sender.
   */
  private deliverData(sender: ProcessAddress, group: string, payload: Uint8Array): CpgAction[] {
    if (!this.view.has(group, sender)) return [];
    // A loop, not filter/map chains: this runs for every delivered message. The list starts as a one-element
    // literal (the common case: one local member), not as [] that the first push grows to V8's default capacity.
    let actions: CpgAction[] | undefined;
    for (const member of this.view.sortedMembers(group)) {
      if (member.nodeId !== this.localNodeId || this.deadPids.has(member.pid)) continue;
      const action: CpgAction = { type: 'cpgDeliver', group, pid: member.pid, sender, payload };
      if (actions === undefined) actions = [action];
      else actions.push(action);
    }
    return actions ?? [];
  }

  private hold(data: HeldData): CpgAction[] {
    this.held.push(data);
    if (this.held.length <= HELD_MESSAGES_MAX) return [];
    const dropped = this.held.shift()!;
    assert(this.held.length === HELD_MESSAGES_MAX, 'CPG: the held queue never exceeds its bound');
    return [log('error', `held message queue full, dropped a message of group ${dropped.group}`)];
  }

  private frames(message: CpgMessage): Uint8Array[] {
    return fragment(encodeCpgMessage(message), this.totemPayloadBytesMax, this.payloadHeadroomBytes);
  }

  private canSend(frames: Uint8Array[]): boolean {
    return this.operational || this.pending.length + frames.length <= PENDING_PAYLOADS_MAX;
  }

  /** Multicasts now when operational, else queues until the sync phase ends (callers check {@link canSend}). */
  private send(frames: Uint8Array[], guarantee: Guarantee = 'agreed'): CpgAction[] {
    if (this.operational) return frames.map((payload) => ({ type: 'totemMulticast', payload, guarantee }));
    this.pending.push(...frames.map((payload) => ({ payload, guarantee })));
    return [];
  }

  private dropIntent(group: string, pid: number): void {
    const pids = this.intents.get(group);
    pids?.delete(pid);
    if (pids?.size === 0) this.intents.delete(group);
  }

  private membershipCount(): number {
    let count = 0;
    for (const pids of this.intents.values()) count += pids.size;
    return count;
  }

  private isLocalMemberAnywhere(pid: number): boolean {
    return this.view.groupNames().some((group) => this.view.has(group, { nodeId: this.localNodeId, pid }));
  }
}

/** True when `list` is sorted by {@link compareAddresses} with no address twice. */
function isStrictlyOrdered(list: readonly ProcessAddress[]): boolean {
  for (let i = 1; i < list.length; i++) if (compareAddresses(list[i - 1]!, list[i]!) >= 0) return false;
  return true;
}

/** True when both lists name the same processes in the same order. */
function sameMembers(a: readonly ProcessAddress[], b: readonly ProcessAddress[]): boolean {
  return a.length === b.length && a.every((member, i) => sameAddress(member, b[i]!));
}

function change(member: ProcessAddress, reason: CpgReason): MemberChange {
  return { nodeId: member.nodeId, pid: member.pid, reason };
}

function failed(request: 'join' | 'leave' | 'multicast', group: string, pid: number, error: CpgError): CpgAction {
  return { type: 'cpgRequestFailed', request, group, pid, error };
}

function log(level: 'debug' | 'warning' | 'error', message: string): CpgAction {
  return { type: 'log', level, subsystem: 'CPG', message };
}
