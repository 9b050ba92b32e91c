/**
 * Echo pings (docs/transport.md § Echo pings): a connected quiet link asks for no pong; the peer echoes the ping in
 * its own next ping, a round trip dated back by the time it held the ping. Pongs stay where a link comes up or
 * carries our data; only round trips keep a link up; a peer that ignores the echo (pongs every ping) still works.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Transport } from '../../src/transport/transport.ts';
import type { TransportAction } from '../../src/transport/types.ts';
import { clusterIdFromName } from '../../src/wire/cluster-id.ts';
import { decodePacket, encodePingPong, FLAG_NO_PONG, type Packet } from '../../src/wire/packet.ts';
import { BACKOFF_SETTLED_MS, FAST_PROFILE, SimCluster } from './harness.ts';

const { pingIntervalMs, pingTimeoutMs } = FAST_PROFILE;
const LATENCY_SLACK_MS = 2;

describe('echo pings (simulator)', () => {
  test('a quiet link is kept up by echoes alone: no pong sent, round trips counted, latency without the hold', () => {
    const cluster = new SimCluster({ nodes: 3, links: 2, linkMode: 'passive', seed: 11 });
    for (const link of [0, 1]) cluster.network.setConditions(link, { delayMs: 0.5 });
    cluster.runFor(BACKOFF_SETTLED_MS);
    const before = cluster.status(1, 2, 1).counters;
    const windowMs = 5000;
    cluster.runFor(windowMs);
    const after = cluster.status(1, 2, 1);
    const pings = after.counters.pingsSent - before.pingsSent;
    assert.equal(after.counters.txPackets - before.txPackets, pings, 'every frame sent on the quiet link is a ping');
    assert.ok(Math.abs(pings - windowMs / pingIntervalMs) <= 1, `a ping per interval: ${pings}`);
    const roundTrips = after.counters.pongsReceived - before.pongsReceived;
    assert.ok(roundTrips >= pings - 2, `nearly every ping came back as an echo: ${roundTrips} of ${pings}`);
    assert.equal(after.counters.pongsDiscarded, 0);
    assert.ok(after.connected);
    // The peer holds each ping up to an interval (20 ms); the latency is the round trip alone (≈ 2 × 0.5 ms + base).
    assert.ok(after.latency !== null && after.latency.maxMs < 2, `${after.latency?.maxMs}`);
    assert.equal(cluster.actionsOf('linkDown').length, 0);
  });

  test('a one-way cut of a quiet link takes it down on both sides within the timeout', () => {
    const cluster = new SimCluster({ nodes: 2, links: 2, linkMode: 'passive', seed: 12 });
    cluster.runFor(BACKOFF_SETTLED_MS + 13); // mid-interval: the last echo across the cut was held ≈ 20 ms
    const cutAt = cluster.scheduler.now();
    cluster.network.cut(2, 1, 'in'); // 1 → 2 lost on link 1; 2 → 1 still arrives (its pings reach node 1)
    cluster.runFor(2 * pingTimeoutMs);
    for (const [node, peer] of [
      [1, 2],
      [2, 1],
    ] as const) {
      const down = cluster.actionsOf('linkDown', node).find((entry) => entry.action.link === 1);
      assert.ok(down !== undefined, `node ${node} sees link 1 to ${peer} down`);
      assert.ok(down.at - cutAt <= pingTimeoutMs + LATENCY_SLACK_MS, `node ${node}: ${down.at - cutAt} ms`);
    }
    cluster.runFor(2000);
    assert.ok(!cluster.status(1, 2, 1).connected && !cluster.status(2, 1, 1).connected, 'and it stays down');
    cluster.network.restore(2, 1, 'in');
    cluster.runFor(pingTimeoutMs);
    assert.ok(cluster.status(1, 2, 1).connected && cluster.status(2, 1, 1).connected, 'back up once healed');
  });
});

const CLUSTER = clusterIdFromName('echo');
const LINK = { link: 0, priority: 1, pingIntervalMs: 20, pingTimeoutMs: 250, pongCount: 2, mtu: 1400 };

function newCore(): Transport {
  return new Transport(
    {
      localNodeId: 1,
      clusterId: CLUSTER,
      linkMode: 'passive',
      links: [LINK],
      peers: [{ nodeId: 2, links: [0] }],
      failbackHoldMs: 1000,
      maxMessageBytes: 65536,
      incarnation: 1,
    },
    0,
  );
}

function sentPackets(actions: TransportAction[]): Packet[] {
  const packets: Packet[] = [];
  for (const action of actions) {
    if (action.type !== 'transmit') continue;
    const decoded = decodePacket(action.bytes, CLUSTER);
    assert.ok(decoded.ok);
    packets.push(decoded.packet);
  }
  return packets;
}

describe('echo pings against a peer that only pongs (core)', () => {
  const oldPeer = { clusterId: CLUSTER, sourceNodeId: 2, incarnation: 9, link: 0, seq: 0, flags: 0 };

  test('pongs bring the link up and keep it up; the peer gets a pong for each of its pings and no echo', () => {
    const core = newCore();
    let now = 0;
    let upAt: number | null = null;
    let peerPingSeq = 0;
    for (; now <= BACKOFF_SETTLED_MS; now += 10) {
      const actions = core.step({ type: 'tick' }, now);
      for (const packet of sentPackets(actions)) {
        assert.equal(packet.type, 'ping');
        if (packet.type !== 'ping') continue;
        assert.equal(packet.echo, undefined, 'nothing to echo: the peer always asks for a pong');
        const connected: boolean = upAt !== null;
        assert.equal((packet.header.flags & FLAG_NO_PONG) !== 0, connected, 'a pong is asked for only while coming up');
        // The old peer ignores the flag and answers every ping with a pong, 1 ms later.
        const pong = encodePingPong('pong', oldPeer, packet.pingSeq, packet.sentAtMs);
        const reply = core.step({ type: 'receive', link: 0, bytes: pong }, now + 1);
        if (reply.some((action) => action.type === 'linkUp')) upAt = now + 1;
      }
      if (now % 20 === 0) {
        const ping = encodePingPong('ping', oldPeer, peerPingSeq++, now);
        const answers = sentPackets(core.step({ type: 'receive', link: 0, bytes: ping }, now));
        assert.deepEqual(
          answers.map((packet) => packet.type),
          ['pong'],
        );
      }
    }
    assert.ok(upAt !== null && upAt <= 2 * LINK.pingIntervalMs + 1, `up after 2 pongs: ${upAt}`);
    assert.ok(core.linkStatus(now)[0]?.connected, 'still up after 10 s of pongs only');
    assert.equal(core.counters().rejected.pong_discarded, undefined);
  });

  test('an echo of a ping we never sent, or dated before it was sent, is discarded and counted', () => {
    const core = newCore();
    core.step({ type: 'tick' }, 0); // ping seq 0 at t = 0
    const forged = encodePingPong('ping', oldPeer, 0, 5, { pingSeq: 7, sentAtMs: 0, heldMs: 1 });
    core.step({ type: 'receive', link: 0, bytes: forged }, 5);
    const early = encodePingPong('ping', oldPeer, 1, 6, { pingSeq: 0, sentAtMs: 0, heldMs: 10 });
    core.step({ type: 'receive', link: 0, bytes: early }, 6);
    assert.equal(core.counters().rejected.pong_discarded, 2);
    assert.equal(core.linkStatus(6)[0]?.counters.pongsReceived, 0);
  });
});

describe('echo pings near the pong deadline (core)', () => {
  // corosync's ratio (knet_ping_interval = knet_ping_timeout / 2): an echo, held up to an interval by the peer,
  // leaves no room at all; the fuzz soak's links are timed so (src/sim/fuzz-target.ts).
  const TIGHT_LINK = { ...LINK, pingIntervalMs: 125, pingTimeoutMs: 250 };
  const LATENCY_MS = 1;
  const STEP_MS = 0.5;
  const RUN_MS = 10_000;
  const LATE_FROM_MS = 5000;
  const LATENESS_MS = 97;

  test("a quiet link whose timers leave no room for an echo stays up when the peer's ping timer runs late", () => {
    const core = new Transport(
      {
        localNodeId: 1,
        clusterId: CLUSTER,
        linkMode: 'passive',
        links: [TIGHT_LINK],
        peers: [{ nodeId: 2, links: [0] }],
        failbackHoldMs: 1000,
        maxMessageBytes: 65536,
        incarnation: 1,
      },
      0,
    );
    const peer = { clusterId: CLUSTER, sourceNodeId: 2, incarnation: 9, link: 0, seq: 0, flags: FLAG_NO_PONG };
    const toCore: { at: number; bytes: Uint8Array }[] = [];
    const toPeer: { at: number; packet: Packet }[] = [];
    let heard: { pingSeq: number; sentAtMs: number; at: number } | null = null;
    let peerPingSeq = 0;
    // The peer pings on the grid just before our pings reach it (its echo then waits a whole interval); from
    // LATE_FROM_MS its ping timer fires LATENESS_MS late. It reads its socket on time and pongs when asked.
    const interval = TIGHT_LINK.pingIntervalMs;
    let peerPingAt = interval - STEP_MS;
    const changes: string[] = [];
    const perform = (actions: TransportAction[], now: number) => {
      for (const action of actions) {
        if (action.type === 'linkUp' || action.type === 'linkDown') changes.push(`${action.type} at ${now}`);
      }
      for (const packet of sentPackets(actions)) toPeer.push({ at: now + LATENCY_MS, packet });
    };
    for (let now = 0; now <= RUN_MS; now += STEP_MS) {
      while (toCore.length > 0 && toCore[0]!.at <= now) {
        perform(core.step({ type: 'receive', link: 0, bytes: toCore.shift()!.bytes }, now), now);
      }
      while (toPeer.length > 0 && toPeer[0]!.at <= now) {
        const { packet } = toPeer.shift()!;
        if (packet.type !== 'ping') continue;
        if ((packet.header.flags & FLAG_NO_PONG) !== 0)
          heard = { pingSeq: packet.pingSeq, sentAtMs: packet.sentAtMs, at: now };
        else
          toCore.push({ at: now + LATENCY_MS, bytes: encodePingPong('pong', peer, packet.pingSeq, packet.sentAtMs) });
      }
      if (now >= core.nextDeadline()) perform(core.step({ type: 'tick' }, now), now);
      if (now >= peerPingAt) {
        const echo =
          heard === null ? undefined : { pingSeq: heard.pingSeq, sentAtMs: heard.sentAtMs, heldMs: now - heard.at };
        heard = null;
        toCore.push({ at: now + LATENCY_MS, bytes: encodePingPong('ping', peer, peerPingSeq++, now, echo) });
        const nextGridAt = (Math.floor(now / interval) + 1) * interval - STEP_MS;
        peerPingAt = nextGridAt + (nextGridAt >= LATE_FROM_MS ? LATENESS_MS : 0);
      }
    }
    assert.deepEqual(changes, [changes[0]], 'the link came up once and never went down');
    assert.match(changes[0] ?? '', /^linkUp/);
  });
});
