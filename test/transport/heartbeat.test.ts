/**
 * Heartbeats that follow the traffic (docs/transport.md § Heartbeats that follow the traffic): a link that carries
 * our data is pinged at the busy interval (ping interval / BUSY_PING_RATE_MULTIPLIER), a quiet link at the ping
 * interval, and the detection bound (no pong for the ping timeout → down) holds whether the traffic runs or stops.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BUSY_PING_RATE_MULTIPLIER } from '../../src/transport/limits.ts';
import { BACKOFF_SETTLED_MS, FAST_PROFILE, SimCluster } from './harness.ts';

const { pingIntervalMs, pingTimeoutMs } = FAST_PROFILE;
const LATENCY_SLACK_MS = 2;
/** Each node sends its peer a message this often: far more often than the ping interval. */
const STREAM_EVERY_MS = 5;

/** Both nodes of a 2-node cluster send each other a message every STREAM_EVERY_MS until `untilMs`. */
function streamBothWays(cluster: SimCluster, untilMs: number): void {
  const tick = () => {
    if (cluster.scheduler.now() >= untilMs) return;
    cluster.step(1, { type: 'send', to: 2, payload: new Uint8Array(64) });
    cluster.step(2, { type: 'send', to: 1, payload: new Uint8Array(64) });
    cluster.scheduler.after(STREAM_EVERY_MS, tick);
  };
  tick();
}

const pingsSent = (cluster: SimCluster, node: number, peer: number, link: number) =>
  cluster.status(node, peer, link).counters.pingsSent;

describe('heartbeats that follow the traffic (simulator)', () => {
  test('the data link is pinged at the busy interval, the quiet standby link at the ping interval', () => {
    const cluster = new SimCluster({ nodes: 2, links: 2, linkMode: 'passive', seed: 5 });
    cluster.runFor(BACKOFF_SETTLED_MS);
    const windowMs = 1000;
    streamBothWays(cluster, cluster.scheduler.now() + windowMs + 100);
    cluster.runFor(50); // the first heard-flagged frames arrive
    const before = [0, 1].map((link) => pingsSent(cluster, 1, 2, link));
    cluster.runFor(windowMs);
    const after = [0, 1].map((link) => pingsSent(cluster, 1, 2, link));
    const busyPings = (windowMs / pingIntervalMs) * BUSY_PING_RATE_MULTIPLIER;
    assert.ok(Math.abs(after[0]! - before[0]! - busyPings) <= busyPings * 0.05, 'link 0 carries data: busy interval');
    assert.ok(
      Math.abs(after[1]! - before[1]! - windowMs / pingIntervalMs) <= 1,
      'link 1 is quiet: a ping per interval',
    );
    assert.equal(cluster.actionsOf('linkDown', 1).length, 0);
    assert.equal(cluster.actionsOf('linkDown', 2).length, 0);
  });

  test('one-way data: the sender pings at the busy interval, the silent receiver at the ping interval', () => {
    const cluster = new SimCluster({ nodes: 2, links: 2, linkMode: 'passive', seed: 8 });
    cluster.runFor(BACKOFF_SETTLED_MS);
    const windowMs = 1000;
    const until = cluster.scheduler.now() + windowMs + 100;
    const tick = () => {
      if (cluster.scheduler.now() >= until) return;
      cluster.step(1, { type: 'send', to: 2, payload: new Uint8Array(64) });
      cluster.scheduler.after(STREAM_EVERY_MS, tick);
    };
    tick();
    cluster.runFor(50);
    const before = [pingsSent(cluster, 1, 2, 0), pingsSent(cluster, 2, 1, 0)];
    cluster.runFor(windowMs);
    const sender = pingsSent(cluster, 1, 2, 0) - before[0]!;
    const receiver = pingsSent(cluster, 2, 1, 0) - before[1]!;
    const busyPings = (windowMs / pingIntervalMs) * BUSY_PING_RATE_MULTIPLIER;
    assert.ok(Math.abs(sender - busyPings) <= busyPings * 0.05, `sender: ${sender} pings`);
    assert.ok(Math.abs(receiver - windowMs / pingIntervalMs) <= 1, `receiver: ${receiver} pings`);
    assert.equal(cluster.actionsOf('linkDown').length, 0);
  });

  test('control traffic (sent on every link) leaves every link quiet: the ping interval, round trips by echo', () => {
    // Totem's token and JOINs go on every up link: busy pinging of every link tripled the heartbeat of a 32-node lab
    // during formation, and an idle ring's token hops kept its links pinged at the busy interval, with pongs
    // (docs/transport.md § Heartbeats that follow the traffic).
    const cluster = new SimCluster({ nodes: 2, links: 2, linkMode: 'passive', seed: 9 });
    cluster.runFor(BACKOFF_SETTLED_MS);
    const windowMs = 1000;
    const until = cluster.scheduler.now() + windowMs + 100;
    const tick = () => {
      if (cluster.scheduler.now() >= until) return;
      cluster.step(1, { type: 'send', to: 2, payload: new Uint8Array(64), urgent: true });
      cluster.scheduler.after(STREAM_EVERY_MS, tick);
    };
    tick();
    cluster.runFor(50);
    const counters = (node: number, peer: number, link: number) => cluster.status(node, peer, link).counters;
    const before = [0, 1].map((link) => ({ sender: counters(1, 2, link), receiver: counters(2, 1, link) }));
    const deliveredBefore = cluster.actionsOf('deliver', 2).length;
    cluster.runFor(windowMs);
    for (const link of [0, 1]) {
      const pings = pingsSent(cluster, 1, 2, link) - before[link]!.sender.pingsSent;
      assert.ok(Math.abs(pings - windowMs / pingIntervalMs) <= 1, `link ${link}: ${pings} pings, one per interval`);
      const receiver = counters(2, 1, link);
      const receiverFrames = receiver.txPackets - before[link]!.receiver.txPackets;
      assert.equal(receiverFrames, receiver.pingsSent - before[link]!.receiver.pingsSent, `link ${link}: no pong sent`);
    }
    assert.ok(cluster.actionsOf('deliver', 2).length - deliveredBefore >= windowMs / STREAM_EVERY_MS - 1, 'delivered');
    assert.equal(cluster.actionsOf('linkDown').length, 0);
  });

  test('when the traffic stops, the data link returns to the ping interval and stays up', () => {
    const cluster = new SimCluster({ nodes: 2, links: 2, linkMode: 'passive', seed: 6 });
    cluster.runFor(BACKOFF_SETTLED_MS);
    const stopAt = cluster.scheduler.now() + 500;
    streamBothWays(cluster, stopAt);
    cluster.runFor(500);
    cluster.runFor(2 * pingIntervalMs);
    const quietFrom = pingsSent(cluster, 1, 2, 0);
    cluster.runFor(1000);
    assert.ok(Math.abs(pingsSent(cluster, 1, 2, 0) - quietFrom - 1000 / pingIntervalMs) <= 1, 'a ping per interval');
    cluster.runFor(1000);
    assert.equal(cluster.actionsOf('linkDown', 1).length, 0);
    assert.equal(cluster.actionsOf('linkDown', 2).length, 0);
  });

  for (const trafficRuns of [true, false]) {
    test(`a pulled cable is detected within the ping timeout (traffic ${trafficRuns ? 'running' : 'just stopped'})`, () => {
      const cluster = new SimCluster({ nodes: 2, links: 2, linkMode: 'passive', seed: 7 });
      cluster.runFor(BACKOFF_SETTLED_MS);
      const start = cluster.scheduler.now();
      streamBothWays(cluster, trafficRuns ? start + 3000 : start + 500);
      cluster.runFor(trafficRuns ? 500 : 500 + STREAM_EVERY_MS);
      const cutAt = cluster.scheduler.now();
      cluster.network.cut(2, 0);
      cluster.runFor(1000);
      for (const [observer, subject] of [
        [1, 2],
        [2, 1],
      ] as const) {
        const down = cluster.actionsOf('linkDown', observer).filter((d) => d.action.nodeId === subject);
        assert.deepEqual(
          down.map((d) => d.action.link),
          [0],
        );
        assert.ok(
          down[0]!.at <= cutAt + pingTimeoutMs + LATENCY_SLACK_MS,
          `${observer}→${subject}: ${down[0]!.at - cutAt} ms`,
        );
      }
    });
  }
});
