import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { QuorumSimulator } from '../../src/quorum/vqsim.ts';
import { nodelist } from './nodelist.ts';

const WINDOW_MS = 10000;

function expectedAndQuorum(sim: QuorumSimulator, nodeId: number): [number, number] {
  const status = sim.snapshot(nodeId);
  return [status.expectedVotes, status.quorum];
}

describe('votequorum: last_man_standing', () => {
  test('steps down 5 → 4 → 3 → 2, each time only after the window', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(5), quorum: { lastManStanding: true } });
    sim.start();
    assert.deepEqual(sim.snapshot(1).flags, ['Quorate', 'LastManStanding']);
    assert.equal(sim.core(1).nextDeadline(), Number.POSITIVE_INFINITY, 'no window without a loss');
    for (const [lost, remaining] of [
      [5, 4],
      [4, 3],
      [3, 2],
    ] as const) {
      const expectedBefore = sim.snapshot(1).expectedVotes;
      sim.crash(lost);
      assert.equal(sim.isQuorate(1), true);
      assert.equal(sim.core(1).nextDeadline(), sim.now() + WINDOW_MS);
      sim.advance(WINDOW_MS - 1);
      assert.equal(sim.snapshot(1).expectedVotes, expectedBefore, `not before the window (${remaining} left)`);
      sim.advance(1);
      assert.deepEqual(expectedAndQuorum(sim, 1), [remaining, Math.floor(remaining / 2) + 1]);
      assert.equal(sim.snapshot(1).highestExpected, remaining);
      assert.deepEqual(sim.quorateNodes().length, remaining);
    }
    sim.crash(2);
    assert.deepEqual(sim.quorateNodes(), [], '2 → 1 needs auto_tie_breaker');
    sim.advance(WINDOW_MS);
    assert.deepEqual(expectedAndQuorum(sim, 1), [2, 2]);
  });

  test('a further loss inside the window restarts it', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(5), quorum: { lastManStanding: true } });
    sim.start();
    sim.crash(5);
    sim.advance(WINDOW_MS / 2);
    sim.crash(4);
    assert.deepEqual(sim.quorateNodes(), [1, 2, 3]);
    sim.advance(WINDOW_MS / 2);
    assert.deepEqual(expectedAndQuorum(sim, 1), [5, 3], 'the first window was cancelled');
    sim.advance(WINDOW_MS / 2);
    assert.deepEqual(expectedAndQuorum(sim, 1), [3, 2]);
  });

  test('losing a majority at once is not rescued', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(5), quorum: { lastManStanding: true } });
    sim.start();
    sim.partition([
      [1, 2],
      [3, 4, 5],
    ]);
    assert.deepEqual(sim.quorateNodes(), [3, 4, 5]);
    sim.advance(WINDOW_MS * 3);
    assert.deepEqual(sim.quorateNodes(), [3, 4, 5]);
    assert.deepEqual(expectedAndQuorum(sim, 1), [5, 3]);
    assert.deepEqual(expectedAndQuorum(sim, 3), [3, 2]);
  });

  test('without last_man_standing expected votes stay put', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(5) });
    sim.start();
    sim.crash(5);
    assert.equal(sim.core(1).nextDeadline(), Number.POSITIVE_INFINITY);
    sim.advance(WINDOW_MS * 2);
    assert.deepEqual(expectedAndQuorum(sim, 1), [5, 3]);
  });

  test('a custom window is honoured', () => {
    const sim = new QuorumSimulator({
      nodelist: nodelist(3),
      quorum: { lastManStanding: true, lastManStandingWindowMs: 20000 },
    });
    sim.start();
    sim.crash(3);
    sim.advance(19999);
    assert.deepEqual(expectedAndQuorum(sim, 1), [3, 2]);
    sim.advance(1);
    assert.deepEqual(expectedAndQuorum(sim, 1), [2, 2]);
  });

  test('with auto_tie_breaker (and wait_for_all) the lowest node goes on alone: 2 → 1', () => {
    const sim = new QuorumSimulator({
      nodelist: nodelist(3),
      quorum: { lastManStanding: true, autoTieBreaker: true, waitForAll: true },
    });
    sim.start();
    sim.crash(3);
    sim.advance(WINDOW_MS);
    assert.deepEqual(expectedAndQuorum(sim, 1), [2, 2]);
    sim.partition([[1], [2]]);
    assert.deepEqual(sim.quorateNodes(), [1], 'the half with the lowest node id keeps quorum');
    sim.advance(WINDOW_MS);
    assert.deepEqual(expectedAndQuorum(sim, 1), [1, 1]);
    assert.deepEqual(expectedAndQuorum(sim, 2), [2, 2]);
    assert.deepEqual(sim.quorateNodes(), [1]);
  });

  test('a node with more than one vote disables last_man_standing', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(3, [2, 1, 1]), quorum: { lastManStanding: true } });
    sim.start();
    assert.ok(
      sim
        .logs(1)
        .includes(
          'Last Man Standing feature is supported only when all cluster nodes votes are set to 1. Disabling LMS.',
        ),
    );
    assert.deepEqual(sim.snapshot(2).flags, ['Quorate']);
    sim.crash(3);
    assert.equal(sim.core(1).nextDeadline(), Number.POSITIVE_INFINITY);
  });

  test('a restarted node adopts the lowered expected votes of the quorate cluster', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(5), quorum: { lastManStanding: true } });
    sim.start();
    sim.crash(5);
    sim.crash(4);
    sim.advance(WINDOW_MS);
    assert.deepEqual(expectedAndQuorum(sim, 1), [3, 2]);
    sim.crash(3);
    sim.start(3);
    assert.deepEqual(sim.quorateNodes(), [1, 2, 3]);
    assert.deepEqual(expectedAndQuorum(sim, 3), [3, 2]);
  });
});
