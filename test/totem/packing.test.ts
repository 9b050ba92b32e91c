/**
 * totempg-style packing (TotemOptions.packer) and the representative's immediate visit when a multicast meets the
 * held token (docs/totem.md): packs are ordered and delivered atomically, in order, the same at every node.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TotemPacker } from '../../src/totem/types.ts';
import { MiniRing } from './mini-ring.ts';

/** A test packer: payloads joined with '|' (the test payloads never contain one); 1 byte per separator. */
const joinPacker = (budgetBytes: number): TotemPacker => ({
  budgetBytes,
  packedBytes: (count, bytes) => bytes + count - 1,
  pack: (payloads) => new TextEncoder().encode(payloads.map((p) => new TextDecoder().decode(p)).join('|')),
});

function formedRing(options = {}): MiniRing {
  const ring = new MiniRing([1, 2, 3], options);
  ring.runFor(500);
  for (const node of [1, 2, 3]) assert.deepEqual(ring.cores.get(node)!.snapshot().members, [1, 2, 3]);
  return ring;
}

describe('Totem packing', () => {
  test('small pending payloads share MCASTs within the budget; every node unpacks the same order', () => {
    const ring = formedRing({ packer: joinPacker(64) });
    const since = ring.now;
    const sent = Array.from({ length: 100 }, (_, i) => `m${String(i).padStart(3, '0')}`);
    for (const text of sent) ring.multicast(2, text);
    ring.runFor(200);
    const mcasts = ring.wire.filter((m) => m.at >= since && m.message.type === 'mcast' && m.to === 1);
    assert.ok(mcasts.length <= Math.ceil(100 / 12), `${mcasts.length} MCASTs for 100 payloads of 4 bytes`);
    for (const m of mcasts) if (m.message.type === 'mcast') assert.ok(m.message.payload.length <= 64);
    const packs = ring.delivered(1);
    for (const node of [2, 3]) assert.deepEqual(ring.delivered(node), packs);
    assert.deepEqual(packs.join('|').split('|'), sent);
  });

  test('a payload over the budget travels alone; without a packer nothing is packed', () => {
    const ring = formedRing({ packer: joinPacker(16) });
    for (const text of ['a', 'b', 'x'.repeat(40), 'c']) ring.multicast(3, text);
    ring.runFor(200);
    assert.deepEqual(ring.delivered(1), ['a|b', 'x'.repeat(40), 'c']);
    const plain = formedRing();
    for (const text of ['a', 'b', 'c']) plain.multicast(3, text);
    plain.runFor(200);
    assert.deepEqual(plain.delivered(1), ['a', 'b', 'c']);
  });

  test('an MCAST over the budget weighs one per budget it spans against max_messages (17) per visit', () => {
    const ring = formedRing({ packer: joinPacker(16) });
    const since = ring.now;
    const sent = Array.from({ length: 20 }, (_, i) => `${String(i).padStart(2, '0')}${'x'.repeat(38)}`); // 40 bytes: weight 3
    for (const text of sent) ring.multicast(3, text);
    ring.runFor(500);
    assert.deepEqual(ring.delivered(1), sent);
    // Node 3's MCASTs between two of its tokens: at most ⌊17 / 3⌋ = 5 per visit (17 without the weight).
    let perVisit = 0;
    const visits: number[] = [];
    for (const m of ring.wire) {
      if (m.at < since || m.from !== 3 || m.to !== 1) continue;
      if (m.message.type === 'mcast') perVisit++;
      else if (m.message.type === 'token' && perVisit > 0) {
        visits.push(perVisit);
        perVisit = 0;
      }
    }
    assert.deepEqual(visits, [5, 5, 5, 5]);
  });

  test('a multicast on the representative holding the token is ordered at once, without an empty rotation', () => {
    const ring = formedRing();
    ring.runFor(3000); // idle: the representative (1) holds the token
    const before = ring.delivered(1).length;
    ring.multicast(1, 'now');
    assert.deepEqual(ring.delivered(1).slice(before), ['now'], 'delivered in the same step');
    ring.runFor(50);
    for (const node of [2, 3]) assert.ok(ring.delivered(node).includes('now'));
  });
});
