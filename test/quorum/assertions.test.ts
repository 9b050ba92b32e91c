// votequorum's runtime assertions: an impossible configuration throws an AssertionError naming the invariant.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AssertionError } from '../../src/base/assert.ts';
import { QuorumCore } from '../../src/quorum/votequorum.ts';
import { nodelist } from './nodelist.ts';

describe('votequorum assertions', () => {
  test('a configuration without this node (Totem never delivers one) is caught', () => {
    const core = new QuorumCore({ localNodeId: 1, nodelist: nodelist(3) }, 0);
    const ringId = { rep: 2, seq: 8 };
    assert.throws(
      () => core.step({ type: 'configChange', kind: 'regular', members: [2, 3], ringId }, 0),
      (error: unknown) => error instanceof AssertionError && /holds this node/.test(error.invariant),
    );
  });

  test('a configuration with this node passes', () => {
    const core = new QuorumCore({ localNodeId: 1, nodelist: nodelist(3) }, 0);
    const actions = core.step(
      { type: 'configChange', kind: 'regular', members: [3, 1], ringId: { rep: 1, seq: 4 } },
      0,
    );
    assert.ok(actions.some((action) => action.type === 'broadcast'));
  });
});
