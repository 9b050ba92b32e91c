// CPG's runtime assertions: an impossible configuration from Totem throws an AssertionError naming the invariant.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AssertionError } from '../../src/base/assert.ts';
import { Cpg } from '../../src/cpg/cpg.ts';
import type { CpgEvent } from '../../src/cpg/types.ts';

function regular(members: number[]): CpgEvent {
  return {
    type: 'totemConfigChange',
    kind: 'regular',
    members,
    left: [],
    joined: [],
    ringId: { rep: 1, seq: 4 },
  } as const;
}

function brokenInvariant(pattern: RegExp): (error: unknown) => boolean {
  return (error) => error instanceof AssertionError && pattern.test(error.invariant);
}

describe('CPG assertions', () => {
  test('a member list out of order, or without this node, is caught', () => {
    const cpg = new Cpg({ localNodeId: 1 }, 0);
    assert.throws(() => cpg.step(regular([3, 1]), 0), brokenInvariant(/ascending and unique/));
    assert.throws(() => cpg.step(regular([1, 1, 2]), 0), brokenInvariant(/ascending and unique/));
    assert.throws(() => cpg.step(regular([2, 3]), 0), brokenInvariant(/holds this node/));
    assert.ok(cpg.step(regular([1, 2]), 0).some((action) => action.type === 'totemMulticast'));
  });
});
