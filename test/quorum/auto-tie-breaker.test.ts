import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AutoTieBreakerNode } from '../../src/quorum/types.ts';
import { QuorumSimulator } from '../../src/quorum/vqsim.ts';
import { nodelist } from './nodelist.ts';

function splitTwoTwo(autoTieBreakerNode?: AutoTieBreakerNode, autoTieBreaker = true): QuorumSimulator {
  const sim = new QuorumSimulator({ nodelist: nodelist(4), quorum: { autoTieBreaker, autoTieBreakerNode } });
  sim.start();
  assert.deepEqual(sim.quorateNodes(), [1, 2, 3, 4]);
  sim.partition([
    [1, 2],
    [3, 4],
  ]);
  return sim;
}

describe('votequorum: auto_tie_breaker', () => {
  test('without it a 2|2 split leaves neither half quorate', () => {
    const sim = splitTwoTwo(undefined, false);
    assert.deepEqual(sim.quorateNodes(), []);
  });

  test('default (lowest): the half with node 1 stays quorate', () => {
    const sim = splitTwoTwo();
    assert.deepEqual(sim.quorateNodes(), [1, 2]);
    assert.deepEqual(sim.snapshot(1).flags, ['Quorate', 'AutoTieBreaker']);
    assert.equal(sim.snapshot(1).quorum, 3, 'quorum is unchanged: the tie breaker grants quorum below it');
    assert.equal(sim.snapshot(1).totalVotes, 2);
    sim.heal();
    assert.deepEqual(sim.quorateNodes(), [1, 2, 3, 4]);
  });

  test('lowest counts the lowest id of the last quorate view, not of the partition', () => {
    const sim = splitTwoTwo('lowest');
    assert.deepEqual(sim.quorateNodes(), [1, 2]);
    assert.equal(sim.isQuorate(3), false, 'node 3 is the lowest of its own half, yet not quorate');
  });

  test('highest: the half with node 4 stays quorate', () => {
    const sim = splitTwoTwo('highest');
    assert.deepEqual(sim.quorateNodes(), [3, 4]);
  });

  test('a list: the first listed node decides', () => {
    assert.deepEqual(splitTwoTwo([3, 1]).quorateNodes(), [3, 4]);
    assert.deepEqual(splitTwoTwo([2, 4]).quorateNodes(), [1, 2]);
  });

  test('a list: a listed node that was not in the cluster before the split is skipped', () => {
    const sim = new QuorumSimulator({
      nodelist: nodelist(4),
      quorum: { autoTieBreaker: true, autoTieBreakerNode: [3, 1] },
    });
    sim.start(1, 2, 4);
    assert.deepEqual(sim.quorateNodes(), [1, 2, 4]);
    sim.partition([[1, 2], [4]]);
    assert.deepEqual(sim.quorateNodes(), [1, 2]);
  });

  test('a list: if an earlier listed node may be on the other side, quorum is denied', () => {
    const sim = new QuorumSimulator({
      nodelist: nodelist(4),
      quorum: { autoTieBreaker: true, autoTieBreakerNode: [3, 1] },
    });
    sim.start();
    sim.partition([[1, 2], [4], [3]]);
    assert.deepEqual(sim.quorateNodes(), [], 'node 3 was present before: the {1,2} half must not assume it is gone');
  });

  test('only an even split is decided: a 3|1 split is plain majority', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(4), quorum: { autoTieBreaker: true } });
    sim.start();
    sim.partition([[1], [2, 3, 4]]);
    assert.deepEqual(sim.quorateNodes(), [2, 3, 4]);
  });

  test('a split that may leave a quorate majority elsewhere is not decided (5 nodes, wait_for_all)', () => {
    const sim = new QuorumSimulator({
      nodelist: nodelist(5),
      quorum: { autoTieBreaker: true, waitForAll: true },
    });
    sim.start();
    sim.partition([
      [1, 2],
      [3, 4, 5],
    ]);
    assert.deepEqual(sim.quorateNodes(), [3, 4, 5]);
  });

  test('an odd nodelist without wait_for_all disables it at startup', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(3), quorum: { autoTieBreaker: true } });
    sim.start();
    assert.deepEqual(sim.snapshot(1).flags, ['Quorate']);
    assert.ok(sim.logs(1).includes('Therefore auto_tie_breaker has been disabled. Please fix your corosync.conf'));
  });
  test('known limitation (as in corosync): an odd cluster split twice can leave two quorate partitions', () => {
    const sim = new QuorumSimulator({
      nodelist: nodelist(3),
      quorum: { autoTieBreaker: true, waitForAll: true },
    });
    sim.start();
    sim.partition([[1, 3], [2]]);
    assert.deepEqual(sim.quorateNodes(), [1, 3]);
    sim.partition([[1], [2, 3]]);
    // {1}: 1 vote = floor(3/2), only one node left it, and it holds the lowest id: the tie breaker applies.
    // {2,3}: a plain majority. Node 2 stops waiting for all because node 3 was quorate.
    assert.deepEqual(sim.quorateNodes(), [1, 2, 3]);
  });
});
