// Passive mode: a silently pulled data cable (no send error) is covered by the standby link once the data link
// misses one pong, long before the link is declared down (the ping timeout); a healthy link is never covered.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BUSY_PING_RATE_MULTIPLIER, SUSPECT_PONG_GRACE_MIN_MS } from '../../src/transport/limits.ts';
import { PacketTypeCode } from '../../src/wire/packet.ts';
import { BACKOFF_SETTLED_MS, FAST_PROFILE, SimCluster } from './harness.ts';

const STREAM_EVERY_MS = 1;
const STREAM_MS = 1000;

/** One missed pong at the busy ping interval, plus the grace, plus a round trip of the simulated LAN. */
const ONE_MISSED_PONG_MS = FAST_PROFILE.pingIntervalMs / BUSY_PING_RATE_MULTIPLIER + SUSPECT_PONG_GRACE_MIN_MS + 1;

function idOf(payload: Uint8Array): number {
  return new DataView(payload.buffer, payload.byteOffset).getUint32(0);
}

function message(id: number): Uint8Array {
  const payload = new Uint8Array(4);
  new DataView(payload.buffer).setUint32(0, id);
  return payload;
}

/** Node 1 sends node 2 one message per ms for `ms` (ids from `first`); returns the number sent. */
function stream(cluster: SimCluster, first: number, ms: number): () => number {
  let next = first;
  const until = cluster.scheduler.now() + ms;
  const send = () => {
    if (cluster.scheduler.now() >= until) return;
    cluster.step(1, { type: 'send', to: 2, payload: message(next++) });
    cluster.scheduler.after(STREAM_EVERY_MS, send);
  };
  send();
  return () => next - first;
}

function longestGap(times: number[]): number {
  let gap = 0;
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!);
  return gap;
}

describe('passive mode: suspect data link', () => {
  test('a silent cut of the data link: the stream continues on the standby link well before link-down', () => {
    const cluster = new SimCluster({ nodes: 2, links: 2, linkMode: 'passive', seed: 7, priorityOf: (l) => 10 - l });
    cluster.runFor(BACKOFF_SETTLED_MS + 500);
    const deliveredAt: number[] = [];
    const payloads = new Set<number>();
    cluster.onDeliver((node, from, payload) => {
      if (node !== 2 || from !== 1) return;
      const id = new DataView(payload.buffer, payload.byteOffset).getUint32(0);
      assert.ok(!payloads.has(id), `message ${id} delivered twice`);
      payloads.add(id);
      deliveredAt.push(cluster.scheduler.now());
    });
    const start = cluster.scheduler.now();
    let next = 0;
    const send = () => {
      if (cluster.scheduler.now() - start >= STREAM_MS) return;
      const payload = new Uint8Array(4);
      new DataView(payload.buffer).setUint32(0, next++);
      cluster.step(1, { type: 'send', to: 2, payload });
      cluster.scheduler.after(STREAM_EVERY_MS, send);
    };
    send();
    cluster.runFor(300);
    // The receiving side's cable in: frames vanish without any send error at node 1.
    cluster.network.cut(2, 0, 'in');
    cluster.network.cut(1, 0, 'in');
    const cutAt = cluster.scheduler.now();
    cluster.runFor(STREAM_MS);
    const gap = longestGap(deliveredAt.filter((t) => t >= cutAt - 50));
    assert.ok(
      gap < FAST_PROFILE.pingTimeoutMs / 2,
      `longest delivery gap ${gap} ms (ping timeout ${FAST_PROFILE.pingTimeoutMs} ms)`,
    );
    assert.equal(payloads.size, next, 'every message delivered exactly once');
    assert.ok(cluster.cores.get(1)!.counters().suspectResends > 0);
    assert.equal(cluster.status(1, 2, 0).connected, false, 'link 0 is declared down in the end');
  });

  test('the last message before a silent cut is re-sent on the standby within one missed pong, with nothing sent after it', () => {
    const cluster = new SimCluster({ nodes: 2, links: 2, linkMode: 'passive', seed: 11, priorityOf: (l) => 10 - l });
    cluster.runFor(BACKOFF_SETTLED_MS + 500);
    const deliveredAt = new Map<number, number>();
    cluster.onDeliver((node, from, payload) => {
      if (node === 2 && from === 1) deliveredAt.set(idOf(payload), cluster.scheduler.now());
    });
    stream(cluster, 0, 100);
    cluster.runFor(100);
    cluster.network.cut(2, 0, 'in');
    cluster.network.cut(1, 0, 'in');
    const sentAt = cluster.scheduler.now();
    cluster.step(1, { type: 'send', to: 2, payload: message(1000) });
    cluster.runFor(FAST_PROFILE.pingTimeoutMs / 2);
    const at = deliveredAt.get(1000);
    assert.ok(at !== undefined, 'the message is delivered before the link is declared down');
    assert.ok(at - sentAt <= ONE_MISSED_PONG_MS, `delivered ${at - sentAt} ms after it was sent`);
    assert.ok(cluster.cores.get(1)!.counters().suspectResends > 0);
    assert.equal(cluster.status(1, 2, 0).connected, true, 'link 0 is not yet declared down');
  });

  test('a healthy data link whose pongs jitter by a round trip is never covered (no standby traffic)', () => {
    const cluster = new SimCluster({ nodes: 2, links: 2, linkMode: 'passive', seed: 13, priorityOf: (l) => 10 - l });
    cluster.network.setConditions(0, { delayMs: 0.5, jitterMs: 0.5 });
    cluster.runFor(BACKOFF_SETTLED_MS + 500);
    const delivered = new Set<number>();
    cluster.onDeliver((node, from, payload) => {
      if (node === 2 && from === 1) delivered.add(idOf(payload));
    });
    const sent = stream(cluster, 0, STREAM_MS);
    cluster.runFor(STREAM_MS + 50);
    assert.equal(delivered.size, sent(), 'every message delivered');
    assert.equal(cluster.cores.get(1)!.counters().suspectResends, 0);
    assert.equal(cluster.status(1, 2, 1).counters.txPackets > 0, true, 'link 1 carried heartbeats');
    const dataOnStandby = cluster.recorded.filter(
      (r) =>
        r.node === 1 &&
        r.action.type === 'transmit' &&
        r.action.link === 1 &&
        r.action.bytes[3] === PacketTypeCode.data,
    );
    assert.equal(dataOnStandby.length, 0, 'no data frame went on the standby link');
  });
});
