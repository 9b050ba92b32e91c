// Shared body of the whole-stack seed tests: node:test tests per batch of seeds on transport + Totem + votequorum +
// CPG + the cfs service engine (src/sim/stack-run.ts). Split over several files so node's runner can run them in
// parallel. Replay a failing seed: npm run soak:sim -- --seed N --trace
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shapeForSeed } from '../../src/sim/fuzz-run.ts';
import { formatStackFailure, runStackSeed } from '../../src/sim/stack-run.ts';

/** Seeds per test file (8 files → 2,000 seeds). */
export const STACK_SEEDS_PER_FILE = 250;

/** Registers the tests of seeds `first` … `first + STACK_SEEDS_PER_FILE − 1` (3–7 nodes, 1–3 links by seed). */
export function stackSeedBatchTest(first: number): void {
  const last = first + STACK_SEEDS_PER_FILE - 1;
  test(`quorum, CPG and cfs invariants hold on the whole stack for seeds ${first}–${last}`, () => {
    const found: string[] = [];
    for (let seed = first; seed <= last; seed++) {
      const result = runStackSeed({ seed, ...shapeForSeed(seed) });
      if (result.violations.length > 0) found.push(formatStackFailure(result));
    }
    assert.equal(found.length, 0, `${found.length} failing seeds:\n${found.join('\n\n')}`);
  });
}
