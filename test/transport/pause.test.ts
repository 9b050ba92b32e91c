// A paused process (GC, blocked event loop, stopped VM) must not blame its links for the silence it caused: the
// pongs it could not read were sent. Its peers, which really heard nothing, do declare it down.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BACKOFF_SETTLED_MS, FAST_PROFILE, SimCluster } from './harness.ts';

const PAUSE_MS = 2 * FAST_PROFILE.pingTimeoutMs + 100;

describe('transport: a paused process', () => {
  test('keeps its links up across a pause longer than the ping timeout and says it was not scheduled', () => {
    const cluster = new SimCluster({ nodes: 2, links: 2, linkMode: 'passive', seed: 11 });
    cluster.runFor(BACKOFF_SETTLED_MS);
    const pausedAt = cluster.scheduler.now();
    cluster.pause(1, PAUSE_MS);
    cluster.runFor(PAUSE_MS + 2000);

    assert.deepEqual(
      cluster.actionsOf('linkDown', 1).filter((entry) => entry.at >= pausedAt),
      [],
      'the paused node declares no link down',
    );
    const warnings = cluster
      .actionsOf('log', 1)
      .filter((entry) => entry.at >= pausedAt && /not scheduled for (\d+) ms/.test(entry.action.message));
    assert.equal(warnings.length, 1, 'one warning names the pause');
    const pausedMs = Number(/not scheduled for (\d+) ms/.exec(warnings[0]!.action.message)![1]);
    assert.ok(pausedMs > FAST_PROFILE.pingTimeoutMs && pausedMs <= PAUSE_MS, `pause reported as ${pausedMs} ms`);
    assert.equal(cluster.cores.get(1)!.counters().pauses, 1);

    assert.ok(cluster.actionsOf('linkDown', 2).length > 0, 'the peer, which heard nothing, declared links down');
    for (const link of [0, 1]) {
      assert.equal(cluster.status(1, 2, link).connected, true, `node 1 → 2 link ${link} up`);
      assert.equal(cluster.status(2, 1, link).connected, true, `node 2 → 1 link ${link} up again`);
    }
  });

  test('a pause shorter than the threshold changes nothing and logs nothing', () => {
    const cluster = new SimCluster({ nodes: 2, links: 1, linkMode: 'passive', seed: 12 });
    cluster.runFor(BACKOFF_SETTLED_MS);
    cluster.pause(1, 30);
    cluster.runFor(1000);
    assert.equal(cluster.cores.get(1)!.counters().pauses, 0);
    assert.equal(cluster.actionsOf('linkDown').length, 0);
  });
});
