import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type StreamEntry, streamGaps } from '../../src/lab/stream-gaps.ts';

const SENDER = { nodeid: 2, pid: 4 };
const messages = (...names: string[]): StreamEntry[] => names.map((message) => ({ message }));

describe('streamGaps', () => {
  test('a whole stream has no gap', () => {
    assert.deepEqual(streamGaps(['a', 'b', 'c'], messages('a', 'b', 'c'), SENDER), []);
  });

  test('a run missing with no confchg around it is a loss', () => {
    assert.deepEqual(streamGaps(['a', 'b', 'c', 'd'], messages('a', 'd'), SENDER), [
      { missing: ['b', 'c'], senderLeft: false },
    ]);
  });

  test('a run missing where the receiver saw the sender leave is allowed', () => {
    const seen: StreamEntry[] = [
      ...messages('a'),
      { left: [{ ...SENDER }] },
      { left: [] }, // the sender's NODEUP: a confchg that names nobody leaving
      ...messages('d'),
    ];
    assert.deepEqual(streamGaps(['a', 'b', 'c', 'd'], seen, SENDER), [{ missing: ['b', 'c'], senderLeft: true }]);
  });

  test('a leave of another process, or one away from the run, does not explain it', () => {
    const otherLeft: StreamEntry[] = [...messages('a'), { left: [{ nodeid: 2, pid: 5 }] }, ...messages('c')];
    assert.deepEqual(streamGaps(['a', 'b', 'c'], otherLeft, SENDER), [{ missing: ['b'], senderLeft: false }]);
    const leftLater: StreamEntry[] = [...messages('a', 'c'), { left: [{ ...SENDER }] }, ...messages('d')];
    assert.deepEqual(streamGaps(['a', 'b', 'c', 'd'], leftLater, SENDER), [{ missing: ['b'], senderLeft: false }]);
  });

  test('a sender without a pid is any process of its node', () => {
    const seen: StreamEntry[] = [...messages('a'), { left: [{ nodeid: 2, pid: 9 }] }, ...messages('c')];
    assert.deepEqual(streamGaps(['a', 'b', 'c'], seen, { nodeid: 2 }), [{ missing: ['b'], senderLeft: true }]);
    assert.deepEqual(streamGaps(['a', 'b', 'c'], seen, { nodeid: 3 }), [{ missing: ['b'], senderLeft: false }]);
  });

  test('a run at either end is bounded by the start or the end of what the receiver saw', () => {
    const seen: StreamEntry[] = [{ left: [{ ...SENDER }] }, ...messages('b', 'c')];
    assert.deepEqual(streamGaps(['a', 'b', 'c', 'd'], seen, SENDER), [
      { missing: ['a'], senderLeft: true },
      { missing: ['d'], senderLeft: false },
    ]);
  });
});
