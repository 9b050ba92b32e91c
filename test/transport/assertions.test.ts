// The transport's runtime assertions: an impossible link state transition throws an AssertionError naming it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AssertionError } from '../../src/base/assert.ts';
import { PeerLink } from '../../src/transport/peer-link.ts';

const OPTIONS = { link: 0, priority: 1, pingIntervalMs: 20, pingTimeoutMs: 250, pongCount: 2, mtu: 1400 };

function brokenInvariant(pattern: RegExp): (error: unknown) => boolean {
  return (error) => error instanceof AssertionError && pattern.test(error.invariant);
}

describe('transport assertions', () => {
  test('a link goes down only from up, up only from down, and restarts only while down', () => {
    const link = new PeerLink(2, OPTIONS, 0);
    assert.throws(() => link.markDown(1), brokenInvariant(/goes down only from up/));
    link.markUp(2);
    assert.throws(() => link.markUp(3), brokenInvariant(/goes up only from down/));
    assert.throws(() => link.restart(4), brokenInvariant(/restarts only while down/));
    link.markDown(5);
    link.restart(6);
    assert.equal(link.connected, false);
  });
});
