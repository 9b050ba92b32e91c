// Shared body of the randomized seed tests: one node:test test per batch of seeds on the real Totem stack
// (SimCluster). Split over several files so node's runner can run them in parallel.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatFailure, runSeed, shapeForSeed } from '../../src/sim/fuzz-run.ts';
import { createFuzzCluster } from '../../src/sim/fuzz-target.ts';

/** Seeds per test file (8 files → 2,000 seeds). */
export const SEEDS_PER_FILE = 250;

/** Registers a test that runs seeds `first` … `first + SEEDS_PER_FILE − 1` (3–7 nodes, 1–3 links by seed). */
export function seedBatchTest(first: number): void {
  const last = first + SEEDS_PER_FILE - 1;
  test(`EVS safety and liveness hold for seeds ${first}–${last}`, () => {
    const failures: string[] = [];
    for (let seed = first; seed <= last; seed++) {
      const result = runSeed(createFuzzCluster, { seed, ...shapeForSeed(seed) });
      if (result.violations.length > 0) failures.push(formatFailure(result, { schedule: false }));
    }
    assert.equal(failures.length, 0, `${failures.length} failing seeds:\n${failures.join('\n\n')}`);
  });
}
