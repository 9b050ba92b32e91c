/**
 * Heartbeats that follow the traffic (docs/transport.md § Heartbeats that follow the traffic): a link that carried
 * the peer's heard-flagged data within the ping interval is not pinged, a quiet link is, and the detection bound
 * (no round-trip evidence for the ping timeout → down) holds whether the traffic runs or stops.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BUSY_PING_RATE_MULTIPLIER } from '../../src/transport/limits.ts';
import { Transport } from '../../src/transport/transport.ts';
import type { TransportAction } from '../../src/transport/types.ts';
import { clusterIdFromName } from '../../src/wire/cluster-id.ts';
import {
  decodePacket,
  encodeData,
  encodePingPong,
  FLAG_HEARD,
  type FrameHeader,
  relinkFrame,
} from '../../src/wire/packet.ts';
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
  test('no ping on the busy data link, pings every interval on the quiet standby link', () => {
    const cluster = new SimCluster({ nodes: 2, links: 2, linkMode: 'passive', seed: 5 });
    cluster.runFor(BACKOFF_SETTLED_MS);
    const windowMs = 1000;
    streamBothWays(cluster, cluster.scheduler.now() + windowMs + 100);
    cluster.runFor(50); // the first heard-flagged frames arrive
    const before = [0, 1].map((link) => pingsSent(cluster, 1, 2, link));
    cluster.runFor(windowMs);
    const after = [0, 1].map((link) => pingsSent(cluster, 1, 2, link));
    assert.equal(after[0]! - before[0]!, 0, 'link 0 carries data both ways: no ping');
    assert.ok(
      Math.abs(after[1]! - before[1]! - windowMs / pingIntervalMs) <= 1,
      'link 1 is quiet: a ping per interval',
    );
    assert.equal(cluster.actionsOf('linkDown', 1).length, 0);
    assert.equal(cluster.actionsOf('linkDown', 2).length, 0);
  });

  test('a link that carries only our data is pinged at the busy interval; the silent peer pings at the quiet one', () => {
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
    assert.equal(receiver, 0, 'the receiver hears heard-flagged data: no ping');
    assert.equal(cluster.actionsOf('linkDown').length, 0);
  });

  test('when the traffic stops, the data link is pinged again within an interval and stays up', () => {
    const cluster = new SimCluster({ nodes: 2, links: 2, linkMode: 'passive', seed: 6 });
    cluster.runFor(BACKOFF_SETTLED_MS);
    const stopAt = cluster.scheduler.now() + 500;
    streamBothWays(cluster, stopAt);
    cluster.runFor(500);
    const atStop = pingsSent(cluster, 1, 2, 0);
    cluster.runFor(2 * pingIntervalMs + STREAM_EVERY_MS);
    assert.ok(pingsSent(cluster, 1, 2, 0) > atStop, 'pings resume on the quiet link');
    cluster.runFor(2000);
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

describe('heard flag (core)', () => {
  const CLUSTER = clusterIdFromName('heard');
  const peerHeader = (flags: number): FrameHeader => ({
    clusterId: CLUSTER,
    sourceNodeId: 2,
    incarnation: 2,
    link: 0,
    seq: 0,
    flags,
  });

  /** Node 1 with one peer (2) on one link, brought up by two pongs; returns the core and the time. */
  function upCore(): { core: Transport; now: number } {
    const link = { link: 0, priority: 1, ...FAST_PROFILE, mtu: 1400 };
    const core = new Transport(
      {
        localNodeId: 1,
        clusterId: CLUSTER,
        linkMode: 'passive',
        links: [link],
        peers: [{ nodeId: 2, links: [0] }],
        failbackHoldMs: 0,
        maxMessageBytes: 65536,
        incarnation: 1,
      },
      0,
    );
    let now = 0;
    for (let i = 0; i < FAST_PROFILE.pongCount; i++, now += pingIntervalMs) {
      for (const ping of pings(core.step({ type: 'tick' }, now))) {
        const pong = encodePingPong('pong', peerHeader(0), ping.pingSeq, ping.sentAtMs);
        core.step({ type: 'receive', link: 0, bytes: pong }, now);
      }
    }
    assert.ok(core.isReachable(2));
    return { core, now };
  }

  function pings(actions: TransportAction[]) {
    const found: { pingSeq: number; sentAtMs: number }[] = [];
    for (const action of actions) {
      if (action.type !== 'transmit') continue;
      const decoded = decodePacket(action.bytes, CLUSTER);
      if (decoded.ok && decoded.packet.type === 'ping') found.push(decoded.packet);
    }
    return found;
  }

  /** Feeds node 1 a data frame from 2 every STREAM_EVERY_MS for `ms`, ticking it; returns pings sent and downs. */
  function feedData(core: Transport, from: number, ms: number, flags: number) {
    let pingCount = 0;
    const downs: number[] = [];
    for (let now = from, seq = 1; now < from + ms; now += STREAM_EVERY_MS, seq++) {
      const frame = encodeData({ ...peerHeader(flags), seq }, new Uint8Array(8));
      const actions = [
        ...core.step({ type: 'receive', link: 0, bytes: frame }, now),
        ...core.step({ type: 'tick' }, now),
      ];
      if (actions.some((action) => action.type === 'linkDown')) downs.push(now);
      pingCount += pings(actions).length;
    }
    return { pingCount, downs };
  }

  test('heard-flagged data keeps the link up without pings', () => {
    const { core, now } = upCore();
    const { pingCount, downs } = feedData(core, now, 1000, FLAG_HEARD);
    assert.deepEqual(downs, []);
    assert.ok(pingCount <= 1, `${pingCount} pings`);
  });

  test('unflagged data proves one direction only: pings go on and the link times out on schedule', () => {
    const { core, now } = upCore();
    const lastPongAt = now - pingIntervalMs;
    const { pingCount, downs } = feedData(core, now, 1000, 0);
    assert.ok(pingCount >= 10, `${pingCount} pings`);
    assert.equal(downs.length, 1);
    assert.ok(downs[0]! <= lastPongAt + pingTimeoutMs + STREAM_EVERY_MS, `down at ${downs[0]}`);
  });

  test('heard-flagged data dates the evidence one interval back: when it stops, down a timeout minus an interval later', () => {
    const { core, now } = upCore();
    const stopAt = now + 500;
    feedData(core, now, 500, FLAG_HEARD);
    const lastFrameAt = stopAt - STREAM_EVERY_MS;
    let downAt: number | undefined;
    for (let t = stopAt; t < stopAt + 1000 && downAt === undefined; t += 1) {
      // Pings go out but are never answered (the cable is pulled).
      if (core.step({ type: 'tick' }, t).some((a) => a.type === 'linkDown')) downAt = t;
    }
    assert.ok(downAt !== undefined);
    assert.ok(downAt <= lastFrameAt - pingIntervalMs + pingTimeoutMs + 1, `down at ${downAt}`);
    assert.ok(downAt >= lastFrameAt - pingIntervalMs + pingTimeoutMs - 1, `down at ${downAt}`);
  });

  test('a frame re-sent on another link loses its heard flag', () => {
    const frame = encodeData({ ...peerHeader(FLAG_HEARD), seq: 9 }, new Uint8Array(4));
    const moved = decodePacket(relinkFrame(frame, 1), CLUSTER);
    assert.ok(moved.ok);
    assert.equal(moved.packet.header.flags & FLAG_HEARD, 0);
    assert.equal(moved.packet.header.link, 1);
  });
});
