// A failed assertion in a core under the simulator fails the seed: reported as an `assertion` violation naming the
// invariant, with the command that replays the seed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SimCluster } from '../../src/sim/cluster.ts';
import { type ClusterFactory, formatFailure, runSeed } from '../../src/sim/fuzz-run.ts';
import { createFuzzCluster } from '../../src/sim/fuzz-target.ts';
import type { SimNode } from '../../src/sim/node.ts';

/** The real stack, with node 2's Totem made to believe at 1 s that it delivered far ahead in its ring. */
const corrupted: ClusterFactory = (options) => {
  const cluster = createFuzzCluster(options) as SimCluster;
  cluster.scheduler.at(1000, () => {
    const totem = (Reflect.get(cluster, 'current') as Map<number, SimNode>).get(2)!.totem;
    const ringId = totem.snapshot().ringId!;
    Reflect.set(totem, 'deliveredRingRep', ringId.rep);
    Reflect.set(totem, 'deliveredRingSeq', ringId.seq);
    Reflect.set(totem, 'deliveredSeq', Number.MAX_SAFE_INTEGER);
  });
  return cluster;
};

describe('fuzz runner and assertions', () => {
  test('an assertion that fires in a core fails the seed with the invariant and a replay command', () => {
    const options = { seed: 7, nodes: 3, links: 1 };
    const result = runSeed(corrupted, options);
    const failure = result.violations.find((violation) => violation.invariant === 'assertion');
    assert.ok(failure, formatFailure(result));
    assert.match(failure.detail, /Totem: delivery is strictly in seq order within a ring/);
    assert.match(formatFailure(result), /replay: npm run soak:sim -- --seed 7 --nodes 3 --links 1 --totem$/);
    assert.deepEqual(runSeed(createFuzzCluster, options).violations, [], 'the same seed passes on the intact stack');
  });
});
