/**
 * A simulated cluster running the whole stack on every node (stack-node.ts) plus the clients an application would
 * be: CPG processes joining, leaving, dying and multicasting; writers submitting to the file store's service engine
 * (src/daemon/cfs-engine.ts, registered in the stack as the daemon's cfs-service.ts registers it, over an in-memory
 * SQLite store that survives a crash, like the daemon's file); and an observer of every quorum notification. What
 * the clients see is kept as {@link StackRecords} for the checkers (stack-checkers.ts).
 */
import { CfsStore } from '../cfs/store.ts';
import { DEFAULT_BURST_HOLD_MS, DEFAULT_LINK_MTU } from '../config/defaults.ts';
import { CFS_SERVICE_ID, CfsEngine, type CfsOutput, type CfsRequest } from '../daemon/cfs-engine.ts';
import type { ServiceEngine } from '../daemon/service-engine.ts';
import { ServiceStack, type StackAction, type StackEvent, type StackOptions, stackSizes } from '../daemon/stack.ts';
import type { MembershipState, RingId } from '../totem/types.ts';
import {
  corosyncTotemOptions,
  type SimTotemOptions,
  type SimTransportOptions,
  simTransport,
  simTransportOptions,
} from './cluster.ts';
import { VirtualNetwork } from './network.ts';
import { Rng } from './rng.ts';
import { eventsPerInstantMax, Scheduler } from './scheduler.ts';
import {
  type CfsReplica,
  type CfsWriteRecord,
  type CpgMemberTrace,
  cpgViewId,
  type StackRecords,
} from './stack-checkers.ts';
import { type StackCore, StackSimNode } from './stack-node.ts';
import { ringKey } from './trace.ts';

/** Pids of one incarnation: `incarnation × PIDS_PER_INCARNATION + n`, so a pid is never reused on a node. */
const PIDS_PER_INCARNATION = 1_000_000;
/** The daemon's packer and largest Totem payload, for links of the daemon's default MTU. */
const SIM_STACK_SIZES = stackSizes(DEFAULT_LINK_MTU);

/** Builds a stack for one incarnation: the real ServiceStack by default, a wrapper in the broken-service tests. */
export type StackFactory = (options: StackOptions, now: number) => StackCore;

export interface StackClusterOptions {
  seed: number;
  /** Node ids (the nodelist). */
  nodes: number[];
  links?: number;
  totem?: Partial<SimTotemOptions>;
  transport?: Partial<SimTransportOptions>;
  createStack?: StackFactory;
  /** Engines a node incarnation registers after the stack's own (the HA engine in ha-run.ts). */
  services?: (node: number, incarnation: number, context: ServicesContext) => readonly ServiceEngine[];
  /** A registered engine's `serviceOutput` on a node incarnation. */
  onServiceOutput?: (node: number, incarnation: number, service: number, output: unknown) => void;
}

type ServicesContext = Parameters<NonNullable<StackOptions['services']>>[0];

/** A CPG client process on one node incarnation. */
interface SimProcess {
  pid: number;
  trace: CpgMemberTrace;
  sentCount: number;
  ordinals: Map<string, number>;
}

/** Per incarnation: what its clients know and hold. */
interface NodeRuntime {
  host: StackSimNode;
  quorate: boolean;
  /** The latest regular configuration. */
  regular: { ring: string; members: number[] } | null;
  /** The store's engine in this incarnation's stack (undefined when a test's stack factory built none). */
  cfs: CfsEngine | undefined;
  writes: Map<number, CfsWriteRecord>;
  nextReq: number;
  processes: Map<number, SimProcess>;
  nextPid: number;
  /** The last refusal of a client request fed outside a step (requests are answered synchronously). */
  refused: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const address = (nodeId: number, pid: number) => `${nodeId}:${pid}`;

export class StackSimCluster {
  readonly scheduler: Scheduler;
  readonly network: VirtualNetwork;
  readonly nodeIds: number[];
  readonly records: StackRecords = { quorum: [], cpg: [], cfsWrites: [], replicas: [] };
  private readonly rng: Rng;
  private readonly links: number;
  private readonly totemOptions: SimTotemOptions;
  private readonly transportOptions: SimTransportOptions;
  private readonly createStack: StackFactory;
  private readonly options: StackClusterOptions;
  private readonly current = new Map<number, NodeRuntime>();
  private readonly incarnations = new Map<number, number>();
  /** Each node's store "on disk": it outlives crashes, as the daemon's SQLite file does. */
  private readonly stores = new Map<number, CfsStore>();
  /** Ring seq each node wrote "to disk" at its last regular configuration (the daemon's ring-seq file). */
  private readonly ringSeqOnDisk = new Map<number, number>();

  constructor(options: StackClusterOptions) {
    this.options = options;
    this.scheduler = new Scheduler(eventsPerInstantMax(options.nodes.length));
    this.nodeIds = [...options.nodes].sort((a, b) => a - b);
    this.links = options.links ?? 2;
    this.rng = new Rng(options.seed);
    this.network = new VirtualNetwork(this.scheduler, this.rng.fork(), { links: this.links });
    this.totemOptions = { ...corosyncTotemOptions(this.nodeIds.length), ...options.totem };
    this.transportOptions = simTransportOptions(options.transport);
    this.createStack = options.createStack ?? ((stackOptions, now) => new ServiceStack(stackOptions, now));
    for (const node of this.nodeIds) this.stores.set(node, new CfsStore(':memory:'));
    for (const node of this.nodeIds) this.start(node);
  }

  /** How long everything must stay unchanged to be called stable: a consensus round plus a link timeout. */
  get stableMs(): number {
    return this.totemOptions.consensusMs + this.transportOptions.pingTimeoutMs;
  }

  isUp(node: number): boolean {
    return this.current.has(node);
  }

  /** Stops the node: its processes die with it, its store survives. */
  crash(node: number): void {
    const runtime = this.current.get(node);
    if (!runtime) return;
    runtime.host.stop();
    for (const process of runtime.processes.values()) process.trace.ended = 'gone';
    this.current.delete(node);
    this.recordQuorum(node, runtime, null);
  }

  /** Starts a stopped node again: fresh cores, the same store. */
  restart(node: number): void {
    if (!this.current.has(node)) this.start(node);
  }

  setTimerLateness(node: number, lateMs: number): void {
    this.current.get(node)?.host.setTimerLateness(lateMs);
  }

  /** Closes every store (the cluster is done). */
  close(): void {
    for (const store of this.stores.values()) store.close();
  }

  // --- clients --------------------------------------------------------------------------------------------------

  /** Pids of the node's processes that are still members (or joining). */
  livePids(node: number): number[] {
    const runtime = this.current.get(node);
    if (!runtime) return [];
    return [...runtime.processes.values()].filter((p) => p.trace.ended === 'alive').map((p) => p.pid);
  }

  /** A new process on `node` joins `group`; returns its pid, or undefined when CPG refused (or the node is down). */
  spawn(node: number, group: string): number | undefined {
    const runtime = this.current.get(node);
    if (!runtime) return undefined;
    const pid = runtime.nextPid++;
    const trace: CpgMemberTrace = { group, node, address: address(node, pid), entries: [], sent: [], ended: 'alive' };
    // Registered first: on a ring of one node the join's confchg comes back within the request.
    runtime.processes.set(pid, { pid, trace, sentCount: 0, ordinals: new Map() });
    if (!this.request(runtime, { type: 'cpgJoin', group, pid })) {
      runtime.processes.delete(pid);
      return undefined;
    }
    this.records.cpg.push(trace);
    return pid;
  }

  /** The process leaves its group (it sees the confchg of its own leave, then nothing). */
  leave(node: number, pid: number): void {
    const runtime = this.current.get(node);
    const process = runtime?.processes.get(pid);
    if (!runtime || !process || process.trace.ended !== 'alive') return;
    if (this.request(runtime, { type: 'cpgLeave', group: process.trace.group, pid })) process.trace.ended = 'gone';
  }

  /** The process dies without leaving. */
  kill(node: number, pid: number): void {
    const runtime = this.current.get(node);
    const process = runtime?.processes.get(pid);
    if (!runtime || !process || process.trace.ended !== 'alive') return;
    process.trace.ended = 'gone';
    runtime.processes.delete(pid);
    runtime.host.feed({ type: 'processDown', pid });
  }

  /** The process multicasts a message with a unique id; returns the id, or undefined when CPG refused it. */
  multicast(node: number, pid: number): string | undefined {
    const runtime = this.current.get(node);
    const process = runtime?.processes.get(pid);
    if (!runtime || !process || process.trace.ended !== 'alive') return undefined;
    const msgId = `${process.trace.address}/${process.sentCount++}`;
    const event: StackEvent = { type: 'cpgMulticast', group: process.trace.group, pid, payload: encoder.encode(msgId) };
    process.trace.sent.push(msgId); // before: it may be delivered within the request
    if (this.request(runtime, event)) return msgId;
    process.trace.sent.pop();
    return undefined;
  }

  /** Submits a write of `data` to `path` at the node's store replica; the record gets its answer later. */
  write(node: number, path: string, data: string): CfsWriteRecord | undefined {
    const runtime = this.current.get(node);
    if (!runtime) return undefined;
    const record: CfsWriteRecord = {
      node,
      incarnation: runtime.host.incarnation,
      path,
      data,
      submittedAt: this.scheduler.now(),
      quorateAtSubmit: runtime.quorate,
    };
    this.records.cfsWrites.push(record);
    const req = runtime.nextReq++;
    runtime.writes.set(req, record);
    // mtime is whole milliseconds (the daemon's Date.now()); the store refuses fractions.
    const mtime = Math.floor(this.scheduler.now());
    const request: CfsRequest = { type: 'put', req, path, data: encoder.encode(data), mtime, quorate: runtime.quorate };
    runtime.host.feed({ type: 'serviceRequest', service: CFS_SERVICE_ID, request });
    return record;
  }

  /** A request to a registered engine of the node (ignored while it is down). */
  serviceRequest(node: number, service: number, request: unknown): void {
    this.current.get(node)?.host.feed({ type: 'serviceRequest', service, request });
  }

  /** The running incarnation of the node, undefined while it is down. */
  incarnation(node: number): number | undefined {
    return this.current.get(node)?.host.incarnation;
  }

  // --- state for the liveness phase -----------------------------------------------------------------------------

  /** Totem's membership state on a live node (undefined when it is down): `operational` between changes. */
  totemState(node: number): MembershipState | undefined {
    return this.current.get(node)?.host.stack.snapshot().totem.state;
  }

  /**
   * What is not yet converged: one regular configuration of every node on one ring, every node quorate, every
   * store replica synchronised with every node, every group's view at every live process = its live processes.
   * Empty when all hold.
   */
  unconverged(): string[] {
    const problems: string[] = [];
    const all = this.nodeIds.join(' ');
    const rings = new Set<string>();
    for (const node of this.nodeIds) {
      const runtime = this.current.get(node);
      if (!runtime) {
        problems.push(`node ${node} is down`);
        continue;
      }
      if (runtime.regular?.members.join(' ') !== all) problems.push(`node ${node} is not in a ring of all nodes`);
      else rings.add(runtime.regular.ring);
      if (!runtime.quorate) problems.push(`node ${node} is not quorate`);
      const cfs = runtime.cfs?.core;
      if (cfs?.phase !== 'synced' || cfs.view.join(' ') !== all) {
        problems.push(`node ${node}'s store is ${cfs?.phase ?? 'missing'} with [${cfs?.view ?? ''}]`);
      }
    }
    if (rings.size > 1) problems.push(`nodes are on ${rings.size} rings`);
    if (problems.length > 0) return problems;
    for (const [group, traces] of this.liveGroups()) {
      const expected = traces.map((t) => t.address).sort();
      for (const trace of traces) {
        const views = trace.entries.filter((e) => e.kind === 'view');
        const members = views[views.length - 1]?.members ?? [];
        if ([...members].sort().join(' ') !== expected.join(' ')) {
          problems.push(`cpg: ${trace.address} sees [${members}] in ${group}, live members are [${expected}]`);
        }
      }
    }
    return problems;
  }

  /** A fingerprint of everything {@link unconverged} looks at: equal fingerprints mean nothing changed. */
  fingerprint(): string {
    const parts: string[] = [];
    for (const [node, runtime] of this.current) {
      const views = [...runtime.processes.values()].map((p) => p.trace.entries.length).join(',');
      parts.push(`${node}:${runtime.regular?.ring}:${runtime.quorate}:${runtime.cfs?.core.phase}:${views}`);
    }
    return parts.join(' ');
  }

  /** Live processes (of running nodes) by group. */
  liveGroups(): Map<string, CpgMemberTrace[]> {
    const groups = new Map<string, CpgMemberTrace[]>();
    for (const runtime of this.current.values()) {
      for (const process of runtime.processes.values()) {
        if (process.trace.ended !== 'alive') continue;
        groups.set(process.trace.group, [...(groups.get(process.trace.group) ?? []), process.trace]);
      }
    }
    return groups;
  }

  /** Applied write sequence of every running node's store. */
  appliedSeqs(): number[] {
    return [...this.current.keys()].map((node) => this.stores.get(node)!.appliedSeq());
  }

  /** Records every running node's store for the end-of-run checks. */
  recordReplicas(): CfsReplica[] {
    this.records.replicas = [...this.current.keys()].map((node) => {
      const store = this.stores.get(node)!;
      return {
        node,
        seq: store.appliedSeq(),
        entries: store
          .entries()
          .map((e) => ({ path: e.path, version: e.version, data: decoder.decode(e.data) }))
          .sort((a, b) => (a.path < b.path ? -1 : 1)),
      };
    });
    return this.records.replicas;
  }

  // --- wiring ---------------------------------------------------------------------------------------------------

  private start(node: number): void {
    const now = this.scheduler.now();
    const incarnation = this.incarnations.get(node) ?? 0;
    this.incarnations.set(node, incarnation + 1);
    const transport = simTransport(node, this.nodeIds, this.links, this.transportOptions, this.rng, now);
    const ringSeq = this.ringSeqOnDisk.get(node);
    let cfs: CfsEngine | undefined;
    const stack = this.createStack(
      {
        totem: {
          burstHoldMs: DEFAULT_BURST_HOLD_MS,
          ...this.totemOptions,
          localNodeId: node,
          nodes: this.nodeIds,
          packer: SIM_STACK_SIZES.packer,
          ...(ringSeq === undefined ? {} : { initialRingSeq: ringSeq }),
        },
        quorum: { localNodeId: node, nodelist: this.nodeIds.map((nodeId) => ({ nodeId, quorumVotes: 1 })) },
        totemPayloadBytesMax: SIM_STACK_SIZES.totemPayloadBytesMax,
        services: (context: ServicesContext) => {
          cfs = new CfsEngine(node, this.stores.get(node)!, context.quorate, context.payloadBytesMax);
          return [cfs, ...(this.options.services?.(node, incarnation, context) ?? [])];
        },
      },
      now,
    );
    const host = new StackSimNode(node, incarnation, transport, stack, this.scheduler, this.network);
    const runtime: NodeRuntime = {
      host,
      quorate: false,
      regular: null,
      cfs,
      writes: new Map(),
      nextReq: 1,
      processes: new Map(),
      nextPid: incarnation * PIDS_PER_INCARNATION + 1,
      refused: false,
    };
    this.current.set(node, runtime);
    this.recordQuorum(node, runtime, { quorate: false, members: [] });
    host.run((action) => this.onAction(runtime, action));
  }

  /** Feeds a client request outside any step; false when the stack refused it. */
  private request(runtime: NodeRuntime, event: StackEvent): boolean {
    runtime.refused = false;
    runtime.host.feed(event);
    return !runtime.refused;
  }

  private onAction(runtime: NodeRuntime, action: Exclude<StackAction, { type: 'transportSend' | 'log' }>): void {
    switch (action.type) {
      case 'membership':
        if (action.kind === 'regular') {
          runtime.regular = { ring: ringKey(action.ringId), members: [...action.members].sort((a, b) => a - b) };
          this.ringSeqOnDisk.set(runtime.host.nodeId, action.ringId.seq);
        }
        break;
      case 'quorum':
        runtime.quorate = action.quorate;
        this.recordQuorum(runtime.host.nodeId, runtime, action);
        break;
      case 'cpgConfchg':
        this.onConfchg(runtime, action);
        break;
      case 'cpgDeliver':
        runtime.processes.get(action.pid)?.trace.entries.push({
          kind: 'deliver',
          msgId: decoder.decode(action.payload),
          sender: address(action.sender.nodeId, action.sender.pid),
        });
        break;
      case 'cpgRequestFailed':
        runtime.refused = true;
        break;
      case 'serviceOutput':
        if (action.service === CFS_SERVICE_ID) this.onCfsOutput(runtime, action.output as CfsOutput);
        else
          this.options.onServiceOutput?.(runtime.host.nodeId, runtime.host.incarnation, action.service, action.output);
        break;
      case 'backpressure':
      case 'quorumRequest':
      case 'configMismatch':
      case 'peerDeliver':
        break;
    }
  }

  private onConfchg(runtime: NodeRuntime, action: Extract<StackAction, { type: 'cpgConfchg' }>): void {
    const process = runtime.processes.get(action.pid);
    if (!process) return;
    const members = action.members.map((m) => address(m.nodeId, m.pid));
    const key = [...members].sort().join(',');
    const ordinal = process.ordinals.get(key) ?? 0;
    process.ordinals.set(key, ordinal + 1);
    process.trace.entries.push({ kind: 'view', view: cpgViewId(members, ordinal), members });
  }

  /**
   * A write's answer, as the daemon's cfs-service.ts settles it (`changed` is for its readers only). The daemon
   * commits at the end of the loop turn, before it answers; the simulator commits at once (no turns here).
   */
  private onCfsOutput(runtime: NodeRuntime, output: CfsOutput): void {
    this.stores.get(runtime.host.nodeId)!.commit();
    if (output.type !== 'done') return;
    const record = runtime.writes.get(output.req);
    runtime.writes.delete(output.req);
    if (record) record.result = output.result.ok ? output.result : { ok: false, code: output.result.code };
  }

  private recordQuorum(
    node: number,
    runtime: NodeRuntime,
    state: { quorate: boolean; members: number[]; ringId?: RingId | null } | null,
  ): void {
    this.records.quorum.push({
      at: this.scheduler.now(),
      node,
      incarnation: runtime.host.incarnation,
      // The simulator never changes expected votes: every node expects one vote per node of the nodelist.
      state: state && { quorate: state.quorate, members: [...state.members], expectedVotes: this.nodeIds.length },
    });
  }
}
