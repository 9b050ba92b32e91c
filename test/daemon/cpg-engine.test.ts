// The CPG service engine (src/daemon/cpg-engine.ts) turns the core's actions into the stack's in the array the core
// returned, which is safe only while the core returns a new array from every step: a reused one trips an assertion.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AssertionError } from '../../src/base/assert.ts';
import type { CpgAction } from '../../src/cpg/index.ts';
import { CpgEngine } from '../../src/daemon/cpg-engine.ts';

const payload = new Uint8Array([0, 1, 2]);

describe('CPG service engine', () => {
  test("the core's Totem multicasts become the stack's multicasts (service id byte free), in the core's array", () => {
    const engine = new CpgEngine({ localNodeId: 1 }, 0);
    const log: CpgAction = { type: 'log', level: 'debug', subsystem: 'CPG', message: 'm' };
    const fromCore: CpgAction[] = [{ type: 'totemMulticast', payload, guarantee: 'safe' }, log];
    engine.core.step = () => fromCore;
    const actions = engine.tick(0);
    assert.equal(actions, fromCore, 'rewritten in place, not copied');
    assert.deepEqual(actions, [{ type: 'multicast', payload, guarantee: 'safe', serviceIdFree: true }, log]);
  });

  test('a core that returns the same array from two steps trips the assertion', () => {
    const engine = new CpgEngine({ localNodeId: 1 }, 0);
    const reused: CpgAction[] = [];
    engine.core.step = () => reused;
    engine.tick(0);
    assert.throws(() => engine.tick(1), AssertionError);
  });
});
