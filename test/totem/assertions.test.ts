// Totem's runtime assertions: a broken invariant throws an AssertionError naming it, and a token from the network
// that contradicts the ring is dropped and counted before any assertion could see it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AssertionError } from '../../src/base/assert.ts';
import {
  type CommitEntry,
  type CommitMessage,
  decodeMessage,
  encodeMessage,
  type JoinMessage,
  type McastMessage,
  type TokenMessage,
} from '../../src/totem/messages.ts';
import { RingLog } from '../../src/totem/ring-log.ts';
import { TotemCore } from '../../src/totem/totem.ts';
import { MiniRing } from './mini-ring.ts';

function formedRing(): MiniRing {
  const ring = new MiniRing([1, 2, 3]);
  ring.runFor(500);
  for (const node of [1, 2, 3]) assert.deepEqual(ring.cores.get(node)!.snapshot().members, [1, 2, 3]);
  return ring;
}

function brokenInvariant(pattern: RegExp): (error: unknown) => boolean {
  return (error) => error instanceof AssertionError && pattern.test(error.invariant);
}

function mcast(seq: number): McastMessage {
  const ringId = { rep: 1, seq: 4 };
  return { type: 'mcast', ringId, sender: 1, seq, guarantee: 'agreed', payload: new Uint8Array(0), inner: null };
}

describe('Totem assertions', () => {
  test('ring log: an aru above the highest seq received is caught', () => {
    const log = new RingLog({ rep: 1, seq: 4 }, [1, 2]);
    log.add(mcast(1));
    log.aru = 3; // impossible: nothing above seq 1 arrived
    assert.throws(() => log.add(mcast(2)), brokenInvariant(/aru ≤ highest seq/));
  });

  test('a delivery out of seq order within a ring is caught', () => {
    const ring = formedRing();
    ring.multicast(1, 'a');
    ring.runFor(100);
    assert.equal(ring.of(2, 'deliver').length, 1);
    Reflect.set(ring.cores.get(2)!, 'deliveredSeq', Number.MAX_SAFE_INTEGER); // as if it had delivered ahead
    ring.multicast(1, 'b');
    assert.throws(() => ring.runFor(100), brokenInvariant(/strictly in seq order/));
  });

  test('a token that goes back, or whose aru is above its seq, is dropped and counted, not asserted on', () => {
    const ring = formedRing();
    for (const text of ['a', 'b', 'c']) ring.multicast(1, text);
    ring.runFor(100);
    const last = ring.wire.filter((m) => m.to === 2 && m.message.type === 'token').at(-1)!.message as TokenMessage;
    assert.ok(last.seq >= 3);
    const core = ring.cores.get(2)!;
    const before = core.snapshot();
    const forged: TokenMessage[] = [
      { ...last, tokenSeq: last.tokenSeq + 1000, seq: 0, aru: 0, aruAddr: 0 },
      { ...last, tokenSeq: last.tokenSeq + 1001, aru: last.seq + 1 },
    ];
    for (const token of forged) {
      const actions = ring.step(2, { type: 'receive', from: 1, payload: encodeMessage(token) });
      assert.deepEqual(actions, [], 'nothing is sent or delivered on a forged token');
    }
    const after = core.snapshot();
    assert.equal(after.badMessages, before.badMessages + 2);
    assert.equal(after.delivered, before.delivered);
    assert.equal(after.state, 'operational');
  });
});

describe('Totem commit token validation', () => {
  test('a full commit token without one entry per member, mine naming my old ring, is dropped and counted', () => {
    const timings = { tokenMs: 1000, tokenRetransmitMs: 238, joinMs: 50, consensusMs: 1200, mergeMs: 200 };
    const options = { ...timings, maxMessages: 17, windowSize: 50, failToRecvConst: 2500, seqnoUnchangedConst: 30 };
    const core = new TotemCore({ ...options, localNodeId: 1, nodes: [1, 2] }, 0);
    core.step({ type: 'tick' }, 0);
    assert.equal(core.snapshot().state, 'operational', 'a lone node forms its own ring at once');
    const stamp = { version: 0, digest: 0 };
    const join: JoinMessage = { type: 'join', sender: 2, proc: [1, 2], fail: [], ringSeq: 0, stamp };
    core.step({ type: 'receive', from: 2, payload: encodeMessage(join) }, 1); // merges: node 2 joins the gather
    const sent = core.step({ type: 'receive', from: 2, payload: encodeMessage(join) }, 1); // agrees: consensus
    const first = sent
      .filter((action) => action.type === 'send')
      .map((action) => decodeMessage(action.payload))
      .find((message): message is CommitMessage => message?.type === 'commit');
    assert.ok(first && first.entries.length === 1, 'node 1 commits and forwards its entry to node 2');
    assert.equal(core.snapshot().state, 'commit');
    const theirs: CommitEntry = { nodeId: 2, oldRingId: null, aru: 0, highSeq: 0, highDelivered: 0 };
    const mine = first.entries[0]!;
    const forged: CommitMessage[] = [
      { ...first, entries: [theirs, mine] }, // not in ring order
      { ...first, entries: [{ ...mine, oldRingId: { rep: 9, seq: 99 } }, theirs] }, // not my old ring
      { ...first, members: [1, 2, 3], entries: [mine, theirs, { ...theirs, nodeId: 3 }] }, // another member set
    ];
    for (const commit of forged) core.step({ type: 'receive', from: 2, payload: encodeMessage(commit) }, 2);
    assert.equal(core.snapshot().badMessages, forged.length);
    assert.equal(core.snapshot().state, 'commit');
    core.step({ type: 'receive', from: 2, payload: encodeMessage({ ...first, entries: [mine, theirs] }) }, 3);
    assert.equal(core.snapshot().state, 'recovery', 'the true commit token is taken');
    assert.equal(core.snapshot().badMessages, forged.length);
  });
});
