import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeQuorumMessage, NodeFlag } from '../../src/quorum/codec.ts';
import { QuorumConfigError } from '../../src/quorum/settings.ts';
import type { QuorumAction, RingId } from '../../src/quorum/types.ts';
import { QuorumCore } from '../../src/quorum/votequorum.ts';
import { nodelist } from './nodelist.ts';

function broadcasts(actions: QuorumAction[]): Uint8Array[] {
  return actions.flatMap((action) => (action.type === 'broadcast' ? [action.payload] : []));
}

function peerInfo(nodeId: number, ringId: RingId, flags = 0, expectedVotes = 3): Uint8Array {
  return encodeQuorumMessage({ type: 'nodeinfo', nodeId, votes: 1, expectedVotes, flags, ringId });
}

describe('QuorumCore (driven by hand)', () => {
  test('before any configuration: nothing announced, no deadline', () => {
    const core = new QuorumCore({ localNodeId: 1, nodelist: nodelist(3) }, 0);
    assert.equal(core.nextDeadline(), Number.POSITIVE_INFINITY);
    assert.deepEqual(core.snapshot(), {
      nodeId: 1,
      ringId: null,
      nodes: 0,
      quorate: false,
      expectedVotes: 3,
      highestExpected: 3,
      totalVotes: 1,
      quorum: 2,
      flags: [],
      members: [],
      device: null,
    });
    assert.deepEqual(core.step({ type: 'tick' }, 1e9), []);
  });

  test('a refused configuration throws corosync’s error', () => {
    assert.throws(() => new QuorumCore({ localNodeId: 1 }, 0), QuorumConfigError);
  });

  test('a configuration change announces this node and waits for every member’s nodeinfo', () => {
    const ringId = { rep: 1, seq: 8 };
    const core = new QuorumCore({ localNodeId: 1, nodelist: nodelist(3) }, 0);
    const actions = core.step({ type: 'configChange', kind: 'regular', members: [2, 1], ringId }, 0);
    assert.deepEqual(
      actions.filter((action) => action.type === 'log').map((action) => action.message),
      ['Sync members[2]: 1 2', 'Sync joined[2]: 1 2'],
    );
    const [own] = broadcasts(actions);
    assert.ok(own);
    const afterOwn = core.step({ type: 'receive', from: 1, payload: own }, 0);
    assert.equal(
      afterOwn.some((action) => action.type === 'quorumChange'),
      false,
      'node 2 has not announced yet',
    );
    const afterPeer = core.step({ type: 'receive', from: 2, payload: peerInfo(2, ringId) }, 0);
    assert.deepEqual(
      afterPeer.find((action) => action.type === 'quorumChange'),
      { type: 'quorumChange', quorate: true, changed: true, members: [1, 2], ringId },
    );
    assert.equal(core.snapshot().quorate, true);
    assert.equal(core.snapshot().nodes, 2);
  });

  test('transitional configurations are ignored', () => {
    const core = new QuorumCore({ localNodeId: 1, nodelist: nodelist(3) }, 0);
    const event = { type: 'configChange', kind: 'transitional', members: [1], ringId: { rep: 1, seq: 4 } } as const;
    assert.deepEqual(core.step(event, 0), []);
  });

  test('garbage, strangers and nodeinfo of another ring do not count', () => {
    const ringId = { rep: 1, seq: 8 };
    const core = new QuorumCore({ localNodeId: 1, nodelist: nodelist(3) }, 0);
    const [own] = broadcasts(core.step({ type: 'configChange', members: [1, 2], ringId }, 0));
    assert.ok(own);
    core.step({ type: 'receive', from: 1, payload: own }, 0);
    const garbage = core.step({ type: 'receive', from: 2, payload: Uint8Array.from([1, 0, 0]) }, 0);
    assert.equal(garbage[0]?.type === 'log' && garbage[0].level, 'warning');
    const stranger = core.step({ type: 'receive', from: 3, payload: peerInfo(3, ringId) }, 0);
    assert.equal(stranger.length, 1);
    const oldRing = core.step({ type: 'receive', from: 2, payload: peerInfo(2, { rep: 1, seq: 4 }) }, 0);
    const forged = core.step({ type: 'receive', from: 2, payload: peerInfo(3, ringId) }, 0);
    for (const actions of [stranger, oldRing, forged]) {
      assert.equal(actions[0]?.type === 'log' && actions[0].level, 'debug');
    }
    assert.equal(core.snapshot().totalVotes, 1);
    assert.equal(core.snapshot().nodes, 0, 'the sync is still waiting for node 2');
  });

  test('votequorum’s own quorate flag runs ahead of the announcement during a sync', () => {
    const core = new QuorumCore({ localNodeId: 1, nodelist: nodelist(3) }, 0);
    const ringId = { rep: 1, seq: 8 };
    const [own] = broadcasts(core.step({ type: 'configChange', members: [1, 2, 3], ringId }, 0));
    assert.ok(own);
    core.step({ type: 'receive', from: 2, payload: peerInfo(2, ringId) }, 0);
    core.step({ type: 'receive', from: 1, payload: own }, 0);
    assert.deepEqual(core.snapshot().flags, ['Quorate']);
    assert.equal(core.snapshot().quorate, false);
    core.step({ type: 'receive', from: 3, payload: peerInfo(3, ringId) }, 0);
    assert.equal(core.snapshot().quorate, true);
  });

  test('a node joining a quorate peer adopts its expected votes', () => {
    const core = new QuorumCore({ localNodeId: 1, nodelist: nodelist(5) }, 0);
    const ringId = { rep: 1, seq: 8 };
    const [own] = broadcasts(core.step({ type: 'configChange', members: [1, 2], ringId }, 0));
    assert.ok(own);
    core.step({ type: 'receive', from: 1, payload: own }, 0);
    const actions = core.step({ type: 'receive', from: 2, payload: peerInfo(2, ringId, NodeFlag.quorate, 2) }, 0);
    assert.equal(core.snapshot().expectedVotes, 2);
    assert.equal(core.snapshot().quorum, 2);
    assert.deepEqual(
      actions.find((action) => action.type === 'quorumChange'),
      { type: 'quorumChange', quorate: true, changed: true, members: [1, 2], ringId },
    );
  });
});
