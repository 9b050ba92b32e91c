import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FrameStore } from '../../src/transport/frame-store.ts';
import { zeroLinkCounters } from '../../src/transport/peer-link.ts';
import { RecentFrames } from '../../src/transport/recent-frames.ts';
import type { LinkMode, LinkOptionsUpdate, TransportAction } from '../../src/transport/types.ts';
import { BACKOFF_SETTLED_MS, FAST_PROFILE, MessageStream, SimCluster } from './harness.ts';

const { pingIntervalMs, pingTimeoutMs, pongCount } = FAST_PROFILE;
/** Network latency allowances (base delay 0.1 ms each way, 2 × average latency in the pong timeout). */
const LATENCY_SLACK_MS = 2;
/** A new link on both ends: the first ping goes out at once, up at the pongCount-th pong. */
const NEW_LINK_UP_BOUND_MS = pongCount * pingIntervalMs + LATENCY_SLACK_MS;
const STREAM_EVERY_MS = 5;
/** Long enough for the last stream messages (and any failover re-send) to land. */
const DRAIN_MS = 100;
const HIGH_PRIORITY = 5;

/** Every ordered pair (node, peer) of the cluster. */
function pairs(cluster: SimCluster): [number, number][] {
  return cluster.nodeIds.flatMap((node) =>
    cluster.nodeIds.filter((peer) => peer !== node).map((peer): [number, number] => [node, peer]),
  );
}

/** Recorded actions of one type from virtual time `at` on. */
function since<T extends TransportAction['type']>(cluster: SimCluster, type: T, at: number) {
  return cluster.actionsOf(type).filter((entry) => entry.at >= at);
}

function logsSince(cluster: SimCluster, at: number, node?: number): { level: string; message: string }[] {
  return since(cluster, 'log', at)
    .filter((entry) => node === undefined || entry.node === node)
    .map(({ action }) => ({ level: action.level, message: action.message }));
}

function assertStreamIntact(cluster: SimCluster, stream: MessageStream) {
  stream.stop();
  cluster.runFor(DRAIN_MS);
  assert.ok(stream.sentCount > 0);
  assert.deepEqual(stream.lost(), [], 'messages lost');
  assert.deepEqual(stream.duplicates(), [], 'messages delivered twice');
}

const modes: LinkMode[] = ['passive', 'active', 'rr'];

describe('live links in the simulator: addLink on a running cluster', () => {
  for (const linkMode of modes) {
    test(`${linkMode}: link 1 comes up on every pair, carries traffic, and survives cutting link 0`, () => {
      const cluster = new SimCluster({
        nodes: 3,
        links: 2,
        coreLinks: 1,
        linkMode,
        seed: 41,
        priorityOf: (link) => (link === 1 ? HIGH_PRIORITY : 1),
      });
      cluster.runFor(BACKOFF_SETTLED_MS);
      const stream = new MessageStream(cluster, STREAM_EVERY_MS);
      cluster.runFor(100);

      const addedAt = cluster.scheduler.now();
      cluster.stepEvery((node) => ({ type: 'addLink', options: cluster.linkOption(1), peers: cluster.peersOf(node) }));
      cluster.runFor(500);
      for (const [node, peer] of pairs(cluster)) {
        const up = since(cluster, 'linkUp', addedAt).find((e) => e.node === node && e.action.nodeId === peer);
        assert.equal(up?.action.link, 1, `${node} sees link 1 to ${peer} up`);
        assert.ok(up.at <= addedAt + NEW_LINK_UP_BOUND_MS, `link 1 ${node}→${peer} up at +${up.at - addedAt} ms`);
        assert.ok(cluster.status(node, peer, 1).inUse, `link 1 ${node}→${peer} carries data`);
        assert.ok(cluster.status(node, peer, 1).counters.rxPackets > 0);
      }
      if (linkMode === 'passive') {
        for (const [node, peer] of pairs(cluster)) {
          assert.ok(
            logsSince(cluster, addedAt, node).some(
              (l) => l.message === `host: host: ${peer} (passive) best link: 1 (pri: ${HIGH_PRIORITY})`,
            ),
          );
          assert.equal(cluster.status(node, peer, 0).reason, 'standby (best link: 1)');
        }
      }
      assert.equal(since(cluster, 'linkDown', addedAt).length, 0, 'adding a link takes none down');

      const rxOnLink1 = (node: number, peer: number) => cluster.status(node, peer, 1).counters.rxPackets;
      const rxBefore = pairs(cluster).map(([node, peer]) => rxOnLink1(node, peer));
      for (const node of cluster.nodeIds) cluster.network.cut(node, 0);
      cluster.runFor(1000);
      for (const [index, [node, peer]] of pairs(cluster).entries()) {
        assert.ok(!cluster.status(node, peer, 0).connected, `link 0 ${node}→${peer} down`);
        assert.ok(cluster.status(node, peer, 1).inUse, `link 1 ${node}→${peer} carries the traffic`);
        assert.ok(rxOnLink1(node, peer) > rxBefore[index]!, `link 1 ${peer}→${node} received after the cut`);
      }
      assert.equal(cluster.actionsOf('hostDown').length, 0, 'link 1 kept every host reachable');
      assertStreamIntact(cluster, stream);
    });
  }

  test('a link only some peers have: addLink for a subset, then addPeerLink / removePeerLink', () => {
    const cluster = new SimCluster({ nodes: 3, links: 2, coreLinks: 1, linkMode: 'passive', seed: 43 });
    cluster.runFor(BACKOFF_SETTLED_MS);
    const options = cluster.linkOption(1);
    cluster.step(1, { type: 'addLink', options, peers: [{ nodeId: 2 }] });
    cluster.step(2, { type: 'addLink', options, peers: [{ nodeId: 1 }] });
    cluster.runFor(200);
    assert.ok(cluster.status(1, 2, 1).connected && cluster.status(2, 1, 1).connected);
    assert.equal(cluster.status(1, 3, 1).reason, 'no address');
    assert.equal(cluster.status(1, 3, 1).enabled, false);

    const joinedAt = cluster.scheduler.now();
    cluster.step(3, { type: 'addLink', options, peers: cluster.peersOf(3) });
    cluster.step(1, { type: 'addPeerLink', nodeId: 3, link: 1 });
    cluster.step(2, { type: 'addPeerLink', nodeId: 3, link: 1 });
    cluster.runFor(200);
    for (const [node, peer] of pairs(cluster)) assert.ok(cluster.status(node, peer, 1).connected, `${node}→${peer}`);
    assert.ok(logsSince(cluster, joinedAt, 1).some((l) => l.message === 'link: host: 3 link: 1 added'));

    const removedAt = cluster.scheduler.now();
    cluster.step(1, { type: 'removePeerLink', nodeId: 3, link: 1 });
    assert.deepEqual(
      since(cluster, 'linkDown', removedAt).map(({ node, action }) => [
        node,
        action.nodeId,
        action.link,
        action.reason,
      ]),
      [[1, 3, 1, 'address removed']],
    );
    assert.equal(cluster.status(1, 3, 1).reason, 'no address');
    assert.deepEqual(cluster.status(1, 3, 1).counters, zeroLinkCounters(), 'its state is gone');
    cluster.runFor(200);
    assert.ok(cluster.status(1, 2, 1).connected, 'the other peers keep the link');
    assert.ok(cluster.status(1, 3, 0).connected);

    const refusedAt = cluster.scheduler.now();
    cluster.step(1, { type: 'addPeerLink', nodeId: 2, link: 1 });
    cluster.step(1, { type: 'addPeerLink', nodeId: 9, link: 1 });
    cluster.step(1, { type: 'addPeerLink', nodeId: 2, link: 6 });
    cluster.step(1, { type: 'removePeerLink', nodeId: 3, link: 1 });
    assert.deepEqual(logsSince(cluster, refusedAt, 1), [
      { level: 'warning', message: 'link: cannot add host: 2 link: 1: already configured' },
      { level: 'warning', message: 'link: cannot add host: 9 link: 1: unknown host' },
      { level: 'warning', message: 'link: cannot add host: 2 link: 6: unknown link' },
      { level: 'warning', message: 'link: cannot remove host: 3 link: 1: no such link' },
    ]);
  });
});

describe('live links in the simulator: removeLink', () => {
  test('removing the passive data link, node after node, fails over to the next best link with nothing lost', () => {
    // Priorities: link 1 (5) carries the data, link 2 (3) is the next best, link 0 (1) the last resort.
    const priorities = [1, HIGH_PRIORITY, 3];
    const cluster = new SimCluster({
      nodes: 3,
      links: 3,
      linkMode: 'passive',
      seed: 47,
      priorityOf: (link) => priorities[link]!,
    });
    cluster.runFor(BACKOFF_SETTLED_MS);
    for (const [node, peer] of pairs(cluster)) assert.ok(cluster.status(node, peer, 1).inUse);
    const stream = new MessageStream(cluster, STREAM_EVERY_MS);
    cluster.runFor(100);

    // An operator removing the link on one node after the other: until a node's own removal, its data to the
    // nodes that already removed the link is dropped there — only the failover re-send can save it.
    const removedAt = cluster.scheduler.now();
    const staggerMs = 30;
    for (const [index, node] of cluster.nodeIds.entries()) {
      cluster.scheduler.at(removedAt + index * staggerMs, () => cluster.step(node, { type: 'removeLink', link: 1 }));
    }
    cluster.runFor(1000);

    const downs = since(cluster, 'linkDown', removedAt);
    assert.equal(downs.length, pairs(cluster).length);
    for (const { node, at, action } of downs) {
      assert.deepEqual([action.link, action.reason], [1, 'link removed']);
      assert.equal(at, removedAt + (node - 1) * staggerMs, 'down at the removal, not by a timeout');
    }
    for (const [node, peer] of pairs(cluster)) {
      assert.ok(
        logsSince(cluster, removedAt, node).some(
          (l) => l.message === `host: host: ${peer} (passive) best link: 2 (pri: 3)`,
        ),
      );
      assert.ok(cluster.status(node, peer, 2).inUse);
    }
    assert.equal(cluster.actionsOf('hostDown').length, 0);
    for (const [node, core] of cluster.cores) {
      assert.deepEqual(
        core.linkStatus(cluster.scheduler.now()).map((row) => row.link),
        [0, 2, 0, 2],
        `node ${node} has no link 1 rows`,
      );
      assert.equal(core.linkOptions(1), undefined);
      assert.ok(logsSince(cluster, removedAt, node).some((l) => l.message === 'link: link 1 removed'));
    }
    const node1 = cluster.cores.get(1)!.counters();
    assert.ok(node1.rejected.unknown_link! > 0, 'node 1 dropped what still came on the link it had removed');
    assert.ok(cluster.cores.get(2)!.counters().failoverResends > 0, 'node 2 re-sent them on link 2');
    assertStreamIntact(cluster, stream);

    const readdedAt = cluster.scheduler.now();
    cluster.stepEvery((node) => ({ type: 'addLink', options: cluster.linkOption(1), peers: cluster.peersOf(node) }));
    const fresh = cluster.status(1, 2, 1);
    assert.deepEqual([fresh.connected, fresh.latency, fresh.counters], [false, null, zeroLinkCounters()]);
    cluster.runFor(200);
    assert.equal(since(cluster, 'linkUp', readdedAt).filter((e) => e.action.link === 1).length, pairs(cluster).length);
  });

  test('removing a link forgets its frames in the failover ring', () => {
    const store = new FrameStore();
    const ring = new RecentFrames(store);
    ring.record(1, store.put(new Uint8Array([1])), 0);
    ring.record(0, store.put(new Uint8Array([0])), 0);
    ring.forgetLink(1);
    assert.deepEqual(ring.takeSentOn(1, Number.NEGATIVE_INFINITY), []);
    assert.deepEqual(ring.takeSentOn(0, Number.NEGATIVE_INFINITY), [new Uint8Array([0])]);
  });
});

describe('live links in the simulator: updateLink', () => {
  test('a priority change moves passive traffic at once, no link goes down, nothing is lost', () => {
    const cluster = new SimCluster({ nodes: 3, links: 2, linkMode: 'passive', seed: 53 });
    cluster.runFor(BACKOFF_SETTLED_MS);
    const settledAt = cluster.scheduler.now();
    for (const [node, peer] of pairs(cluster)) assert.ok(cluster.status(node, peer, 0).inUse);
    const stream = new MessageStream(cluster, STREAM_EVERY_MS);
    cluster.runFor(100);

    const raisedAt = cluster.scheduler.now();
    cluster.stepEvery(() => ({ type: 'updateLink', link: 1, options: { priority: HIGH_PRIORITY } }));
    for (const [node, peer] of pairs(cluster)) {
      const row = cluster.status(node, peer, 1);
      assert.deepEqual([row.inUse, row.priority], [true, HIGH_PRIORITY], `${node}→${peer} uses link 1 at once`);
      assert.equal(cluster.status(node, peer, 0).reason, 'standby (best link: 1)');
    }
    const raiseLogs = since(cluster, 'log', raisedAt).filter((e) => e.at === raisedAt);
    for (const node of cluster.nodeIds) {
      const lines = raiseLogs.filter((e) => e.node === node).map((e) => e.action.message);
      assert.deepEqual(
        lines.slice().sort(),
        [
          `link: link 1 priority set to: ${HIGH_PRIORITY}`,
          ...cluster
            .peersOf(node)
            .map(({ nodeId }) => `host: host: ${nodeId} (passive) best link: 1 (pri: ${HIGH_PRIORITY})`),
        ].sort(),
      );
    }
    cluster.runFor(200);

    const loweredAt = cluster.scheduler.now();
    cluster.stepEvery(() => ({ type: 'updateLink', link: 1, options: { priority: 0 } }));
    for (const [node, peer] of pairs(cluster)) assert.ok(cluster.status(node, peer, 0).inUse, `${node}→${peer}`);
    assert.ok(
      logsSince(cluster, loweredAt, 1).some((l) => l.message === 'host: host: 2 (passive) best link: 0 (pri: 1)'),
    );
    cluster.runFor(200);

    assert.equal(since(cluster, 'linkDown', settledAt).length, 0, 'no link went down');
    assert.equal(since(cluster, 'linkUp', settledAt).length, 0, 'nor came up again');
    assert.equal(cluster.cores.get(1)!.linkOptions(1)?.priority, 0);
    assertStreamIntact(cluster, stream);
  });

  test('new ping timings change the ping rate and the detection time (virtual time)', () => {
    const cluster = new SimCluster({ nodes: 3, links: 2, linkMode: 'passive', seed: 59 });
    cluster.runFor(BACKOFF_SETTLED_MS);
    const fast = { pingIntervalMs: 5, pingTimeoutMs: 60 };
    cluster.stepEvery(() => ({ type: 'updateLink', link: 1, options: fast }));
    assert.ok(
      logsSince(cluster, cluster.scheduler.now(), 1).some(
        (l) => l.message === 'link: link 1 timeout update - interval: 5 timeout: 60',
      ),
    );
    const pings = (link: number) => cluster.status(2, 1, link).counters.pingsSent;
    const before = [pings(0), pings(1)];
    const windowMs = 1000;
    cluster.runFor(windowMs);
    assert.ok(Math.abs(pings(0) - before[0]! - windowMs / pingIntervalMs) <= 1, 'link 0 still pings every 20 ms');
    assert.ok(Math.abs(pings(1) - before[1]! - windowMs / fast.pingIntervalMs) <= 1, 'link 1 now every 5 ms');

    // Cut node 1 off both links: node 2 detects each link by its own timeout.
    const cutAt = cluster.scheduler.now();
    cluster.network.cut(1, 0);
    cluster.network.cut(1, 1);
    cluster.runFor(1000);
    const detectionMs = (link: number) => {
      const down = since(cluster, 'linkDown', cutAt).find(
        (e) => e.node === 2 && e.action.nodeId === 1 && e.action.link === link,
      );
      assert.ok(down !== undefined, `node 2 sees link ${link} to 1 down`);
      return down.at - cutAt;
    };
    const slow = detectionMs(0);
    const quick = detectionMs(1);
    assert.ok(
      slow > pingTimeoutMs - pingIntervalMs - LATENCY_SLACK_MS && slow <= pingTimeoutMs + LATENCY_SLACK_MS,
      `${slow}`,
    );
    assert.ok(
      quick > fast.pingTimeoutMs - fast.pingIntervalMs - LATENCY_SLACK_MS &&
        quick <= fast.pingTimeoutMs + LATENCY_SLACK_MS,
      `${quick}`,
    );
    assert.equal(since(cluster, 'linkDown', 0).filter((e) => e.at < cutAt).length, 0, 'the update took no link down');
  });

  test('a shorter ping interval applies from the last ping, not after the old interval', () => {
    const cluster = new SimCluster({ nodes: 2, links: 2, linkMode: 'passive', seed: 61 });
    cluster.runFor(BACKOFF_SETTLED_MS);
    cluster.stepEvery(() => ({ type: 'updateLink', link: 1, options: { pingIntervalMs: 1000, pingTimeoutMs: 3000 } }));
    cluster.runFor(1100); // the last ping on link 1 went out ~100 ms ago; the next one would be ~900 ms away
    const pings = () => cluster.status(1, 2, 1).counters.pingsSent;
    const before = pings();
    cluster.stepEvery(() => ({ type: 'updateLink', link: 1, options: { pingIntervalMs, pingTimeoutMs } }));
    cluster.runFor(pingIntervalMs / 2);
    assert.equal(pings(), before + 1, 'a ping went out at once (overdue under the new interval)');
    cluster.runFor(pingIntervalMs * 10);
    assert.ok(Math.abs(pings() - before - 1 - 10) <= 1, 'then every 20 ms');
    assert.ok(cluster.status(1, 2, 1).connected);
    assert.equal(cluster.actionsOf('linkDown').length, 0);
  });

  test('a pong count change applies the next time the link comes up', () => {
    const cluster = new SimCluster({ nodes: 2, links: 2, linkMode: 'passive', seed: 67 });
    cluster.runFor(BACKOFF_SETTLED_MS);
    const raisedPongCount = 6;
    cluster.stepEvery(() => ({ type: 'updateLink', link: 1, options: { pongCount: raisedPongCount } }));
    assert.ok(cluster.status(1, 2, 1).connected, 'an up link stays up');
    cluster.network.cut(1, 1);
    cluster.runFor(1000);
    const restoredAt = cluster.scheduler.now();
    cluster.network.restore(1, 1);
    cluster.runFor(2000);
    const up = since(cluster, 'linkUp', restoredAt).find((e) => e.node === 2 && e.action.link === 1);
    assert.ok(up !== undefined, 'link 1 came back');
    // The first pong comes within a ping interval of the restore, the count-th one (count − 1) intervals later.
    const upAfterMs = up.at - restoredAt;
    assert.ok(upAfterMs >= (raisedPongCount - 1) * pingIntervalMs, `up after ${upAfterMs} ms`);
    assert.ok(upAfterMs <= raisedPongCount * pingIntervalMs + LATENCY_SLACK_MS, `up after ${upAfterMs} ms`);
    assert.equal(up.action.reason, `${raisedPongCount} pongs received`);
  });

  test('an unknown link or an invalid value: a warning and nothing changes', () => {
    const cluster = new SimCluster({ nodes: 2, links: 2, linkMode: 'passive', seed: 71 });
    cluster.runFor(BACKOFF_SETTLED_MS);
    const core = cluster.cores.get(1)!;
    const now = cluster.scheduler.now();
    const stateOf = () => ({
      status: core.linkStatus(now),
      options: [core.linkOptions(0), core.linkOptions(1)],
      deadline: core.nextDeadline(),
    });
    const refused: [number, LinkOptionsUpdate, string][] = [
      [5, { priority: 9 }, 'link: cannot update unknown link 5'],
      [-1, { priority: 9 }, 'link: cannot update unknown link -1'],
      [1, { priority: 9, pongCount: 0 }, 'link: cannot update link 1: invalid pong count'],
      [1, { pingIntervalMs: 0 }, 'link: cannot update link 1: invalid ping interval/timeout'],
      [1, { priority: Number.NaN }, 'link: cannot update link 1: invalid priority'],
    ];
    for (const [link, options, warning] of refused) {
      const before = stateOf();
      const actions = core.step({ type: 'updateLink', link, options }, now);
      assert.deepEqual(actions, [{ type: 'log', level: 'warning', subsystem: 'KNET', message: warning }]);
      assert.deepEqual(stateOf(), before, `link ${link} ${JSON.stringify(options)} changed nothing`);
    }
    const before = stateOf();
    const notTunable = { mtu: 200, link: 3 } as unknown as LinkOptionsUpdate;
    assert.deepEqual(core.step({ type: 'updateLink', link: 1, options: notTunable }, now), []);
    assert.deepEqual(core.step({ type: 'updateLink', link: 1, options: { priority: 1 } }, now), [], 'same value');
    assert.deepEqual(stateOf(), before);
  });
});
