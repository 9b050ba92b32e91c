import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type ConfigEntry,
  checkTraces,
  type DeliverEntry,
  type InvariantName,
  type NodeTrace,
  type TraceEntry,
} from '../../src/sim/checkers.ts';
import type { Guarantee } from '../../src/totem/types.ts';

const regular = (rep: number, seq: number, ...members: number[]): ConfigEntry => ({
  kind: 'config',
  type: 'regular',
  members,
  ringId: { rep, seq },
});
const transitional = (rep: number, seq: number, ...members: number[]): ConfigEntry => ({
  kind: 'config',
  type: 'transitional',
  members,
  ringId: { rep, seq },
});
/** msgId is `<sender>:<name>`. */
const deliver = (
  msgId: string,
  ring: [number, number],
  seq: number,
  guarantee: Guarantee = 'agreed',
): DeliverEntry => ({
  kind: 'deliver',
  sender: Number(msgId.split(':')[0]),
  msgId,
  ringId: { rep: ring[0], seq: ring[1] },
  seq,
  guarantee,
});
const trace = (
  node: number,
  entries: TraceEntry[],
  sent: string[] = [],
  ended: 'alive' | 'crashed' = 'alive',
): NodeTrace => ({
  node,
  incarnation: 0,
  entries,
  submitted: sent.map((msgId) => ({ msgId, guarantee: 'agreed' })),
  ended,
});

const R4: [number, number] = [1, 4];
const R8: [number, number] = [1, 8];
const oldRing = [deliver('1:a', R4, 1), deliver('2:b', R4, 2), deliver('3:c', R4, 3)];
/** Three nodes on ring 1.4; node 3 crashes; 1 and 2 form ring 1.8 and node 1 sends d there. */
function goodRun(): NodeTrace[] {
  return [
    trace(
      1,
      [regular(1, 4, 1, 2, 3), ...oldRing, transitional(1, 8, 1, 2), regular(1, 8, 1, 2), deliver('1:d', R8, 1)],
      ['1:a', '1:d'],
    ),
    trace(
      2,
      [regular(1, 4, 1, 2, 3), ...oldRing, transitional(1, 8, 1, 2), regular(1, 8, 1, 2), deliver('1:d', R8, 1)],
      ['2:b'],
    ),
    trace(3, [regular(1, 4, 1, 2, 3), deliver('1:a', R4, 1), deliver('2:b', R4, 2)], ['3:c'], 'crashed'),
  ];
}

function invariants(traces: NodeTrace[]): InvariantName[] {
  return [...new Set(checkTraces(traces, { quiescent: true }).map((v) => v.invariant))].sort();
}

describe('EVS checkers', () => {
  test('a correct run has no violation', () => {
    assert.deepEqual(checkTraces(goodRun(), { quiescent: true }), []);
  });

  test('no-duplication catches a message delivered twice', () => {
    const run = goodRun();
    run[0]!.entries.push(deliver('1:d', R8, 2));
    assert.ok(invariants(run).includes('no-duplication'));
  });

  test('no-creation catches a message nobody sent and a forged sender', () => {
    const run = goodRun();
    run[0]!.entries.push(deliver('2:zz', R8, 2));
    run[1]!.entries.push({ ...deliver('1:d', R8, 2), msgId: '2:b2', sender: 1 });
    const found = checkTraces(run, { quiescent: false }).filter((v) => v.invariant === 'no-creation');
    assert.deepEqual(
      found.map((v) => v.messages[0]),
      ['2:zz', '2:b2'],
    );
  });

  test('self-delivery catches a live node that never delivers its own message, not a crashed one', () => {
    const run = goodRun();
    run[1]!.submitted.push({ msgId: '2:e', guarantee: 'agreed' });
    run[2]!.submitted.push({ msgId: '3:lost', guarantee: 'agreed' });
    const found = checkTraces(run, { quiescent: true }).filter((v) => v.invariant === 'self-delivery');
    assert.deepEqual(found, [
      {
        invariant: 'self-delivery',
        nodes: [2],
        messages: ['2:e'],
        detail: '2#0 never delivered 1 of its own messages',
      },
    ]);
    assert.equal(invariants(run).length, 1);
    assert.deepEqual(checkTraces(run, { quiescent: false }), []);
  });

  test('sender-fifo catches messages of one sender delivered out of send order', () => {
    const run = goodRun();
    run[0]!.submitted.push({ msgId: '1:e', guarantee: 'agreed' });
    for (const t of run.slice(0, 2)) t.entries.splice(t.entries.length - 1, 0, deliver('1:e', R8, 0));
    assert.ok(invariants(run).includes('sender-fifo'));
  });

  test('total-order catches two nodes that disagree on the order', () => {
    const run = goodRun();
    const entries = run[1]!.entries;
    [entries[1], entries[2]] = [entries[2]!, entries[1]!];
    const found = checkTraces(run, { quiescent: true }).find((v) => v.invariant === 'total-order');
    assert.deepEqual(found?.nodes, [1, 2]);
    assert.deepEqual(found?.messages, ['1:a', '2:b']);
  });

  test('total-order catches a cycle that no pair of nodes shows', () => {
    const sent = ['1:x', '2:y', '3:z'];
    const node = (id: number, ids: string[]) =>
      trace(id, [regular(id, 4, id), ...ids.map((m, i) => deliver(m, [id, 4], i + 1))], id === 1 ? sent : []);
    const run = [node(1, ['1:x', '2:y']), node(2, ['2:y', '3:z']), node(3, ['3:z', '1:x'])];
    const found = checkTraces(run, { quiescent: false }).filter((v) => v.invariant === 'total-order');
    assert.equal(found.length, 1);
    assert.deepEqual([...found[0]!.messages].sort(), ['1:x', '2:y', '3:z']);
  });

  test('ring-seq catches a seq that names two messages and a seq going backwards', () => {
    const run = goodRun();
    run[2]!.entries[2] = deliver('3:c', R4, 2);
    run[0]!.entries.push(deliver('2:b', R8, 1));
    const found = checkTraces(run, { quiescent: false }).filter((v) => v.invariant === 'ring-seq');
    assert.deepEqual(
      found.map((v) => v.messages),
      [['2:b'], ['1:d', '2:b'], ['2:b', '3:c']],
    );
  });

  test('delivery-ring catches a message of another ring delivered in a configuration', () => {
    const run = goodRun();
    run[0]!.entries[run[0]!.entries.length - 1] = deliver('1:d', R4, 9);
    run[1]!.entries[run[1]!.entries.length - 1] = deliver('1:d', R4, 9);
    assert.ok(invariants(run).includes('delivery-ring'));
  });

  test('virtual-synchrony catches nodes that move together but delivered different sets', () => {
    const run = goodRun();
    run[1]!.entries.splice(3, 1); // node 2 misses 3:c but goes 1.4 -> 1.8 with node 1
    const found = checkTraces(run, { quiescent: false }).find((v) => v.invariant === 'virtual-synchrony');
    assert.deepEqual(found?.nodes, [1, 2]);
    assert.deepEqual(found?.messages, ['3:c']);
  });

  test('virtual-synchrony catches a configuration change delivered at a different place', () => {
    const run = goodRun();
    const entries = run[1]!.entries; // node 2 delivers 3:c after the transitional configuration
    [entries[3], entries[4]] = [entries[4]!, entries[3]!];
    assert.ok(invariants(run).includes('virtual-synchrony'));
  });

  test('virtual-synchrony, at the end of a quiescent run, catches a live node missing a message of the last ring', () => {
    const run = goodRun();
    run[1]!.entries.pop(); // node 2 never delivers 1:d although it stays in ring 1.8 with node 1
    assert.deepEqual(checkTraces(run, { quiescent: false }), []);
    const found = checkTraces(run, { quiescent: true }).find((v) => v.invariant === 'virtual-synchrony');
    assert.deepEqual(found?.messages, ['1:d']);
  });

  test('virtual-synchrony tells apart transitional configurations of one new ring coming from different old rings', () => {
    const run = [
      trace(1, [regular(1, 4, 1, 2), deliver('1:a', R4, 1), transitional(1, 8, 1, 2), regular(1, 8, 1, 2, 3)], ['1:a']),
      trace(2, [regular(1, 4, 1, 2), deliver('1:a', R4, 1), transitional(1, 8, 1, 2), regular(1, 8, 1, 2, 3)]),
      trace(3, [regular(3, 4, 3), transitional(1, 8, 3), deliver('3:c', [3, 4], 1), regular(1, 8, 1, 2, 3)], ['3:c']),
    ];
    assert.deepEqual(checkTraces(run, { quiescent: true }), []);
    run[1]!.entries.splice(1, 1);
    assert.deepEqual(invariants(run), ['virtual-synchrony']);
  });

  test('safe-delivery catches a safe message a surviving member never delivered', () => {
    const run = goodRun();
    run[0]!.entries[3] = deliver('3:c', R4, 3, 'safe');
    assert.deepEqual(checkTraces(run, { quiescent: false }), []);
    run[1]!.entries.splice(3, 1);
    const found = checkTraces(run, { quiescent: false }).find((v) => v.invariant === 'safe-delivery');
    assert.deepEqual(found?.nodes, [1, 2]);
    assert.deepEqual(found?.messages, ['3:c']);
  });

  test('safe-delivery excuses a member that crashed in the configuration', () => {
    const run = goodRun();
    run[0]!.entries[3] = deliver('3:c', R4, 3, 'safe');
    run[1]!.entries[3] = deliver('3:c', R4, 3, 'safe');
    assert.deepEqual(checkTraces(run, { quiescent: false }), []); // node 3 crashed before delivering it
  });

  test('ring-id-monotonic catches a ring id going backwards', () => {
    const run = goodRun();
    run[0]!.entries.push(transitional(1, 2, 1), regular(1, 2, 1));
    assert.ok(invariants(run).includes('ring-id-monotonic'));
  });

  test('membership-agreement catches disagreeing members, a missing self and a bad transitional set', () => {
    const run = goodRun();
    run[1]!.entries[5] = regular(1, 8, 1, 2, 3);
    run[0]!.entries.push(transitional(1, 12, 1, 3), regular(1, 12, 3));
    const details = checkTraces(run, { quiescent: false })
      .filter((v) => v.invariant === 'membership-agreement')
      .map((v) => v.detail);
    assert.equal(details.length, 4, details.join('\n'));
  });

  test('well-formed catches a delivery outside any configuration and a regular without a transitional', () => {
    const run = goodRun();
    run[2]!.entries.unshift(deliver('1:a', R4, 1));
    run[0]!.entries.push(regular(1, 12, 1));
    const found = checkTraces(run, { quiescent: false }).filter((v) => v.invariant === 'well-formed');
    assert.equal(found.length, 2);
  });
});
