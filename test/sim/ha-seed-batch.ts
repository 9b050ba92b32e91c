// Shared body of the HA seed tests: the HA engine on the whole stack with a model of service processes and
// watchdogs (src/sim/ha-run.ts). Split over several files so node's runner runs them in parallel.
// Replay a failing seed: npm run soak:sim -- --ha --seed N --trace
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatHaFailure, type HaSeedResult, haShapeForSeed, runHaSeed } from '../../src/sim/ha-run.ts';

/** Seeds per test file (8 files → 2,000 seeds). */
export const HA_SEEDS_PER_FILE = 250;

/** Registers the test of seeds `first` … `first + HA_SEEDS_PER_FILE − 1`. */
export function haSeedBatchTest(first: number): void {
  const last = first + HA_SEEDS_PER_FILE - 1;
  test(`HA: no two nodes run a service, no command runs twice, every service runs after healing: seeds ${first}–${last}`, () => {
    const results: HaSeedResult[] = [];
    for (let seed = first; seed <= last; seed++) results.push(runHaSeed({ seed, ...haShapeForSeed(seed) }));
    const failed = results.filter((r) => r.violations.length > 0).map((r) => formatHaFailure(r));
    assert.equal(failed.length, 0, `${failed.length} failing seeds:\n${failed.join('\n\n')}`);
    assert.ok(
      results.some((r) => r.stats.recoveries > 0),
      'some seed recovers a lost node’s services (the batch exercises fencing)',
    );
    assert.ok(
      results.some((r) => r.stats.partitionsJudged > 0),
      'some seed ends its fault phase with a stable quorate partition (the liveness check under faults runs)',
    );
    // The ring not re-forming after healing is a known Totem defect (docs/simulator.md): rare, liveness unjudged.
    assert.ok(results.filter((r) => r.unconverged).length <= HA_SEEDS_PER_FILE / 20, 'few seeds fail to converge');
  });
}
