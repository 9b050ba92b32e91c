import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { QuorumSimulator } from '../../src/quorum/vqsim.ts';
import { nodelist } from './nodelist.ts';

describe('votequorum: two_node', () => {
  test('without two_node a 2-node cluster that loses its peer is not quorate', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(2) });
    sim.start();
    assert.equal(sim.snapshot(1).quorum, 2);
    assert.deepEqual(sim.quorateNodes(), [1, 2]);
    sim.crash(2);
    assert.deepEqual(sim.quorateNodes(), []);
  });

  test('with two_node: quorum 1, the survivor stays quorate; flags 2Node and WaitForAll', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(2), quorum: { twoNode: true } });
    sim.start();
    assert.equal(sim.snapshot(1).quorum, 1);
    assert.deepEqual(sim.snapshot(1).flags, ['2Node', 'Quorate', 'WaitForAll']);
    sim.crash(2);
    assert.deepEqual(sim.quorateNodes(), [1]);
    assert.equal(sim.snapshot(1).totalVotes, 1);
    assert.equal(sim.snapshot(1).expectedVotes, 2);
  });

  test('with two_node a 1|1 split leaves both halves quorate (it relies on fencing)', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(2), quorum: { twoNode: true } });
    sim.start();
    sim.partition([[1], [2]]);
    assert.deepEqual(sim.quorateNodes(), [1, 2]);
  });

  test('two_node implies wait_for_all: a node starting alone waits until both were seen', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(2), quorum: { twoNode: true } });
    sim.start(1);
    assert.equal(sim.isQuorate(1), false);
    assert.equal(sim.snapshot(1).quorum, 1);
    assert.ok(sim.logs(1).includes('Waiting for all cluster members. Current votes: 1 expected_votes: 2'));
    sim.start(2);
    assert.deepEqual(sim.quorateNodes(), [1, 2]);
    sim.crash(2);
    assert.deepEqual(sim.quorateNodes(), [1], 'once seen together, losing the peer keeps quorum');
  });

  test('two_node with wait_for_all explicitly off: a lone node is quorate at once', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(2), quorum: { twoNode: true, waitForAll: false } });
    sim.start(1);
    assert.equal(sim.isQuorate(1), true);
    assert.deepEqual(sim.snapshot(1).flags, ['2Node', 'Quorate']);
  });

  test('two_node is ineffective only while more than two nodes are members (votequorum.c counts members)', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(3), quorum: { twoNode: true, waitForAll: false } });
    sim.start();
    assert.equal(sim.snapshot(1).quorum, 2);
    sim.partition([[1], [2, 3]]);
    assert.deepEqual(sim.quorateNodes(), [1, 2, 3], 'at most two members on each side: quorum 1 on both');
    assert.equal(sim.snapshot(1).quorum, 1);
    sim.heal();
    sim.crash(3);
    assert.equal(sim.snapshot(1).quorum, 1, 'back to two members: quorum 1 again');
    sim.crash(2);
    assert.deepEqual(sim.quorateNodes(), [1]);
  });
});
