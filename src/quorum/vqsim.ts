/**
 * A small votequorum simulator in the spirit of corosync-vqsim (vqsim/, man/corosync-vqsim.8): runs one
 * `QuorumCore` per node on a virtual clock, plays Totem's part (each partition of running nodes is one ring;
 * a membership change gives every member a regular configuration change with a new ring id, then the
 * broadcasts are delivered to all ring members, sender included, in one agreed order) and lets a test
 * start, crash, restart, partition and heal nodes, reload the configuration and advance time. Every step runs
 * to quiescence.
 * Deterministic: no randomness, no real time.
 */
import { QDEVICE_NAME } from '../config/defaults.ts';
import type {
  QdeviceRequest,
  QuorumAction,
  QuorumNodelistEntry,
  QuorumOptions,
  QuorumSnapshot,
  RingId,
} from './types.ts';
import { QuorumCore } from './votequorum.ts';

/** The simulated cluster: its nodelist and the `quorum { }` options every node shares. */
export interface QuorumSimulatorOptions {
  /** `nodelist { }`: node ids and their `quorum_votes`. */
  nodelist: readonly QuorumNodelistEntry[];
  /** Shared options (all but `localNodeId` and `nodelist`). */
  quorum?: Omit<QuorumOptions, 'localNodeId' | 'nodelist'>;
}

/** One action of one node, with the virtual time it happened at. */
export interface QuorumSimulatorRecord {
  at: number;
  nodeId: number;
  action: QuorumAction;
}

/** The ring a running node is in. */
interface SimulatedRing {
  ringId: RingId;
  members: number[];
}

/** A broadcast waiting for agreed-order delivery within the ring it was sent in. */
interface PendingBroadcast {
  from: number;
  ringSeq: number;
  payload: Uint8Array;
}

/** Runs N quorum cores over a simulated Totem; see the file header. */
export class QuorumSimulator {
  /** Every action of every node, in order. */
  readonly history: QuorumSimulatorRecord[] = [];
  private time = 0;
  private ringSeq = 0;
  private readonly cores = new Map<number, QuorumCore>();
  private readonly rings = new Map<number, SimulatedRing>();
  private groups: number[][] | null = null;
  private readonly pending: PendingBroadcast[] = [];
  /** The configuration nodes start with (the last one reloaded). */
  private options: QuorumSimulatorOptions;

  constructor(options: QuorumSimulatorOptions) {
    this.options = options;
  }

  /** Current virtual time in ms. */
  now(): number {
    return this.time;
  }

  /** Starts (or restarts after a crash, with fresh state) the given nodes, all of the nodelist by default. */
  start(...nodeIds: number[]): void {
    const ids = nodeIds.length > 0 ? nodeIds : this.options.nodelist.map((node) => node.nodeId);
    for (const nodeId of ids) {
      if (this.cores.has(nodeId)) throw new Error(`node ${nodeId} is already running`);
      const core = new QuorumCore(
        { ...this.options.quorum, localNodeId: nodeId, nodelist: this.options.nodelist },
        this.time,
      );
      this.cores.set(nodeId, core);
      for (const action of core.configLog) this.history.push({ at: this.time, nodeId, action });
    }
    this.reform();
  }

  /** Stops a node abruptly: its ring-mates see it leave. */
  crash(nodeId: number): void {
    if (!this.cores.delete(nodeId)) throw new Error(`node ${nodeId} is not running`);
    this.rings.delete(nodeId);
    this.reform();
  }

  /** Crashes a node and starts it again with fresh state (its peers see it leave, then join). */
  restart(nodeId: number): void {
    this.crash(nodeId);
    this.start(nodeId);
  }

  /** Splits the network; nodes not named in any group are isolated on their own. */
  partition(groups: readonly (readonly number[])[]): void {
    this.groups = groups.map((group) => [...group]);
    this.reform();
  }

  /** Joins all partitions again. */
  heal(): void {
    this.groups = null;
    this.reform();
  }

  /** Advances virtual time, ticking each core at its deadlines. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let next = Number.POSITIVE_INFINITY;
      for (const core of this.cores.values()) next = Math.min(next, core.nextDeadline());
      if (next > end) break;
      this.time = Math.max(this.time, next);
      for (const [nodeId, core] of this.cores) {
        if (core.nextDeadline() <= this.time) this.apply(nodeId, core.step({ type: 'tick' }, this.time));
      }
      this.settle();
    }
    this.time = end;
  }

  /** `corosync-quorumtool -e votes` on `nodeId`; returns the request's result action. */
  setExpected(nodeId: number, votes: number): QuorumAction | undefined {
    return this.request(nodeId, { type: 'setExpected', votes });
  }

  /** `corosync-quorumtool -v votes -n targetNodeId` on `nodeId`; returns the request's result action. */
  setVotes(nodeId: number, targetNodeId: number, votes: number): QuorumAction | undefined {
    return this.request(nodeId, { type: 'setVotes', nodeId: targetNodeId, votes });
  }

  /** A quorum device request on `nodeId` (the device side of votequorum); returns its `qdeviceResult`. */
  qdevice(nodeId: number, request: QdeviceRequest): QuorumAction | undefined {
    const actions = this.core(nodeId).step(request, this.time);
    this.apply(nodeId, actions);
    this.settle();
    return actions.find((action) => action.type === 'qdeviceResult');
  }

  /** The device `Qdevice` of `nodeId` polls for the node's current ring (or `ringId`), casting its vote or not. */
  pollDevice(nodeId: number, castVote: boolean, ringId?: RingId | null): QuorumAction | undefined {
    const ring = ringId === undefined ? (this.rings.get(nodeId)?.ringId ?? null) : ringId;
    return this.qdevice(nodeId, { type: 'qdevicePoll', name: QDEVICE_NAME, castVote, ringId: ring });
  }

  /**
   * Edits corosync.conf and reloads it (`corosync-cfgtool -R`) on the given running nodes, all by default: each
   * gets a `reconfigure` event, then the broadcasts are delivered. Nodes started from now on use `options` too.
   * Returns each node's `reconfigureResult`, in the order of the node ids.
   */
  reconfigure(options: QuorumSimulatorOptions, ...nodeIds: number[]): (QuorumAction | undefined)[] {
    this.options = options;
    const ids = nodeIds.length > 0 ? nodeIds : this.runningNodes();
    const results = ids.map((nodeId) => {
      const event = {
        type: 'reconfigure',
        options: { ...options.quorum, localNodeId: nodeId, nodelist: options.nodelist },
      } as const;
      const actions = this.core(nodeId).step(event, this.time);
      this.apply(nodeId, actions);
      return actions.find((action) => action.type === 'reconfigureResult');
    });
    this.settle();
    return results;
  }

  /** A running node's status snapshot. */
  snapshot(nodeId: number): QuorumSnapshot {
    return this.core(nodeId).snapshot();
  }

  /** Whether services on a running node were last told it is quorate. */
  isQuorate(nodeId: number): boolean {
    return this.snapshot(nodeId).quorate;
  }

  /** Running nodes that are quorate, ascending. */
  quorateNodes(): number[] {
    return this.runningNodes().filter((nodeId) => this.isQuorate(nodeId));
  }

  /** Running node ids, ascending. */
  runningNodes(): number[] {
    return [...this.cores.keys()].sort((a, b) => a - b);
  }

  /** The current rings (member lists), ordered by their lowest member. */
  currentRings(): number[][] {
    const seen = new Map<number, number[]>();
    for (const ring of this.rings.values()) seen.set(ring.ringId.seq, ring.members);
    return [...seen.values()].sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0));
  }

  /** Log messages of one node, in order. */
  logs(nodeId: number): string[] {
    const messages: string[] = [];
    for (const record of this.history) {
      if (record.nodeId === nodeId && record.action.type === 'log') {
        messages.push(record.action.message);
      }
    }
    return messages;
  }

  private request(nodeId: number, event: Parameters<QuorumCore['step']>[0]): QuorumAction | undefined {
    const actions = this.core(nodeId).step(event, this.time);
    this.apply(nodeId, actions);
    this.settle();
    return actions.find((action) => action.type === 'requestResult');
  }

  /** A running node's core, for direct inspection. */
  core(nodeId: number): QuorumCore {
    const core = this.cores.get(nodeId);
    if (!core) throw new Error(`node ${nodeId} is not running`);
    return core;
  }

  /** Gives every group of running nodes whose membership changed a new ring, like Totem would. */
  private reform(): void {
    const running = this.runningNodes();
    const grouped = new Set(this.groups?.flat() ?? running);
    const groups = (this.groups ?? [running]).map((group) => group.filter((nodeId) => this.cores.has(nodeId)));
    for (const nodeId of running) if (!grouped.has(nodeId)) groups.push([nodeId]);
    for (const group of groups) {
      const members = [...new Set(group)].sort((a, b) => a - b);
      const unchanged = members.every((nodeId) => sameMembers(this.rings.get(nodeId)?.members, members));
      if (members.length === 0 || unchanged) continue;
      this.ringSeq += 1;
      const ring: SimulatedRing = { ringId: { rep: members[0] ?? 0, seq: this.ringSeq }, members };
      for (const nodeId of members) this.rings.set(nodeId, ring);
      for (const nodeId of members) {
        const event = { type: 'configChange', kind: 'regular', members, ringId: ring.ringId } as const;
        this.apply(nodeId, this.core(nodeId).step(event, this.time));
      }
    }
    this.settle();
  }

  /** Delivers pending broadcasts in one agreed order per ring until nothing is left. */
  private settle(): void {
    for (let message = this.pending.shift(); message; message = this.pending.shift()) {
      const ring = this.rings.get(message.from);
      if (!ring || ring.ringId.seq !== message.ringSeq) continue; // its ring is gone: Totem drops it
      for (const nodeId of ring.members) {
        const event = { type: 'receive', from: message.from, payload: message.payload } as const;
        this.apply(nodeId, this.core(nodeId).step(event, this.time));
      }
    }
  }

  private apply(nodeId: number, actions: readonly QuorumAction[]): void {
    for (const action of actions) {
      this.history.push({ at: this.time, nodeId, action });
      const ring = this.rings.get(nodeId);
      if (action.type === 'broadcast' && ring) {
        this.pending.push({ from: nodeId, ringSeq: ring.ringId.seq, payload: action.payload });
      }
    }
  }
}

function sameMembers(a: readonly number[] | undefined, b: readonly number[]): boolean {
  return a !== undefined && a.length === b.length && a.every((nodeId, index) => nodeId === b[index]);
}
