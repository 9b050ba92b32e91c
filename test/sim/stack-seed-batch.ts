// Shared body of the whole-stack seed tests: node:test tests per batch of seeds on transport + Totem + votequorum +
// CPG + the cfs state machine (src/sim/stack-run.ts). Split over several files so node's runner can run them in
// parallel. Replay a failing seed: npm run soak:sim -- --seed N --trace
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shapeForSeed } from '../../src/sim/fuzz-run.ts';
import type { StackInvariantName } from '../../src/sim/stack-checkers.ts';
import { formatStackFailure, runStackSeed, type StackSeedResult } from '../../src/sim/stack-run.ts';

/** Seeds per test file (8 files → 2,000 seeds). */
export const STACK_SEEDS_PER_FILE = 250;

/**
 * Invariants that known defects outside the simulator still break on some seeds (docs/simulator.md, "Known
 * defects"; seeds 1–2000 at the 1 s default: 97 of 2,000 fail, only on these): CPG delivers data held through an
 * abandoned sync in a later view (messages after their sender's leave, members that stay together disagreeing);
 * the store, riding on those views, acknowledges writes the quorate partition never applies; Totem livelocks in
 * COMMIT → RECOVERY → GATHER on a few 6–7 node seeds, so the ring never re-forms. They are reported by a `todo`
 * test of each batch — visible in every run, not failing `npm test` — until fixed; every other invariant fails it.
 */
export const KNOWN_DEFECT_INVARIANTS: ReadonlySet<StackInvariantName> = new Set([
  'cpg-sender-in-view',
  'cpg-virtual-synchrony',
  'cpg-view-agreement',
  'cfs-version-conflict',
  'cfs-ack-lost',
  'convergence',
]);

/** Registers the tests of seeds `first` … `first + STACK_SEEDS_PER_FILE − 1` (3–7 nodes, 1–3 links by seed). */
export function stackSeedBatchTest(first: number): void {
  const last = first + STACK_SEEDS_PER_FILE - 1;
  let results: StackSeedResult[] = [];
  const failures = (known: boolean) =>
    results
      .map((result) => ({
        ...result,
        violations: result.violations.filter((v) => KNOWN_DEFECT_INVARIANTS.has(v.invariant) === known),
      }))
      .filter((result) => result.violations.length > 0)
      .map((result) => formatStackFailure(result));

  test(`quorum, CPG and cfs invariants hold on the whole stack for seeds ${first}–${last}`, () => {
    results = [];
    for (let seed = first; seed <= last; seed++) results.push(runStackSeed({ seed, ...shapeForSeed(seed) }));
    const found = failures(false);
    assert.equal(found.length, 0, `${found.length} failing seeds:\n${found.join('\n\n')}`);
  });

  test(`known defects do not show for seeds ${first}–${last}`, { todo: 'see KNOWN_DEFECT_INVARIANTS' }, () => {
    assert.equal(results.length, STACK_SEEDS_PER_FILE, 'the batch ran');
    const found = failures(true);
    assert.equal(found.length, 0, `${found.length} seeds show known defects:\n${found.join('\n\n')}`);
  });
}
