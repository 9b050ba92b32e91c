import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { QuorumSimulator } from '../../src/quorum/vqsim.ts';

/** One change of the simulated world. */
type Step =
  | { kind: 'partition'; groupOf: number[] }
  | { kind: 'heal' }
  | { kind: 'crash'; index: number }
  | { kind: 'restart'; index: number }
  | { kind: 'advance'; ms: number };

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('partition' as const), groupOf: fc.array(fc.nat(3), { minLength: 7, maxLength: 7 }) }),
  fc.record({ kind: fc.constant('heal' as const) }),
  fc.record({ kind: fc.constant('crash' as const), index: fc.nat(6) }),
  fc.record({ kind: fc.constant('restart' as const), index: fc.nat(6) }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 30000 }) }),
);

const scenarioArbitrary = fc.record({
  votes: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 2, maxLength: 7 }),
  extraExpected: fc.nat(3),
  waitForAll: fc.boolean(),
  steps: fc.array(stepArbitrary, { minLength: 1, maxLength: 8 }),
});

function apply(sim: QuorumSimulator, nodeIds: number[], step: Step): void {
  const running = new Set(sim.runningNodes());
  if (step.kind === 'partition') {
    const groups = [0, 1, 2, 3].map((group) => nodeIds.filter((_, index) => (step.groupOf[index] ?? 0) === group));
    sim.partition(groups);
  } else if (step.kind === 'heal') {
    sim.heal();
  } else if (step.kind === 'advance') {
    sim.advance(step.ms);
  } else {
    const nodeId = nodeIds[step.index % nodeIds.length] ?? 1;
    if (step.kind === 'crash' && running.has(nodeId)) sim.crash(nodeId);
    if (step.kind === 'restart' && !running.has(nodeId)) sim.start(nodeId);
  }
}

/** Runs the steps, checking after each that at most one ring is quorate and every ring agrees with itself. */
function checkRun(sim: QuorumSimulator, nodeIds: number[], steps: readonly Step[]): void {
  sim.start();
  for (const step of steps) {
    apply(sim, nodeIds, step);
    const quorateRings = sim.currentRings().filter((ring) => ring.some((nodeId) => sim.isQuorate(nodeId)));
    assert.ok(quorateRings.length <= 1, `quorate rings: ${JSON.stringify(quorateRings)}`);
    for (const ring of sim.currentRings()) {
      const states = new Set(ring.map((nodeId) => sim.isQuorate(nodeId)));
      assert.equal(states.size, 1, `ring ${ring.join(',')} disagrees`);
    }
  }
}

describe('votequorum: split-brain safety', () => {
  test('random votes, partitions, crashes, restarts: at most one quorate partition (no option lowers quorum)', () => {
    fc.assert(
      fc.property(scenarioArbitrary, ({ votes, extraExpected, waitForAll, steps }) => {
        const nodelistVotes = votes.reduce((sum, vote) => sum + vote, 0);
        fc.pre(nodelistVotes > 0);
        const nodelist = votes.map((quorumVotes, index) => ({ nodeId: index + 1, quorumVotes }));
        const sim = new QuorumSimulator({
          nodelist,
          quorum: { waitForAll, expectedVotes: extraExpected > 0 ? nodelistVotes + extraExpected : undefined },
        });
        checkRun(
          sim,
          nodelist.map((node) => node.nodeId),
          steps,
        );
      }),
      { seed: 20261124, numRuns: 300 },
    );
  });

  test('last_man_standing with wait_for_all (one vote each, as required) keeps the same guarantee', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 7 }),
        fc.array(stepArbitrary, { minLength: 1, maxLength: 10 }),
        (count, steps) => {
          const nodelist = Array.from({ length: count }, (_, index) => ({ nodeId: index + 1 }));
          const sim = new QuorumSimulator({ nodelist, quorum: { waitForAll: true, lastManStanding: true } });
          checkRun(
            sim,
            nodelist.map((node) => node.nodeId),
            steps,
          );
        },
      ),
      { seed: 424242, numRuns: 300 },
    );
  });

  test('sanity of the check: two_node does split a 1|1 partition', () => {
    const sim = new QuorumSimulator({
      nodelist: [{ nodeId: 1 }, { nodeId: 2 }],
      quorum: { twoNode: true },
    });
    assert.throws(
      () => checkRun(sim, [1, 2], [{ kind: 'partition', groupOf: [0, 1] }]),
      /quorate rings: \[\[1\],\[2\]\]/,
    );
  });
});
