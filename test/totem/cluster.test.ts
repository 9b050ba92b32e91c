import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkTraces, type NodeTrace, type Violation } from '../../src/sim/checkers.ts';
import { SimCluster, type SimClusterOptions, TRANSPORT_SETTLED_MS } from '../../src/sim/cluster.ts';
import { checkerTraces } from '../../src/sim/fuzz-run.ts';
import type { Guarantee } from '../../src/totem/types.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A cluster plus the bookkeeping the EVS checkers need (message ids and what each incarnation submitted). */
class Bench {
  readonly cluster: SimCluster;
  private readonly submitted = new Map<string, NodeTrace['submitted']>();
  private counter = 0;

  constructor(options: SimClusterOptions) {
    this.cluster = new SimCluster(options);
  }

  send(node: number, guarantee: Guarantee = 'agreed'): string | undefined {
    const incarnation = this.cluster.traces().filter((t) => t.node === node).length - 1;
    const msgId = `${node}#${incarnation}:${this.counter++}`;
    if (!this.cluster.multicast(node, encoder.encode(msgId), guarantee)) return undefined;
    const key = `${node}#${incarnation}`;
    this.submitted.set(key, [...(this.submitted.get(key) ?? []), { msgId, guarantee }]);
    return msgId;
  }

  /** Every node in `nodes` multicasts `count` messages, one every `everyMs`, while the clock runs. */
  traffic(nodes: number[], count: number, everyMs: number): void {
    for (let i = 0; i < count; i++) {
      for (const node of nodes) if (this.cluster.isUp(node)) this.send(node, i % 4 === 3 ? 'safe' : 'agreed');
      this.cluster.runFor(everyMs);
    }
  }

  traces(): NodeTrace[] {
    return checkerTraces(this.cluster.traces(), this.submitted);
  }

  violations(quiescent = true): Violation[] {
    return checkTraces(this.traces(), { quiescent });
  }

  delivered(node: number): string[] {
    return this.cluster
      .node(node)
      .trace.entries.filter((e) => e.kind === 'deliver')
      .map((e) => decoder.decode((e as { payload: Uint8Array }).payload));
  }

  configCount(node: number): number {
    return this.cluster.node(node).trace.entries.filter((e) => e.kind === 'config').length;
  }

  /** Runs until `nodes` form one ring; returns the virtual ms it took. */
  converge(nodes: number[], limitMs: number): number {
    const start = this.cluster.scheduler.now();
    assert.ok(
      this.cluster.runUntil(() => this.cluster.converged(nodes), limitMs),
      `no ring of ${nodes} within ${limitMs} ms`,
    );
    return this.cluster.scheduler.now() - start;
  }

  totemLogs(node: number): string[] {
    return this.cluster
      .node(node)
      .logs.filter((l) => l.subsystem === 'TOTEM')
      .map((l) => l.message);
  }
}

function assertClean(bench: Bench, quiescent = true): void {
  const violations = bench.violations(quiescent);
  assert.deepEqual(violations, [], violations.map((v) => `${v.invariant}: ${v.detail}`).join('\n'));
}

describe('Totem over the simulated transport: formation and order', () => {
  for (const size of [3, 5]) {
    test(`${size} nodes form one membership`, () => {
      const nodes = Array.from({ length: size }, (_, i) => i + 1);
      const bench = new Bench({ seed: size, nodes });
      const took = bench.converge(nodes, 5000);
      assert.ok(took < 1000, `took ${took} ms`);
      for (const node of nodes) {
        const configs = bench.cluster.node(node).trace.entries.filter((e) => e.kind === 'config');
        assert.deepEqual(configs[0], {
          kind: 'config',
          type: 'regular',
          members: [node],
          ringId: { rep: node, seq: 4 },
        });
        assert.deepEqual(configs.at(-1)!.members, nodes);
      }
      assertClean(bench);
    });
  }

  test('many messages from several senders: one total order on every node, checkers clean', () => {
    const nodes = [1, 2, 3, 4, 5];
    const bench = new Bench({ seed: 11, nodes });
    bench.converge(nodes, 5000);
    bench.traffic(nodes, 200, 1);
    bench.cluster.runFor(500);
    const order = bench.delivered(1).filter((id) => !id.startsWith('x'));
    assert.equal(order.length, 1000);
    for (const node of nodes) assert.deepEqual(bench.delivered(node), order);
    assertClean(bench);
  });
});

describe('Totem over the simulated transport: failures', () => {
  test('crash: transport hostDown gets the node out of the membership in well under 2 s', () => {
    const nodes = [1, 2, 3];
    const bench = new Bench({ seed: 21, nodes });
    bench.converge(nodes, 5000);
    bench.cluster.runFor(TRANSPORT_SETTLED_MS);
    bench.cluster.crash(3);
    const took = bench.converge([1, 2], 10_000);
    assert.ok(took < 1000, `took ${took} ms (corosync: token + consensus ≈ 8 s)`);
    assert.ok(bench.totemLogs(1).includes('Failed to receive the leave message. failed: 3'));
    bench.traffic([1, 2], 20, 5);
    bench.cluster.runFor(200);
    assertClean(bench);
  });

  test('crash without transport evidence: token loss + consensus, as corosync', () => {
    const nodes = [1, 2, 3];
    const bench = new Bench({ seed: 22, nodes, transport: { pingTimeoutMs: 120_000 } });
    bench.converge(nodes, 5000);
    bench.cluster.runFor(1000);
    bench.cluster.crash(3);
    const { tokenMs, consensusMs } = bench.cluster.totem;
    const took = bench.converge([1, 2], tokenMs + consensusMs + 1000);
    assert.ok(took >= tokenMs && took <= tokenMs + consensusMs + 500, `took ${took} ms`);
    const logs = [...bench.totemLogs(1), ...bench.totemLogs(2)];
    assert.ok(
      logs.some((l) => l.startsWith('A processor failed, forming new configuration: token timed out (3650ms)')),
    );
    assertClean(bench);
  });

  test('a clean leave reforms at once and reports a leave, not a failure', () => {
    const nodes = [1, 2, 3];
    const bench = new Bench({ seed: 23, nodes, transport: { pingTimeoutMs: 120_000 } });
    bench.converge(nodes, 5000);
    bench.cluster.leave(3);
    const took = bench.converge([1, 2], 5000);
    assert.ok(took < 100, `took ${took} ms`);
    assert.ok(bench.totemLogs(1).some((l) => /A new membership \(1\.[0-9a-f]+\) was formed\. Members left: 3/.test(l)));
    assert.ok(!bench.totemLogs(1).some((l) => l.startsWith('Failed to receive the leave message')));
    assertClean(bench);
  });

  test('restart of a node that lost its state: rejoins within 1.5 s, ring ids keep increasing', () => {
    const nodes = [1, 2, 3];
    const bench = new Bench({ seed: 24, nodes });
    bench.converge(nodes, 5000);
    bench.cluster.runFor(TRANSPORT_SETTLED_MS);
    bench.traffic(nodes, 20, 2);
    bench.cluster.crash(2);
    bench.converge([1, 3], 5000);
    bench.traffic([1, 3], 20, 2);
    bench.cluster.restart(2);
    const took = bench.converge(nodes, 5000);
    assert.ok(took <= 1500, `took ${took} ms`);
    bench.traffic(nodes, 20, 2);
    bench.cluster.runFor(200);
    assertClean(bench);
  });
});

describe('Totem over the simulated transport: partitions and links', () => {
  for (const [size, groups] of [
    [3, [[1, 2], [3]]],
    [
      5,
      [
        [1, 2, 3],
        [4, 5],
      ],
    ],
  ] as const) {
    test(`${groups.map((g) => g.length).join('|')} partition with traffic, then merge back`, () => {
      const nodes = Array.from({ length: size }, (_, i) => i + 1);
      const bench = new Bench({ seed: 30 + size, nodes });
      bench.converge(nodes, 5000);
      bench.cluster.runFor(TRANSPORT_SETTLED_MS);
      bench.traffic(nodes, 10, 2);
      bench.cluster.network.partition(groups.map((g) => [...g]));
      bench.traffic(nodes, 10, 2);
      for (const group of groups) bench.converge([...group], 5000);
      bench.traffic(nodes, 20, 5);
      bench.cluster.network.heal();
      const took = bench.converge(nodes, 10_000);
      assert.ok(took <= 1500, `merge took ${took} ms`);
      bench.traffic(nodes, 20, 2);
      bench.cluster.runFor(500);
      assertClean(bench);
    });
  }

  test('30 % loss on one link: no membership change, everything delivered in order', () => {
    const nodes = [1, 2, 3];
    const bench = new Bench({ seed: 41, nodes });
    bench.converge(nodes, 5000);
    bench.cluster.runFor(TRANSPORT_SETTLED_MS);
    const configs = nodes.map((node) => bench.configCount(node));
    bench.cluster.network.setConditions(0, { lossPct: 30 });
    bench.traffic(nodes, 300, 10);
    bench.cluster.runFor(1000);
    assert.deepEqual(
      nodes.map((node) => bench.configCount(node)),
      configs,
    );
    for (const node of nodes) assert.equal(bench.delivered(node).length, 900);
    assertClean(bench);
  });

  test('a single link cut causes no configuration change at all', () => {
    const nodes = [1, 2, 3];
    const bench = new Bench({ seed: 42, nodes });
    bench.converge(nodes, 5000);
    bench.cluster.runFor(TRANSPORT_SETTLED_MS);
    const configs = nodes.map((node) => bench.configCount(node));
    bench.traffic(nodes, 50, 10);
    bench.cluster.network.cut(2, 0);
    bench.traffic(nodes, 500, 10);
    bench.cluster.network.restore(2, 0);
    bench.cluster.network.cutSwitch(1);
    bench.traffic(nodes, 300, 10);
    bench.cluster.runFor(1000);
    assert.deepEqual(
      nodes.map((node) => bench.configCount(node)),
      configs,
    );
    for (const node of nodes) assert.equal(bench.delivered(node).length, 2550);
    assertClean(bench);
  });
});
