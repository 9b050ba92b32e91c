/**
 * The burst hold (TotemOptions.burstHoldMs, docs/totem.md "Burst hold"): a token that arrives while the node's own
 * burst is in progress — it sent at its previous visit, 2 or more messages wait, less than one pack — stays there
 * until the burst fills a pack or the hold expires; a lone message, a first send and `burstHoldMs` 0 never wait.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TotemOptions, TotemPacker } from '../../src/totem/types.ts';
import { MiniRing } from './mini-ring.ts';

/** A test packer: payloads joined with '|'; the budget is what the hold compares the queued bytes with. */
const joinPacker = (budgetBytes: number): TotemPacker => ({
  budgetBytes,
  packedBytes: (count, bytes) => bytes + count - 1,
  pack: (payloads) => new TextEncoder().encode(payloads.map((p) => new TextDecoder().decode(p)).join('|')),
});

const BUDGET_BYTES = 64;
const HOLD_MS = 1;

function formedRing(options: Partial<TotemOptions> = {}): MiniRing {
  const ring = new MiniRing([1, 2, 3], { packer: joinPacker(BUDGET_BYTES), burstHoldMs: HOLD_MS, ...options });
  ring.runFor(500);
  for (const node of [1, 2, 3]) assert.deepEqual(ring.cores.get(node)!.snapshot().members, [1, 2, 3]);
  return ring;
}

const burstHolds = (ring: MiniRing, node: number) => ring.cores.get(node)!.snapshot().burstHolds;
const tokensFrom = (ring: MiniRing, node: number) =>
  ring.wire.filter((m) => m.from === node && m.message.type === 'token').length;
const mcastsFrom = (ring: MiniRing, node: number) =>
  ring.wire.filter((m) => m.from === node && m.message.type === 'mcast').length;

/** Node 2 sends `first` at a visit, then queues `then` right after: its next token arrival meets them. */
function burstAfterASend(ring: MiniRing, first: string, then: string[]): void {
  const before = mcastsFrom(ring, 2);
  ring.multicast(2, first);
  assert.ok(
    ring.runUntilTrue(() => mcastsFrom(ring, 2) > before, 10),
    'node 2 sent its first message',
  );
  for (const text of then) ring.multicast(2, text);
}

describe('Totem burst hold', () => {
  test('a burst in progress keeps the token until it fills a pack, then the visit goes at once', () => {
    const ring = formedRing();
    burstAfterASend(ring, 'a', ['b', 'c']);
    assert.ok(
      ring.runUntilTrue(() => burstHolds(ring, 2) === 1, 10),
      'the token arriving at node 2 is held',
    );
    const tokens = tokensFrom(ring, 2);
    ring.runFor(HOLD_MS / 2);
    assert.equal(tokensFrom(ring, 2), tokens, 'node 2 keeps the token while its burst is short of a pack');
    assert.deepEqual(ring.delivered(1), ['a'], 'the held messages wait with the token');
    ring.multicast(2, 'x'.repeat(BUDGET_BYTES - 2)); // b + c + this = one pack's bytes
    assert.equal(tokensFrom(ring, 2), tokens + 1, 'the pack is full: the visit and the token go in that step');
    ring.runFor(5);
    for (const node of [1, 2, 3]) assert.deepEqual(ring.delivered(node), ['a', 'b|c', 'x'.repeat(BUDGET_BYTES - 2)]);
  });

  test('a burst that stays short of a pack waits burstHoldMs, no longer', () => {
    const ring = formedRing();
    burstAfterASend(ring, 'a', ['b', 'c']);
    assert.ok(ring.runUntilTrue(() => burstHolds(ring, 2) === 1, 10));
    const heldAt = ring.now;
    const tokens = tokensFrom(ring, 2);
    assert.ok(
      ring.runUntilTrue(() => tokensFrom(ring, 2) > tokens, 10),
      'the token goes on',
    );
    assert.ok(
      ring.now - heldAt >= HOLD_MS - 0.05 && ring.now - heldAt <= HOLD_MS + 0.1,
      `held ${ring.now - heldAt} ms`,
    );
    ring.runFor(5);
    for (const node of [1, 2, 3]) assert.deepEqual(ring.delivered(node), ['a', 'b|c']);
  });

  test('a lone queued message, a first send after idle visits and burstHoldMs 0 never wait', () => {
    const lone = formedRing();
    burstAfterASend(lone, 'a', ['b']);
    lone.runFor(5);
    assert.equal(burstHolds(lone, 2), 0, 'one message queued: no burst');
    assert.deepEqual(lone.delivered(1), ['a', 'b']);

    const idle = formedRing();
    for (const text of ['a', 'b', 'c']) idle.multicast(2, text);
    idle.runFor(5);
    assert.equal(burstHolds(idle, 2), 0, 'nothing sent at the previous visit: no burst in progress');
    assert.deepEqual(idle.delivered(1), ['a|b|c']);

    const off = formedRing({ burstHoldMs: 0 });
    burstAfterASend(off, 'a', ['b', 'c']);
    off.runFor(5);
    assert.equal(burstHolds(off, 2), 0, 'burstHoldMs 0: off');
    assert.deepEqual(off.delivered(1), ['a', 'b|c']);
  });

  test('a negative or non-finite burstHoldMs is refused', () => {
    for (const burstHoldMs of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => new MiniRing([1, 2, 3], { burstHoldMs }), /burstHoldMs/);
    }
  });

  test('a membership change while the token is held drops it with its ring; the queue goes in the new ring', () => {
    const ring = formedRing();
    burstAfterASend(ring, 'a', ['b', 'c']);
    assert.ok(ring.runUntilTrue(() => burstHolds(ring, 2) === 1, 10));
    ring.crash(3);
    ring.step(2, { type: 'peerUnreachable', nodeId: 3 }); // the transport saw every link to 3 go: GATHER at once
    ring.runFor(20_000);
    assert.deepEqual(ring.cores.get(2)!.snapshot().members, [1, 2], 'a ring of 1 and 2');
    assert.equal(ring.cores.get(2)!.snapshot().pending, 0, "node 2's queue went out in the new ring");
    assert.deepEqual(ring.delivered(1).join('|').split('|'), ['a', 'b', 'c']);
  });
});
