// The fuzz runner against an ideal stand-in cluster: proves the harness itself (schedules, healing, liveness,
// checkers, replay output) before it is pointed at the real Totem cluster.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatFailure, minimise, runSeed, shapeForSeed } from '../../src/sim/fuzz-run.ts';
import { createIdealCluster } from './ideal-cluster.ts';

describe('fuzz runner on an ideal cluster', () => {
  test('200 seeds of faults keep every invariant and converge', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const result = runSeed(createIdealCluster, { seed, ...shapeForSeed(seed) });
      assert.deepEqual(result.violations, [], formatFailure(result));
      assert.ok(result.stats.submitted > 0 && result.stats.deliveries >= result.stats.submitted);
    }
  });

  test('a run is a pure function of its seed', () => {
    const a = runSeed(createIdealCluster, { seed: 42, nodes: 5, links: 2 });
    const b = runSeed(createIdealCluster, { seed: 42, nodes: 5, links: 2 });
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.schedule, runSeed(createIdealCluster, { seed: 43, nodes: 5, links: 2 }).schedule);
  });

  test('a cluster that loses one delivery is caught, reported with a replay command, and minimised', () => {
    const flawed = (options: { seed: number; nodes: number; links: number }) =>
      createIdealCluster(options, 'node2-skips-a-message');
    const options = { seed: 3, nodes: 4, links: 2 };
    const result = runSeed(flawed, options);
    const invariants = new Set(result.violations.map((v) => v.invariant));
    assert.ok(invariants.has('virtual-synchrony'), formatFailure(result));
    assert.match(formatFailure(result), /replay: npm run soak:sim -- --seed 3 --nodes 4 --links 2 --totem$/);
    const small = minimise(flawed, result, options);
    assert.ok(small.schedule.length < result.schedule.length);
    assert.equal(small.violations[0]?.invariant, result.violations[0]?.invariant);
    assert.match(
      formatFailure(small),
      /replay: npm run soak:sim -- --seed 3 --nodes 4 --links 2 --totem --schedule '\[.*\]'$/,
    );
    assert.deepEqual(runSeed(flawed, options, small.schedule).violations, small.violations);
  });
});
