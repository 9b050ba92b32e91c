import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LinkMode } from '../../src/transport/types.ts';
import { AckingTraffic, BACKOFF_SETTLED_MS, FAST_PROFILE, SimCluster } from './harness.ts';

const { pingIntervalMs, pingTimeoutMs, pongCount } = FAST_PROFILE;
/** Network latency allowances (base delay 0.1 ms each way, 2 × average latency in the pong timeout). */
const LATENCY_SLACK_MS = 2;
const VICTIM = 1;
const RETRANSMIT_MS = 100;
const TRAFFIC_EVERY_MS = 10;

/** Every `everyMs` until `untilMs`, the victim sends to each peer and each peer to the victim. */
function startTraffic(cluster: SimCluster, traffic: AckingTraffic, untilMs: number, everyMs = TRAFFIC_EVERY_MS) {
  const sent = new Map<string, number[]>();
  const tick = () => {
    if (cluster.scheduler.now() >= untilMs) return;
    for (const peer of cluster.nodeIds.filter((node) => node !== VICTIM)) {
      for (const [from, to] of [
        [VICTIM, peer],
        [peer, VICTIM],
      ] as const) {
        const ids = sent.get(`${from}>${to}`) ?? [];
        sent.set(`${from}>${to}`, ids);
        ids.push(traffic.send(from, to));
      }
    }
    cluster.scheduler.after(everyMs, tick);
  };
  tick();
  return sent;
}

function assertNothingLost(traffic: AckingTraffic, sent: Map<string, number[]>) {
  for (const [pair, ids] of sent) {
    const [from, to] = pair.split('>').map(Number) as [number, number];
    assert.equal(traffic.unackedCount(from, to), 0, `unacked ${pair}`);
    const delivered = traffic.deliveredIds(from, to);
    assert.deepEqual(
      ids.filter((id) => !delivered.has(id)),
      [],
      `lost ${pair}`,
    );
  }
}

const shapes = [
  { nodes: 3, links: 2 },
  { nodes: 5, links: 3 },
];
const modes: LinkMode[] = ['passive', 'active', 'rr'];

describe('transport in the simulator: cutting link 0 of one node', () => {
  for (const { nodes, links } of shapes) {
    for (const linkMode of modes) {
      test(`${nodes} nodes × ${links} links, ${linkMode}: detected, no message lost, restored`, () => {
        const cluster = new SimCluster({ nodes, links, linkMode, seed: nodes * 100 + links });
        const traffic = new AckingTraffic(cluster, RETRANSMIT_MS);
        cluster.runFor(BACKOFF_SETTLED_MS + 500);
        for (const node of cluster.nodeIds) assert.ok(cluster.status(node, node === 1 ? 2 : 1, 0).connected);
        const cutAt = cluster.scheduler.now() + 3;
        const sent = startTraffic(cluster, traffic, cutAt + 2000);
        cluster.scheduler.at(cutAt, () => cluster.network.cut(VICTIM, 0));
        cluster.runFor(2000);

        for (const peer of cluster.nodeIds.filter((node) => node !== VICTIM)) {
          const seen = cluster.actionsOf('linkDown', peer).filter((d) => d.action.nodeId === VICTIM);
          assert.deepEqual(
            seen.map((d) => d.action.link),
            [0],
            `node ${peer} sees link 0 to ${VICTIM} down`,
          );
          assert.ok(seen[0]!.at <= cutAt + pingTimeoutMs + pingIntervalMs + LATENCY_SLACK_MS, `late at ${peer}`);
          const own = cluster.actionsOf('linkDown', VICTIM).find((d) => d.action.nodeId === peer);
          assert.equal(own?.action.reason, 'send error ENETUNREACH', 'the victim learns from its own NIC');
          assert.ok(own !== undefined && own.at <= cutAt + pingIntervalMs, 'at its next send on link 0 at the latest');
        }
        assert.equal(cluster.actionsOf('hostDown').length, 0, 'other links kept every host reachable');
        assert.ok(
          cluster
            .actionsOf('linkDown')
            .every((d) => d.action.link === 0 && (d.node === VICTIM || d.action.nodeId === VICTIM)),
        );

        cluster.runFor(2000); // traffic stopped; retransmissions drain
        assertNothingLost(traffic, sent);

        const restoreAt = cluster.scheduler.now();
        cluster.network.restore(VICTIM, 0);
        cluster.runFor((pongCount + 2) * pingIntervalMs);
        for (const peer of cluster.nodeIds.filter((node) => node !== VICTIM)) {
          for (const [observer, subject] of [
            [peer, VICTIM],
            [VICTIM, peer],
          ] as const) {
            const up = cluster.actionsOf('linkUp', observer).filter((u) => u.action.nodeId === subject && u.at > cutAt);
            assert.equal(up.length, 1, `${observer} sees link 0 to ${subject} up again`);
            assert.ok(up[0]!.at >= restoreAt + (pongCount - 1) * pingIntervalMs, 'needs pongCount pongs');
            assert.ok(up[0]!.at <= restoreAt + (pongCount + 1) * pingIntervalMs + LATENCY_SLACK_MS);
          }
        }
      });
    }
  }
});

describe('transport in the simulator: other faults', () => {
  for (const direction of ['in', 'out'] as const) {
    test(`one-direction cut (${direction}) of link 0: both sides declare it down, traffic continues`, () => {
      const cluster = new SimCluster({ nodes: 3, links: 2, linkMode: 'passive', seed: 7 });
      const traffic = new AckingTraffic(cluster, RETRANSMIT_MS);
      cluster.runFor(BACKOFF_SETTLED_MS + 500);
      const cutAt = cluster.scheduler.now();
      const sent = startTraffic(cluster, traffic, cutAt + 1000);
      cluster.network.cut(VICTIM, 0, direction);
      cluster.runFor(3000);
      const deadline = cutAt + pingTimeoutMs + pingIntervalMs + LATENCY_SLACK_MS;
      for (const peer of [2, 3]) {
        for (const [observer, subject] of [
          [peer, VICTIM],
          [VICTIM, peer],
        ] as const) {
          const down = cluster.actionsOf('linkDown', observer).filter((d) => d.action.nodeId === subject);
          assert.deepEqual(
            down.map((d) => d.action.link),
            [0],
          );
          assert.ok(down[0]!.at <= deadline, `${observer}→${subject} detected late`);
        }
      }
      assertNothingLost(traffic, sent);
    });
  }

  test('flapping link 0 every 300 ms for 30 s: bounded logs, link 1 keeps the hosts up, nothing lost', () => {
    const flapMs = 300;
    const flapForMs = 30_000;
    const cluster = new SimCluster({ nodes: 3, links: 2, linkMode: 'passive', seed: 11 });
    const traffic = new AckingTraffic(cluster, RETRANSMIT_MS);
    cluster.runFor(BACKOFF_SETTLED_MS);
    const start = cluster.scheduler.now();
    const sent = startTraffic(cluster, traffic, start + flapForMs, 50);
    let flaps = 0;
    for (let at = start; at < start + flapForMs; at += flapMs) {
      const cut = flaps % 2 === 0;
      cluster.scheduler.at(at, () => (cut ? cluster.network.cut(VICTIM, 0) : cluster.network.restore(VICTIM, 0)));
      flaps++;
    }
    cluster.scheduler.at(start + flapForMs, () => cluster.network.restore(VICTIM, 0));
    const logsBefore = cluster.actionsOf('log').length;
    cluster.runFor(flapForMs + 3000);
    const logs = cluster.actionsOf('log').length - logsBefore;
    const pairs = 2 * 2; // victim↔2 and victim↔3, seen from both ends
    assert.ok(cluster.actionsOf('linkDown').length > 0, 'the flapping was noticed');
    assert.ok(logs <= flaps * pairs * 3, `log volume ${logs} for ${flaps} flaps`);
    for (const node of cluster.nodeIds) {
      for (const peer of cluster.nodeIds.filter((other) => other !== node)) {
        const downs = cluster.actionsOf('linkDown', node).filter((d) => d.action.nodeId === peer).length;
        assert.ok(downs <= flaps / 2, `${node} saw ${downs} downs of ${peer}`);
      }
    }
    assert.equal(cluster.actionsOf('hostDown').length, 0);
    assertNothingLost(traffic, sent);
  });

  test('20 % loss on every link at the fast profile: no false link-down in 30 s', () => {
    const cluster = new SimCluster({ nodes: 3, links: 2, linkMode: 'passive', seed: 5 });
    for (const link of [0, 1]) cluster.network.setConditions(link, { lossPct: 20 });
    cluster.runFor(30_000);
    assert.equal(cluster.actionsOf('linkUp').length, 3 * 2 * 2, 'every link came up once');
    assert.deepEqual(
      cluster.actionsOf('linkDown').map((d) => `${d.node}→${d.action.nodeId}/${d.action.link} at ${d.at}`),
      [],
    );
  });

  test('all links of a node cut → hostDown everywhere; restored → hostUp', () => {
    const cluster = new SimCluster({ nodes: 3, links: 2, linkMode: 'active', seed: 3 });
    cluster.runFor(BACKOFF_SETTLED_MS);
    const cutAt = cluster.scheduler.now();
    for (const link of [0, 1]) cluster.network.cut(VICTIM, link);
    cluster.runFor(pingTimeoutMs + 2 * pingIntervalMs);
    const downs = cluster.actionsOf('hostDown');
    assert.deepEqual(downs.map((d) => `${d.node}:${d.action.nodeId}`).sort(), ['1:2', '1:3', '2:1', '3:1']);
    assert.ok(downs.every((d) => d.at <= cutAt + pingTimeoutMs + pingIntervalMs + LATENCY_SLACK_MS));
    for (const link of [0, 1]) cluster.network.restore(VICTIM, link);
    cluster.runFor(10 * pingIntervalMs);
    assert.equal(cluster.actionsOf('hostUp').filter((u) => u.at > cutAt).length, 4);
  });

  test('passive priorities: the best link carries data; failover, then fail-back after the hold-down', () => {
    const failbackHoldMs = 2000;
    const cluster = new SimCluster({
      nodes: 3,
      links: 2,
      linkMode: 'passive',
      seed: 9,
      priorityOf: (link) => (link === 1 ? 10 : 1),
      failbackHoldMs,
    });
    cluster.runFor(BACKOFF_SETTLED_MS);
    const inUse = () => [0, 1].filter((link) => cluster.status(2, VICTIM, link).inUse);
    assert.deepEqual(inUse(), [1]);
    const bestLinkLogs = () =>
      cluster
        .actionsOf('log', 2)
        .filter((l) => l.action.message.startsWith(`host: host: ${VICTIM} (passive) best link:`));
    assert.equal(bestLinkLogs().at(-1)?.action.message, 'host: host: 1 (passive) best link: 1 (pri: 10)');

    cluster.network.cut(VICTIM, 1);
    cluster.runFor(pingTimeoutMs + 2 * pingIntervalMs);
    assert.deepEqual(inUse(), [0]);
    assert.equal(bestLinkLogs().at(-1)?.action.message, 'host: host: 1 (passive) best link: 0 (pri: 1)');

    cluster.network.restore(VICTIM, 1);
    cluster.runFor((pongCount + 2) * pingIntervalMs);
    const upAt = cluster
      .actionsOf('linkUp', 2)
      .filter((u) => u.action.nodeId === VICTIM)
      .at(-1)!.at;
    assert.deepEqual(inUse(), [0], 'held down');
    assert.equal(cluster.status(2, VICTIM, 1).reason, 'hold-down');
    cluster.runFor(upAt + failbackHoldMs - cluster.scheduler.now() - 1);
    assert.deepEqual(inUse(), [0]);
    cluster.runFor(1);
    assert.deepEqual(inUse(), [1]);
    const back = bestLinkLogs().at(-1)!;
    assert.equal(back.action.message, 'host: host: 1 (passive) best link: 1 (pri: 10)');
    assert.equal(back.at, upAt + failbackHoldMs);
  });

  for (const downMs of [pingTimeoutMs * 2, pingIntervalMs * 2]) {
    const noticed = downMs > pingTimeoutMs;
    test(`a node restarted after ${downMs} ms (${noticed ? 'host down seen' : 'faster than the timeout'}): its new messages are delivered`, () => {
      const cluster = new SimCluster({ nodes: 3, links: 2, linkMode: 'passive', seed: 13 });
      const traffic = new AckingTraffic(cluster, RETRANSMIT_MS);
      cluster.runFor(BACKOFF_SETTLED_MS);
      for (let i = 0; i < 20; i++) traffic.send(VICTIM, 2);
      cluster.runFor(500);
      cluster.crash(VICTIM);
      cluster.runFor(downMs);
      assert.equal(cluster.actionsOf('hostDown', 2).length, noticed ? 1 : 0);
      cluster.start(VICTIM);
      cluster.runFor(10 * pingIntervalMs);
      assert.equal(cluster.cores.get(VICTIM)!.isReachable(2), true);
      const before = traffic.deliveredIds(VICTIM, 2).size;
      assert.equal(before, 20);
      for (let i = 0; i < 5; i++) traffic.send(VICTIM, 2);
      cluster.runFor(RETRANSMIT_MS / 2);
      assert.equal(
        traffic.deliveredIds(VICTIM, 2).size,
        before + 5,
        'the restarted sender counts from 1 again; its incarnation tells the receiver',
      );
    });
  }
});
