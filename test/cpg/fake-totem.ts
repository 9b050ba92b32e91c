// A minimal stand-in for Totem in CPG unit tests: components of nodes, each delivering every queued multicast to
// all its members in one shared order (what Totem's agreed order guarantees), and configuration changes that
// feed each node a transitional then a regular configuration. Undelivered multicasts stay queued across a
// configuration change, as in Totem's new-message queue.

import { Cpg, type CpgAction, type CpgEvent } from '../../src/cpg/index.ts';

export class FakeTotem {
  readonly nodes = new Map<number, Cpg>();
  /** Everything except totemMulticast, per node, in order. */
  readonly received = new Map<number, CpgAction[]>();
  private readonly outbox = new Map<number, Uint8Array[]>();
  private components: number[][] = [];
  private ringSeq = 0;

  constructor(nodeIds: number[], totemPayloadBytesMax?: number) {
    for (const id of nodeIds) {
      this.nodes.set(id, new Cpg({ localNodeId: id, totemPayloadBytesMax }, 0));
      this.received.set(id, []);
      this.outbox.set(id, []);
    }
  }

  /** Feeds a local event to one node. */
  local(node: number, event: CpgEvent): CpgAction[] {
    return this.collect(node, this.nodes.get(node)!.step(event, 0));
  }

  /** Installs new components (each a list of node ids) as new rings. */
  configure(components: number[][]): void {
    const before = this.components;
    this.components = components;
    for (const members of components) {
      this.ringSeq += 4;
      const ringId = { rep: Math.min(...members), seq: this.ringSeq };
      for (const node of members) {
        const old = before.find((c) => c.includes(node)) ?? [node];
        const trans = old.filter((id) => members.includes(id));
        const left = old.filter((id) => !members.includes(id));
        const joined = members.filter((id) => !trans.includes(id));
        if (before.length > 0) this.config(node, { kind: 'transitional', members: trans, left, joined: [], ringId });
        this.config(node, { kind: 'regular', members, left: [], joined, ringId });
      }
    }
  }

  /** Delivers queued multicasts (round-robin over senders) until every outbox of every component is empty. */
  run(): void {
    for (let progress = true; progress; ) {
      progress = false;
      for (const members of this.components) {
        for (const sender of members) {
          const payload = this.outbox.get(sender)!.shift();
          if (!payload) continue;
          progress = true;
          for (const node of members)
            this.collect(node, this.nodes.get(node)!.step({ type: 'totemDeliver', sender, payload }, 0));
        }
      }
    }
  }

  /** Delivers only the next queued multicast of `sender` to its component (a token visit cut short). */
  deliverNext(sender: number): void {
    const payload = this.outbox.get(sender)!.shift();
    const members = this.components.find((c) => c.includes(sender));
    if (!payload || !members) return;
    for (const node of members)
      this.collect(node, this.nodes.get(node)!.step({ type: 'totemDeliver', sender, payload }, 0));
  }

  /** Crashes a node: its queued multicasts vanish and it leaves the components (call configure next). */
  crash(node: number): void {
    this.outbox.set(node, []);
    this.nodes.set(node, new Cpg({ localNodeId: node }, 0));
    this.received.set(node, []);
    this.components = this.components.map((c) => c.filter((id) => id !== node));
  }

  /** Actions of one type received by a node, then forgotten. */
  take<T extends CpgAction['type']>(node: number, type: T): Extract<CpgAction, { type: T }>[] {
    const all = this.received.get(node)!;
    this.received.set(
      node,
      all.filter((a) => a.type !== type),
    );
    return all.filter((a): a is Extract<CpgAction, { type: T }> => a.type === type);
  }

  private config(node: number, event: Omit<Extract<CpgEvent, { type: 'totemConfigChange' }>, 'type'>): void {
    this.collect(node, this.nodes.get(node)!.step({ type: 'totemConfigChange', ...event }, 0));
  }

  private collect(node: number, actions: CpgAction[]): CpgAction[] {
    for (const action of actions) {
      if (action.type === 'totemMulticast') this.outbox.get(node)!.push(action.payload);
      else this.received.get(node)!.push(action);
    }
    return actions;
  }
}
