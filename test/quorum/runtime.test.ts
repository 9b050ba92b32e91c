import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { QuorumSimulator } from '../../src/quorum/vqsim.ts';
import { nodelist } from './nodelist.ts';

const ACCEPTED = { type: 'requestResult', request: 'setExpected', ok: true } as const;
const REFUSED = { type: 'requestResult', request: 'setExpected', ok: false, error: 'CS_ERR_INVALID_PARAM' } as const;

describe('votequorum: runtime expected votes (corosync-quorumtool -e / pvecm expected)', () => {
  test('an isolated node made quorate with expected 1', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(3) });
    sim.start();
    sim.partition([[1], [2, 3]]);
    assert.equal(sim.isQuorate(1), false);
    assert.deepEqual(sim.setExpected(1, 1), ACCEPTED);
    assert.equal(sim.isQuorate(1), true);
    assert.equal(sim.snapshot(1).expectedVotes, 1);
    assert.equal(sim.snapshot(1).quorum, 1);
    assert.deepEqual(sim.snapshot(2).expectedVotes, 3, 'the other partition did not see the change');
    sim.heal();
    assert.deepEqual(sim.quorateNodes(), [1, 2, 3]);
    assert.equal(sim.snapshot(1).expectedVotes, 3, 'raised again to the votes present');
  });

  test('refused below the current total votes', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(3) });
    sim.start();
    assert.deepEqual(sim.setExpected(1, 2), REFUSED);
    assert.equal(sim.snapshot(2).expectedVotes, 3);
  });

  test('refused when a quorate cluster would lose quorum; accepted while it keeps it', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(3) });
    sim.start();
    assert.deepEqual(sim.setExpected(2, 6), REFUSED, 'quorum 4 > 3 votes');
    assert.deepEqual(sim.setExpected(2, 5), ACCEPTED, 'quorum 3 ≤ 3 votes');
    for (const nodeId of [1, 2, 3]) {
      assert.equal(sim.snapshot(nodeId).expectedVotes, 5, `applied cluster-wide (node ${nodeId})`);
      assert.equal(sim.snapshot(nodeId).quorum, 3);
    }
    assert.deepEqual(sim.quorateNodes(), [1, 2, 3]);
    sim.crash(3);
    assert.deepEqual(sim.quorateNodes(), [], 'with 5 expected two nodes are no longer enough');
  });

  test('lowering expected votes lowers quorum cluster-wide', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(5) });
    sim.start();
    sim.crash(5);
    sim.crash(4);
    assert.deepEqual(sim.setExpected(1, 3), ACCEPTED);
    assert.equal(sim.snapshot(3).quorum, 2);
    sim.crash(3);
    assert.deepEqual(sim.quorateNodes(), [1, 2]);
  });

  test('refuses a value that is not a vote count', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(1) });
    sim.start();
    assert.deepEqual(sim.setExpected(1, -1), REFUSED);
    assert.deepEqual(sim.setExpected(1, 1.5), REFUSED);
  });
});

describe('votequorum: runtime votes (corosync-quorumtool -v)', () => {
  test('more votes for one node raise expected votes and quorum everywhere', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(3) });
    sim.start();
    assert.deepEqual(sim.setVotes(2, 1, 3), { type: 'requestResult', request: 'setVotes', ok: true });
    for (const nodeId of [1, 2, 3]) {
      const status = sim.snapshot(nodeId);
      assert.deepEqual([status.totalVotes, status.expectedVotes, status.quorum], [5, 5, 3]);
      assert.equal(status.members[0]?.votes, 3);
    }
    sim.partition([[1], [2, 3]]);
    assert.deepEqual(sim.quorateNodes(), [1]);
  });

  test('zero votes for a node are accepted when quorum stays reachable', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(3) });
    sim.start();
    assert.deepEqual(sim.setVotes(1, 3, 0), { type: 'requestResult', request: 'setVotes', ok: true });
    assert.equal(sim.snapshot(1).totalVotes, 2);
    assert.equal(sim.snapshot(1).quorum, 2);
    assert.deepEqual(sim.quorateNodes(), [1, 2, 3]);
  });

  test('unknown node: CS_ERR_NAME_NOT_FOUND; quorum above the total: CS_ERR_INVALID_PARAM', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(3) });
    sim.start();
    assert.deepEqual(sim.setVotes(1, 9, 1), {
      type: 'requestResult',
      request: 'setVotes',
      ok: false,
      error: 'CS_ERR_NAME_NOT_FOUND',
    });
    sim.crash(3);
    assert.deepEqual(sim.setVotes(1, 2, 0), {
      type: 'requestResult',
      request: 'setVotes',
      ok: false,
      error: 'CS_ERR_INVALID_PARAM',
    });
    assert.equal(sim.snapshot(1).members[1]?.votes, 1);
  });
});
