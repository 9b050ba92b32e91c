// Passive link mode, the cable of the link in use pulled on one node: Totem's retransmissions go as control traffic
// (every up link), so messages lost on the dead link are recovered within a token rotation or two, long before the
// transport declares the link down (ping timeout 250 ms). Target (docs/totem.md): stall ≤ 20 ms.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimCluster, TRANSPORT_SETTLED_MS } from '../../src/sim/cluster.ts';

const encoder = new TextEncoder();
const STREAM_EVERY_MS = 1;
/** Longest stall of delivery allowed after the cut (the transport needs ≈ 250 ms to call the link down). */
const STALL_BOUND_MS = 20;

test('passive mode, data link of one node cut: delivery stalls ≤ 20 ms, no configuration change', () => {
  const nodes = [1, 2, 3];
  const cluster = new SimCluster({ seed: 7, nodes, links: 2, transport: { linkMode: 'passive' } });
  assert.ok(cluster.runUntil(() => cluster.converged(nodes), 5000));
  cluster.runFor(TRANSPORT_SETTLED_MS);
  const configs = () => nodes.map((node) => cluster.node(node).trace.entries.filter((e) => e.kind === 'config').length);
  const before = configs();
  const deliveries = (node: number) => cluster.node(node).trace.entries.filter((e) => e.kind === 'deliver').length;

  let sent = 0;
  const lastDeliveryAt = new Map(nodes.map((node) => [node, cluster.scheduler.now()]));
  const lastCount = new Map(nodes.map((node) => [node, deliveries(node)]));
  let longestGap = 0;
  const stream = (ms: number, measure: boolean) => {
    for (let elapsed = 0; elapsed < ms; elapsed += STREAM_EVERY_MS) {
      for (const node of nodes) {
        assert.ok(cluster.multicast(node, encoder.encode(`${node}:${sent}`), 'agreed'));
        sent++;
      }
      cluster.runFor(STREAM_EVERY_MS);
      const now = cluster.scheduler.now();
      for (const node of nodes) {
        const count = deliveries(node);
        if (count === lastCount.get(node)) continue;
        if (measure) longestGap = Math.max(longestGap, now - lastDeliveryAt.get(node)!);
        lastCount.set(node, count);
        lastDeliveryAt.set(node, now);
      }
    }
  };
  stream(200, false);
  cluster.network.cut(2, 0); // link 0: the passive data link (equal priorities: the lowest link id)
  stream(1000, true);
  cluster.runFor(500);

  assert.ok(longestGap <= STALL_BOUND_MS, `longest delivery gap ${longestGap} ms after the cut`);
  assert.deepEqual(configs(), before, 'a single link cut must not change the configuration');
  for (const node of nodes) assert.equal(deliveries(node), sent, `node ${node} delivered everything`);
  assert.ok(cluster.snapshot(1).retransmitted + cluster.snapshot(3).retransmitted > 0, 'the cut lost messages');
});
