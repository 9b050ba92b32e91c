// CPG on the real stack: one Cpg core per node incarnation on top of SimCluster's Totem, fed with what Totem
// delivers (polled from the traces every few virtual ms), through partitions, merges, a crash and a restart.
// After healing, every node must show the same group views — exactly the memberships that live processes asked
// for — and any two processes must have received their common messages in the same order.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cpg, type CpgAction, type CpgEvent } from '../../src/cpg/index.ts';
import { SimCluster } from '../../src/sim/cluster.ts';
import type { ClusterTrace } from '../../src/sim/fuzz-run.ts';
import { FUZZ_TOTEM_TIMINGS, FUZZ_TRANSPORT_TIMINGS } from '../../src/sim/fuzz-target.ts';
import { Rng } from '../../src/sim/rng.ts';

const POLL_MS = 5;
const NODES = [1, 2, 3, 4];
const GROUPS = ['a', 'b'];
const PIDS = [1, 2, 3];

interface Incarnation {
  cpg: Cpg;
  fed: number;
  outbox: Uint8Array[];
  received: CpgAction[];
}

/** Drives one Cpg per incarnation from the cluster's traces and sends its multicasts through Totem. */
class CpgOnCluster {
  private readonly incarnations = new Map<ClusterTrace, Incarnation>();

  constructor(readonly cluster: SimCluster) {}

  local(node: number, event: CpgEvent): CpgAction[] {
    const trace = this.current(node);
    const actions = this.incarnation(trace).cpg.step(event, this.cluster.scheduler.now());
    this.handle(trace, actions);
    return actions;
  }

  run(ms: number): void {
    const end = this.cluster.scheduler.now() + ms;
    while (this.cluster.scheduler.now() < end) {
      this.cluster.runFor(POLL_MS);
      this.pump();
    }
  }

  /** Live incarnations by node. */
  live(): Map<number, Incarnation> {
    const out = new Map<number, Incarnation>();
    for (const trace of this.cluster.traces())
      if (trace.ended === 'alive') out.set(trace.node, this.incarnation(trace));
    return out;
  }

  private current(node: number): ClusterTrace {
    return this.cluster.traces().findLast((trace) => trace.node === node && trace.ended === 'alive')!;
  }

  private incarnation(trace: ClusterTrace): Incarnation {
    let state = this.incarnations.get(trace);
    if (!state) {
      state = { cpg: new Cpg({ localNodeId: trace.node }, 0), fed: 0, outbox: [], received: [] };
      this.incarnations.set(trace, state);
    }
    return state;
  }

  private pump(): void {
    for (const trace of this.cluster.traces()) {
      if (trace.ended !== 'alive') continue;
      const state = this.incarnation(trace);
      while (state.fed < trace.entries.length) {
        const entry = trace.entries[state.fed++]!;
        const event: CpgEvent =
          entry.kind === 'deliver'
            ? { type: 'totemDeliver', sender: entry.sender, payload: entry.payload }
            : {
                type: 'totemConfigChange',
                kind: entry.type,
                members: entry.members,
                left: [],
                joined: [],
                ringId: entry.ringId,
              };
        this.handle(trace, state.cpg.step(event, this.cluster.scheduler.now()));
      }
      while (state.outbox.length > 0 && this.cluster.multicast(trace.node, state.outbox[0]!, 'agreed'))
        state.outbox.shift();
    }
  }

  private handle(trace: ClusterTrace, actions: CpgAction[]): void {
    const state = this.incarnation(trace);
    for (const action of actions) {
      if (action.type === 'totemMulticast') state.outbox.push(action.payload);
      else state.received.push(action);
    }
  }
}

function runScenario(seed: number): void {
  const rng = new Rng(seed);
  const cluster = new SimCluster({
    seed,
    nodes: NODES,
    links: 2,
    totem: FUZZ_TOTEM_TIMINGS,
    transport: FUZZ_TRANSPORT_TIMINGS,
  });
  const cpg = new CpgOnCluster(cluster);
  /** What live processes asked for: `node/pid/group`. */
  const intents = new Set<string>();
  let counter = 0;
  cpg.run(1000);
  const randomOperations = (count: number) => {
    for (let i = 0; i < count; i++) {
      const node = rng.pick(NODES.filter((id) => cluster.isUp(id)));
      const pid = rng.pick(PIDS);
      const group = rng.pick(GROUPS);
      const key = `${node}/${pid}/${group}`;
      const roll = rng.next();
      if (roll < 0.35 && !intents.has(key)) {
        cpg.local(node, { type: 'localJoin', group, pid });
        intents.add(key);
      } else if (roll < 0.5 && intents.has(key)) {
        cpg.local(node, { type: 'localLeave', group, pid });
        intents.delete(key);
      } else if (roll < 0.55) {
        cpg.local(node, { type: 'processDown', pid });
        for (const g of GROUPS) intents.delete(`${node}/${pid}/${g}`);
      } else if (intents.has(key)) {
        cpg.local(node, { type: 'localMulticast', group, pid, payload: new TextEncoder().encode(`m${counter++}`) });
      }
      cpg.run(rng.int(1, 60));
    }
  };
  randomOperations(20);
  cluster.network.partition([
    [1, 2],
    [3, 4],
  ]);
  randomOperations(30);
  cluster.crash(4);
  for (const key of [...intents]) if (key.startsWith('4/')) intents.delete(key);
  randomOperations(20);
  cluster.network.heal();
  randomOperations(20);
  cluster.restart(4);
  randomOperations(20);
  assert.ok(
    cluster.runUntil(() => cluster.converged(NODES), 20_000),
    `seed ${seed}: no convergence`,
  );
  cpg.run(2000);

  const live = cpg.live();
  const expected = GROUPS.map((group) =>
    [...intents]
      .filter((key) => key.endsWith(`/${group}`))
      .map((key) => key.split('/').slice(0, 2).join('/'))
      .sort(),
  );
  for (const [node, state] of live) {
    assert.ok(state.cpg.isOperational(), `seed ${seed}: node ${node} still syncing`);
    const view = GROUPS.map((group) =>
      state.cpg
        .members(group)
        .map((m) => `${m.nodeId}/${m.pid}`)
        .sort(),
    );
    assert.deepEqual(view, expected, `seed ${seed}: node ${node} view`);
  }
  const orders = [...live.values()].flatMap((state) => {
    const byReceiver = new Map<string, string[]>();
    for (const action of state.received) {
      if (action.type !== 'cpgDeliver') continue;
      const key = `${action.group}/${action.pid}`;
      byReceiver.set(key, [...(byReceiver.get(key) ?? []), new TextDecoder().decode(action.payload)]);
    }
    return [...byReceiver.values()];
  });
  assert.ok(expected.flat().length > 0 && orders.some((order) => order.length > 0), `seed ${seed}: nothing exercised`);
  for (const a of orders) {
    for (const b of orders) {
      const common = new Set(a.filter((m) => b.includes(m)));
      assert.deepEqual(
        a.filter((m) => common.has(m)),
        b.filter((m) => common.has(m)),
        `seed ${seed}: order differs`,
      );
    }
  }
}

describe('CPG on the simulated Totem cluster', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    test(`seed ${seed}: views converge to what live processes asked for; one message order`, () => runScenario(seed));
  }
});
