import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { QuorumSimulator } from '../../src/quorum/vqsim.ts';
import { nodelist } from './nodelist.ts';

describe('votequorum: wait_for_all', () => {
  test('not quorate until all nodes have been seen together once', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(3), quorum: { waitForAll: true } });
    sim.start(1, 2);
    assert.deepEqual(sim.quorateNodes(), [], 'a majority alone is not enough');
    assert.ok(sim.logs(1).includes('Waiting for all cluster members. Current votes: 2 expected_votes: 3'));
    assert.deepEqual(sim.snapshot(1).flags, ['WaitForAll']);
    sim.start(3);
    assert.deepEqual(sim.quorateNodes(), [1, 2, 3]);
    assert.deepEqual(sim.snapshot(1).flags, ['Quorate', 'WaitForAll']);
    sim.crash(3);
    assert.deepEqual(sim.quorateNodes(), [1, 2], 'after the first full view a majority suffices');
  });

  test('without wait_for_all a majority becomes quorate at startup', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(3) });
    sim.start(1, 2);
    assert.deepEqual(sim.quorateNodes(), [1, 2]);
  });

  test('re-armed once inquorate: after dropping to one node, two are not enough again', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(3), quorum: { waitForAll: true } });
    sim.start();
    sim.crash(3);
    sim.crash(2);
    assert.deepEqual(sim.quorateNodes(), []);
    sim.start(2);
    assert.deepEqual(sim.quorateNodes(), [], 'waiting for all again');
    sim.start(3);
    assert.deepEqual(sim.quorateNodes(), [1, 2, 3]);
  });

  test('a restarted node joining a quorate cluster does not wait for all', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(3), quorum: { waitForAll: true } });
    sim.start();
    sim.crash(3);
    sim.start(3);
    assert.deepEqual(sim.quorateNodes(), [1, 2, 3]);
    sim.crash(1);
    assert.deepEqual(sim.quorateNodes(), [2, 3], 'the restarted node stays quorate with a majority');
  });
  test('a node that stays quorate across a membership change does not start waiting again', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(3), quorum: { waitForAll: true } });
    sim.start();
    sim.partition([[1, 3], [2]]);
    assert.deepEqual(sim.quorateNodes(), [1, 3]);
    sim.partition([[1, 2], [3]]);
    assert.deepEqual(sim.quorateNodes(), [1, 2], 'node 1 stays quorate; node 2 joins it');
  });
});
