// Whole-stack seeds on a large ring (issue 14): transport + Totem + votequorum + CPG + cfs on 64 nodes through the
// seeded fault schedules. The 128-node soak is a command (docs/simulator.md § Large rings); this keeps the path
// (heartbeat fan-out, the work budget, the checkers at scale) exercised in CI.
// Replay: npm run soak:sim -- --seed N --nodes 64 --links L --trace
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shapeForSeed } from '../../src/sim/fuzz-run.ts';
import { formatStackFailure, runStackSeed } from '../../src/sim/stack-run.ts';

const LARGE_RING_NODES = 64;
/** Seeds 1 (1 link) and 5 (2 links): see shapeForSeed. */
const LARGE_RING_SEEDS = [1, 5];

test(`quorum, CPG and cfs invariants hold on ${LARGE_RING_NODES}-node rings for seeds ${LARGE_RING_SEEDS}`, () => {
  const found: string[] = [];
  for (const seed of LARGE_RING_SEEDS) {
    const result = runStackSeed({ seed, nodes: LARGE_RING_NODES, links: shapeForSeed(seed).links });
    assert.equal(result.nodes, LARGE_RING_NODES);
    if (result.violations.length > 0) found.push(formatStackFailure(result));
  }
  assert.equal(found.length, 0, `${found.length} failing seeds:\n${found.join('\n\n')}`);
});
