// A cluster of HaCores on an ideal agreed-order bus (no Totem): partitions, quorum by majority, a runner whose
// commands finish when the test lets them. For the managers' unit tests; the simulator runs the real stack.
import { haTimings } from '../../src/config/defaults.ts';
import type { HaEvent, HaOp, HaOpResult } from '../../src/ha/contract.ts';
import { HaCore, type HaCoreAction } from '../../src/ha/core.ts';
import type { AdminRequest, HaMessage, HaTable } from '../../src/ha/messages.ts';

export const TIMINGS = haTimings({ tokenMs: 1000 });

/** A multicast on the bus: delivered to `group`, the sender's configuration when it sent it. */
export interface BusEntry {
  sender: number;
  message: HaMessage;
  group: number[];
}

interface Node {
  id: number;
  core: HaCore;
  up: boolean;
  /** Resources (sids) this node's runner has started and not stopped. */
  running: Set<string>;
  events: HaEvent[];
  admin: Map<number, string | null>;
  /** The manager status tables this node asked to write to the store. */
  persisted: HaTable[];
  shutdownReady: boolean;
}

export class HaHarness {
  now = 0;
  readonly nodes = new Map<number, Node>();
  config = '';
  /** Runs waiting: node, id, op, sid. */
  readonly pending: { node: number; id: string; op: HaOp; sid: string }[] = [];
  /** Every run id asked for, to check none runs twice. */
  readonly runIds: string[] = [];
  /** Start of these sids fails (exit 1). */
  readonly failing = new Set<string>();
  readonly log: string[] = [];
  private partitions: number[][];
  private ringSeq = 4;
  private bus: BusEntry[] = [];
  private nextAdmin = 1;

  /** `config`: resources.cfg from the start; `initialTable`: the manager status every node starts from. */
  constructor(
    readonly ids: number[],
    options: { config?: string; initialTable?: HaTable } = {},
  ) {
    this.config = options.config ?? '';
    for (const id of ids) {
      const core = this.newCore(id, options.initialTable);
      this.nodes.set(id, {
        id,
        core,
        up: true,
        running: new Set(),
        events: [],
        admin: new Map(),
        persisted: [],
        shutdownReady: false,
      });
    }
    this.partitions = [ids];
    for (const id of ids) this.feed(id, { type: 'confchg', kind: 'regular', members: ids, ringSeq: this.ringSeq });
    this.settle();
  }

  /** A new daemon on node `id` (after a clean stop: nothing runs there); it joins at the next `partition`. */
  restart(id: number): void {
    const node = this.nodes.get(id)!;
    node.core = this.newCore(id);
    node.running.clear();
    node.shutdownReady = false;
  }

  private newCore(id: number, initialTable?: HaTable): HaCore {
    return new HaCore({
      localNodeId: id,
      timings: TIMINGS,
      nodelist: this.ids,
      nodeName: (n) => `n${n}`,
      quorate: () => this.quorate(id),
      readConfig: () => this.config,
      ...(initialTable ? { initialTable } : {}),
    });
  }

  quorate(id: number): boolean {
    const group = this.partitions.find((g) => g.includes(id)) ?? [];
    return group.length * 2 > this.ids.length;
  }

  /**
   * Splits the cluster (nodes not named are alone): every node gets a transitional confchg, then `inTransitional`
   * runs (the old ring's messages still delivered: `deliverTo`; quorum is still the old ring's, as votequorum's),
   * then every node gets the regular confchg. What was on the bus is not delivered otherwise.
   */
  partition(groups: number[][], inTransitional?: (old: BusEntry[]) => void): void {
    const named = groups.flat();
    const partitions = [...groups, ...this.ids.filter((id) => !named.includes(id)).map((id) => [id])];
    const old = this.bus;
    this.bus = [];
    this.ringSeq += 4;
    const confchg = (kind: 'transitional' | 'regular') => {
      for (const group of partitions) {
        const members = group.filter((m) => this.nodes.get(m)!.up);
        for (const id of members) this.feed(id, { type: 'confchg', kind, members, ringSeq: this.ringSeq });
      }
    };
    confchg('transitional');
    inTransitional?.(old);
    this.partitions = partitions;
    confchg('regular');
  }

  /** Takes the latest multicast off the bus (a test then delivers it where it wants: `deliverTo`). */
  takeLast(): BusEntry {
    return this.bus.pop()!;
  }

  deliverTo(entry: BusEntry, ids: readonly number[]): void {
    for (const id of ids)
      this.feed(id, { type: 'deliver', sender: entry.sender, message: structuredClone(entry.message) });
  }

  setConfig(text: string): void {
    this.config = text;
    for (const id of this.ids) this.feed(id, { type: 'configChanged' });
  }

  admin(node: number, request: AdminRequest): number {
    const id = this.nextAdmin++;
    this.feed(node, { type: 'admin', id, request });
    return id;
  }

  /** Delivers every queued message and finishes every pending run, until nothing is left. */
  settle(): void {
    for (let rounds = 0; rounds < 1000; rounds++) {
      if (this.bus.length > 0) this.deliverOne();
      else if (this.pending.length > 0) this.finishRun(this.pending.shift()!);
      else return;
    }
    throw new Error('harness: did not settle');
  }

  /** Advances time to `until`, ticking every core at its deadlines and settling in between. */
  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      this.settle();
      let next = until;
      for (const node of this.nodes.values()) if (node.up) next = Math.min(next, node.core.nextDeadline());
      this.now = Math.max(this.now, next);
      for (const node of this.nodes.values()) {
        if (node.up && node.core.nextDeadline() <= this.now) this.feed(node.id, { type: 'tick' });
      }
      this.settle();
      if (this.now >= until) return;
    }
  }

  /** Which nodes run each sid right now (by the runner's view). */
  where(sid: string): number[] {
    return this.ids.filter((id) => this.nodes.get(id)!.running.has(sid));
  }

  feed(id: number, event: Parameters<HaCore['step']>[0]): void {
    const node = this.nodes.get(id)!;
    if (!node.up) return;
    for (const action of node.core.step(event, this.now)) this.act(node, action);
  }

  private act(node: Node, action: HaCoreAction): void {
    switch (action.type) {
      case 'multicast': {
        const group = this.partitions.find((g) => g.includes(node.id))!;
        this.bus.push({ sender: node.id, message: structuredClone(action.message), group });
        break;
      }
      case 'run':
        this.runIds.push(action.id);
        this.pending.push({ node: node.id, id: action.id, op: action.op, sid: action.spec.sid });
        break;
      case 'stopAll':
        // The driver stops every resource after the commands under way: in effect, none of them happened.
        this.log.push(`${node.id} stopAll`);
        node.running.clear();
        for (let i = this.pending.length - 1; i >= 0; i--)
          if (this.pending[i]!.node === node.id) this.pending.splice(i, 1);
        break;
      case 'feed':
        break;
      case 'event':
        node.events.push(action.event);
        break;
      case 'adminDone':
        node.admin.set(action.id, action.error);
        break;
      case 'persist':
        node.persisted.push(action.table);
        break;
      case 'shutdownReady':
        node.shutdownReady = true;
        break;
      case 'log':
        this.log.push(`${node.id} ${action.message}`);
        break;
    }
  }

  private deliverOne(): void {
    const entry = this.bus.shift()!;
    this.deliverTo(entry, entry.group);
  }

  private finishRun(run: { node: number; id: string; op: HaOp; sid: string }): void {
    const node = this.nodes.get(run.node)!;
    let result: HaOpResult = { exitCode: 0, timedOut: false, output: '' };
    if (run.op === 'start' && this.failing.has(run.sid)) result = { exitCode: 1, timedOut: false, output: 'boom' };
    else if (run.op === 'monitor' && !node.running.has(run.sid)) result = { exitCode: 7, timedOut: false, output: '' };
    else if (run.op === 'start') node.running.add(run.sid);
    else if (run.op === 'stop') node.running.delete(run.sid);
    this.log.push(`${run.node} ${run.op} ${run.sid} ${run.id}`);
    this.feed(run.node, { type: 'runResult', id: run.id, result });
  }
}
