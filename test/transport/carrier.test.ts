/**
 * Carrier (docs/transport.md § Carrier): a node whose interface loses carrier takes every peer × link on it down at
 * once and tells its peers on its other links, so nobody waits for the ping timeout; carrier back, the links ping at
 * once and come up by round trips. A link the admin disables is told to the peers the same way.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BACKOFF_SETTLED_MS, FAST_PROFILE, SimCluster } from './harness.ts';

/** Far less than the ping timeout: a few network latencies of the simulator. */
const NOTICE_MS = 5;

function settledCluster(seed: number): SimCluster {
  const cluster = new SimCluster({ nodes: 3, links: 2, linkMode: 'passive', seed });
  cluster.runFor(BACKOFF_SETTLED_MS);
  for (const node of cluster.nodeIds) {
    for (const peer of cluster.nodeIds) {
      if (peer !== node) for (const link of [0, 1]) assert.ok(cluster.status(node, peer, link).connected);
    }
  }
  return cluster;
}

const downs = (cluster: SimCluster, node: number, since: number) =>
  cluster.actionsOf('linkDown', node).filter((entry) => entry.at >= since);

describe('carrier (simulator)', () => {
  test('a pulled cable: the node and its peers take the link down within a few latencies, not the timeout', () => {
    const cluster = settledCluster(11);
    const pulledAt = cluster.scheduler.now();
    cluster.network.cut(3, 0);
    cluster.step(3, { type: 'setLinkCarrier', link: 0, carrier: false });
    cluster.runFor(NOTICE_MS);
    assert.ok(NOTICE_MS < FAST_PROFILE.pingTimeoutMs / 10);
    const own = downs(cluster, 3, pulledAt).map((entry) => [
      entry.action.nodeId,
      entry.action.link,
      entry.action.reason,
    ]);
    assert.deepEqual(own, [
      [1, 0, 'no carrier'],
      [2, 0, 'no carrier'],
    ]);
    for (const peer of [1, 2]) {
      const seen = downs(cluster, peer, pulledAt).map((e) => [e.action.nodeId, e.action.link, e.action.reason]);
      assert.deepEqual(seen, [[3, 0, 'host reports no carrier']], `node ${peer}`);
      assert.equal(cluster.status(peer, 3, 1).connected, true, 'link 1 stays up');
    }
    assert.equal(cluster.status(3, 1, 0).reason, 'no carrier');
    assert.equal(downs(cluster, 1, pulledAt).length + downs(cluster, 2, pulledAt).length, 2, 'no other link went down');
  });

  test('data keeps flowing over the other link right after the carrier is lost', () => {
    const cluster = settledCluster(12);
    const delivered: number[] = [];
    cluster.onDeliver((node, from, payload) => {
      if (node === 3 && from === 1) delivered.push(payload[0]!);
    });
    cluster.network.cut(3, 0);
    cluster.step(3, { type: 'setLinkCarrier', link: 0, carrier: false });
    cluster.runFor(NOTICE_MS);
    for (let i = 0; i < 10; i++) cluster.step(1, { type: 'send', to: 3, payload: new Uint8Array([i]) });
    cluster.runFor(NOTICE_MS);
    assert.deepEqual(delivered, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(cluster.status(1, 3, 1).inUse, true, 'node 1 sends to node 3 on link 1');
  });

  test('carrier back: the links ping at once and come up by round trips', () => {
    const cluster = settledCluster(13);
    cluster.network.cut(3, 0);
    cluster.step(3, { type: 'setLinkCarrier', link: 0, carrier: false });
    cluster.runFor(1000);
    assert.equal(cluster.status(1, 3, 0).connected, false);
    const backAt = cluster.scheduler.now();
    cluster.network.restore(3, 0);
    cluster.step(3, { type: 'setLinkCarrier', link: 0, carrier: true });
    cluster.runFor(FAST_PROFILE.pingTimeoutMs);
    for (const peer of [1, 2]) {
      assert.equal(cluster.status(3, peer, 0).connected, true, `node 3 → ${peer}`);
      assert.equal(cluster.status(peer, 3, 0).connected, true, `node ${peer} → 3`);
    }
    const ups = cluster.actionsOf('linkUp', 3).filter((entry) => entry.at >= backAt);
    assert.equal(ups.length, 2);
  });

  test('a link disabled by the admin: its peers are told too, and take it down at once', () => {
    const cluster = settledCluster(15);
    const since = cluster.scheduler.now();
    cluster.step(3, { type: 'setLinkEnabled', link: 1, enabled: false });
    cluster.runFor(NOTICE_MS);
    for (const peer of [1, 2]) {
      const seen = downs(cluster, peer, since).map((e) => [e.action.nodeId, e.action.link, e.action.reason]);
      assert.deepEqual(seen, [[3, 1, 'host disabled the link']], `node ${peer}`);
    }
  });

  test('a repeated report changes nothing; a report for an unknown link is logged and ignored', () => {
    const cluster = settledCluster(14);
    const since = cluster.scheduler.now();
    cluster.step(3, { type: 'setLinkCarrier', link: 0, carrier: true });
    cluster.step(3, { type: 'setLinkCarrier', link: 5, carrier: false });
    cluster.runFor(NOTICE_MS);
    assert.equal(downs(cluster, 3, since).length, 0);
    const logs = cluster.actionsOf('log', 3).filter((entry) => entry.at >= since);
    assert.ok(logs.some((entry) => entry.action.message === 'link: carrier of unknown link 5 ignored'));
  });
});
