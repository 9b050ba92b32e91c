// Whole-stack seeds that once broke an invariant (issue 12), replayed as regression tests: each ran into a defect
// that is fixed now, so each must pass. The commit that fixed it names the trace lines.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatStackFailure, runStackSeed, type StackSeedOptions } from '../../src/sim/stack-run.ts';

const REPLAYS: { defect: string; seed: StackSeedOptions; acknowledged?: string }[] = [
  {
    defect: 'CPG delivered messages held through an abandoned sync in a later view',
    seed: { seed: 61, nodes: 4, links: 1, safetyMs: 2000 },
  },
  {
    defect: 'CPG delivered a message held through a sync after the view without its sender',
    seed: { seed: 82, nodes: 5, links: 2 },
  },
  {
    defect: "CPG delivered a message queued behind its node's SYNC in a view without its sender",
    seed: { seed: 482, nodes: 5, links: 1 },
  },
  {
    defect: 'cfs acknowledged a write that only the partitioned token holder had delivered',
    seed: { seed: 305, nodes: 3, links: 2, safetyMs: 2000 },
    acknowledged: 'f2=w5',
  },
  {
    defect: 'Totem re-formed the ring without node 1 every consensus round (COMMIT → RECOVERY → GATHER livelock)',
    seed: { seed: 694, nodes: 7, links: 1 },
  },
  {
    defect:
      "Totem: nodes 3 and 4 re-formed rings of one every 0.1–0.2 ms, each one's ring-of-one JOIN failing the other back",
    seed: { seed: 4098, nodes: 6, links: 1 },
  },
  {
    defect:
      "CPG dropped a departed node's old-ring messages in the transitional configuration its sender had delivered them in the old view",
    seed: { seed: 5791, nodes: 4, links: 1 },
  },
];

for (const { defect, seed, acknowledged } of REPLAYS) {
  test(`seed ${seed.seed} (${seed.nodes} nodes, ${seed.links} links): ${defect} — no longer`, () => {
    const result = runStackSeed(seed);
    assert.deepEqual(result.violations, [], formatStackFailure(result));
    if (acknowledged === undefined) return;
    const write = result.records.cfsWrites.find((w) => `${w.path}=${w.data}` === acknowledged);
    assert.ok(write, `the schedule still submits ${acknowledged}`);
    assert.equal(write.result?.ok, false, `${acknowledged} is refused, not acknowledged`);
  });
}
