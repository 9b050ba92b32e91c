// Passive mode: a silently pulled data cable (no send error) is covered by the standby link after a few missed
// pongs, long before the link is declared down (the ping timeout).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BACKOFF_SETTLED_MS, FAST_PROFILE, SimCluster } from './harness.ts';

const STREAM_EVERY_MS = 1;
const STREAM_MS = 1000;

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
});
