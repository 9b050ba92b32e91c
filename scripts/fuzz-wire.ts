/**
 * Long wire fuzz: `npm run fuzz:wire -- --packets 5000000 [--seed N]`. Feeds hostile datagrams through crypto,
 * bundle splitting, the wire decoder and the transport core (test/crypto/fuzz-harness.ts) and exits non-zero when
 * an exception escaped or a counter does not add up.
 */
import { parseArgs } from 'node:util';
import { fuzzCore, fuzzProblems, runWireFuzz } from '../test/crypto/fuzz-harness.ts';

const DEFAULT_PACKETS = 5_000_000;
const DEFAULT_SEED = 1;

const { values } = parseArgs({
  options: { packets: { type: 'string' }, seed: { type: 'string' } },
});
const packets = Number(values.packets ?? DEFAULT_PACKETS);
const seed = Number(values.seed ?? DEFAULT_SEED);
if (!Number.isSafeInteger(packets) || packets <= 0 || !Number.isSafeInteger(seed)) {
  console.error('usage: fuzz-wire [--packets N] [--seed N]');
  process.exit(2);
}
const startedAt = performance.now();
const { core, sink, frames } = fuzzCore();
const report = runWireFuzz(seed, packets, sink);
const problems = fuzzProblems(report, core, frames());
const seconds = (performance.now() - startedAt) / 1000;
console.log(
  JSON.stringify(
    {
      seed,
      packets,
      seconds: Math.round(seconds * 10) / 10,
      byKind: report.byKind,
      cryptoAccepted: report.cryptoAccepted,
      cryptoRejected: report.cryptoRejected,
      malformedBundles: report.malformedBundles,
      frames: report.frames,
      wireDecoded: report.wireDecoded,
      wireRejected: report.wireRejected,
      coreRejected: core.counters().rejected,
      problems,
    },
    null,
    2,
  ),
);
process.exit(problems.length === 0 ? 0 : 1);
