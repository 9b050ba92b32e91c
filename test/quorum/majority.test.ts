import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { QuorumSimulator } from '../../src/quorum/vqsim.ts';
import { nodelist } from './nodelist.ts';

describe('votequorum: basic majority', () => {
  test('3 nodes: quorum 2, survives one failure, not two', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(3) });
    sim.start();
    assert.deepEqual(sim.quorateNodes(), [1, 2, 3]);
    const status = sim.snapshot(1);
    assert.equal(status.quorum, 2);
    assert.equal(status.expectedVotes, 3);
    assert.equal(status.highestExpected, 3);
    assert.equal(status.totalVotes, 3);
    assert.equal(status.nodes, 3);
    assert.deepEqual(status.flags, ['Quorate']);
    sim.crash(3);
    assert.deepEqual(sim.quorateNodes(), [1, 2]);
    assert.equal(sim.snapshot(1).totalVotes, 2);
    assert.equal(sim.snapshot(1).expectedVotes, 3, 'expected votes never go down on their own');
    sim.crash(2);
    assert.deepEqual(sim.quorateNodes(), []);
    assert.equal(sim.snapshot(1).quorum, 2);
  });

  test('3 nodes partitioned 2|1: only the pair is quorate; healing restores all', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(3) });
    sim.start();
    sim.partition([[1, 2], [3]]);
    assert.deepEqual(sim.quorateNodes(), [1, 2]);
    sim.heal();
    assert.deepEqual(sim.quorateNodes(), [1, 2, 3]);
  });

  test('5 nodes: quorum 3; a 3|2 split leaves only the three quorate', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(5) });
    sim.start();
    assert.equal(sim.snapshot(5).quorum, 3);
    sim.partition([
      [1, 2, 3],
      [4, 5],
    ]);
    assert.deepEqual(sim.quorateNodes(), [1, 2, 3]);
    assert.equal(sim.snapshot(4).quorum, 3);
    assert.equal(sim.snapshot(4).totalVotes, 2);
    sim.partition([
      [1, 2],
      [3, 4, 5],
    ]);
    assert.deepEqual(sim.quorateNodes(), [3, 4, 5]);
  });

  test('quorum formula: floor(expected/2)+1 for 1..8 equal nodes', () => {
    const expected = [1, 2, 2, 3, 3, 4, 4, 5];
    for (let count = 1; count <= 8; count++) {
      const sim = new QuorumSimulator({ nodelist: nodelist(count) });
      sim.start();
      assert.equal(sim.snapshot(1).quorum, expected[count - 1], `${count} nodes`);
      assert.equal(sim.isQuorate(1), true);
    }
  });

  test('nodes not yet started do not count: 2 of 3 become quorate, 1 of 3 does not', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(3) });
    sim.start(1);
    assert.equal(sim.isQuorate(1), false);
    assert.equal(sim.snapshot(1).quorum, 2);
    sim.start(2);
    assert.deepEqual(sim.quorateNodes(), [1, 2]);
  });

  test('per-node votes: a 3-vote node outvotes two 1-vote nodes', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(3, [3, 1, 1]) });
    sim.start();
    assert.equal(sim.snapshot(2).expectedVotes, 5);
    assert.equal(sim.snapshot(2).quorum, 3);
    assert.deepEqual(
      sim.snapshot(2).members.map((member) => [member.nodeId, member.votes]),
      [
        [1, 3],
        [2, 1],
        [3, 1],
      ],
    );
    sim.partition([[1], [2, 3]]);
    assert.deepEqual(sim.quorateNodes(), [1]);
    assert.equal(sim.snapshot(2).totalVotes, 2);
  });

  test('configured expected_votes above the nodelist sum: all three of 3 nodes are needed for 5 expected', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(3), quorum: { expectedVotes: 5 } });
    sim.start();
    assert.equal(sim.snapshot(1).quorum, 3);
    assert.deepEqual(sim.quorateNodes(), [1, 2, 3]);
    sim.crash(3);
    assert.deepEqual(sim.quorateNodes(), []);
  });

  test('configured expected_votes below the votes present is raised to the total', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(3), quorum: { expectedVotes: 2 } });
    sim.start();
    assert.equal(sim.snapshot(1).expectedVotes, 3);
    assert.equal(sim.snapshot(1).quorum, 2);
  });

  test('quorum never decreases without an explicit request: 5 present with expected 3 keeps quorum 3', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(5), quorum: { expectedVotes: 3 } });
    sim.start();
    assert.equal(sim.snapshot(1).expectedVotes, 5);
    assert.equal(sim.snapshot(1).quorum, 3);
    sim.crash(5);
    sim.crash(4);
    assert.equal(sim.snapshot(1).quorum, 3);
    assert.deepEqual(sim.quorateNodes(), [1, 2, 3]);
    sim.crash(3);
    assert.deepEqual(sim.quorateNodes(), []);
  });

  test('a restarted node rejoins and the cluster is whole again', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(3) });
    sim.start();
    const before = sim.logs(1).length;
    sim.restart(2);
    assert.deepEqual(sim.quorateNodes(), [1, 2, 3]);
    assert.deepEqual(sim.logs(1).slice(before), [
      'Sync members[2]: 1 3',
      'Sync left[1]: 2',
      'Members[2]: 1 3',
      'Sync members[3]: 1 2 3',
      'Sync joined[1]: 2',
      'Members[3]: 1 2 3',
    ]);
    assert.equal(sim.snapshot(2).totalVotes, 3);
  });

  test('logs in corosync words: sync lists, members, primary / non-primary component', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(3) });
    sim.start();
    assert.deepEqual(sim.logs(1), [
      'Sync members[3]: 1 2 3',
      'Sync joined[3]: 1 2 3',
      'This node is within the primary component and will provide service.',
      'Members[3]: 1 2 3',
    ]);
    const before = sim.logs(1).length;
    sim.crash(3);
    sim.crash(2);
    assert.deepEqual(sim.logs(1).slice(before), [
      'Sync members[2]: 1 2',
      'Sync left[1]: 3',
      'Members[2]: 1 2',
      'Sync members[1]: 1',
      'Sync left[1]: 2',
      'This node is within the non-primary component and will NOT provide any services.',
      'Members[1]: 1',
    ]);
  });
});
