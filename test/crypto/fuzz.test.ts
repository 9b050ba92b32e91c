import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fuzzCore, fuzzProblems, runWireFuzz } from './fuzz-harness.ts';

const FUZZ_SEED = 20_261_124;
const FUZZ_DATAGRAMS = 200_000;

test(`fuzz: ${FUZZ_DATAGRAMS} hostile datagrams through crypto, bundle split, wire decoder and transport core`, () => {
  const { core, sink, frames } = fuzzCore();
  const report = runWireFuzz(FUZZ_SEED, FUZZ_DATAGRAMS, sink);
  assert.deepEqual(fuzzProblems(report, core, frames()), []);
  assert.ok(report.byKind.fresh > 0 && report.byKind.bitflip > 0 && report.byKind.replayed > 0);
});
