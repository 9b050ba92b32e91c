import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { McastMessage } from '../../src/totem/messages.ts';
import { RING_LOG_SLOTS_MAX, RingLog } from '../../src/totem/ring-log.ts';

const ringId = { rep: 1, seq: 8 };
const mcast = (seq: number): McastMessage => ({
  type: 'mcast',
  ringId,
  sender: 1,
  seq,
  guarantee: 'agreed',
  payload: new Uint8Array([seq & 0xff]),
  inner: null,
});

/** The ring log's rules over a Map of everything held: what the slots must agree with. */
class ModelLog {
  aru = 0;
  highSeq = 0;
  highDelivered = 0;
  releasedUpTo = 0;
  readonly held = new Map<number, McastMessage>();
  add(message: McastMessage): boolean {
    if (message.seq <= this.releasedUpTo || this.held.has(message.seq)) return false;
    this.held.set(message.seq, message);
    this.highSeq = Math.max(this.highSeq, message.seq);
    while (this.held.has(this.aru + 1)) this.aru++;
    return true;
  }
  release(everyoneHas: number): void {
    const upTo = Math.min(everyoneHas, this.highDelivered);
    for (const seq of [...this.held.keys()]) if (seq <= upTo) this.held.delete(seq);
    this.releasedUpTo = Math.max(this.releasedUpTo, upTo);
  }
}

type Op = { add: number } | { fill: true } | { deliver: true } | { release: number };

describe('ring log', () => {
  test('agrees with a Map of the messages held: out of order, duplicates, growth, wrap, far seqs, release', () => {
    const seqOffset = fc.oneof(
      { weight: 8, arbitrary: fc.integer({ min: 1, max: 80 }) },
      { weight: 1, arbitrary: fc.integer({ min: 60, max: 5_000 }) },
      { weight: 1, arbitrary: fc.integer({ min: RING_LOG_SLOTS_MAX - 2, max: RING_LOG_SLOTS_MAX + 40 }) },
    );
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 6, arbitrary: seqOffset.map((add) => ({ add })) },
      { weight: 1, arbitrary: fc.constant({ fill: true as const }) },
      { weight: 2, arbitrary: fc.constant({ deliver: true as const }) },
      { weight: 2, arbitrary: fc.integer({ min: 0, max: RING_LOG_SLOTS_MAX + 100 }).map((release) => ({ release })) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const log = new RingLog(ringId, [1, 2, 3]);
        const model = new ModelLog();
        for (const step of ops) {
          if ('add' in step) {
            // Offsets from the release point, so that seqs land near, ahead of and behind what is held.
            const seq = model.releasedUpTo + step.add;
            assert.equal(log.add(mcast(seq)), model.add(mcast(seq)), `add ${seq}`);
          } else if ('fill' in step) {
            // Every gap up to the highest seq (retransmissions arriving): aru catches up, far seqs come in reach.
            for (let seq = model.aru + 1; seq < model.highSeq; seq++)
              assert.equal(log.add(mcast(seq)), model.add(mcast(seq)));
          } else if ('deliver' in step) {
            log.highDelivered = model.highDelivered = model.aru;
          } else {
            const everyoneHas = model.releasedUpTo + step.release;
            log.release(everyoneHas);
            model.release(everyoneHas);
          }
          assert.deepEqual([log.aru, log.highSeq, log.size], [model.aru, model.highSeq, model.held.size]);
        }
        for (let seq = model.releasedUpTo - 2; seq <= model.highSeq + 2; seq++) {
          assert.equal(log.get(seq)?.seq, model.held.get(seq)?.seq, `get ${seq}`);
        }
        const upTo = model.highSeq + 3;
        const missing = [];
        for (let seq = model.aru + 1; seq <= upTo && missing.length < 30; seq++)
          if (!model.held.has(seq)) missing.push(seq);
        assert.deepEqual(log.missing(upTo, 30), missing);
      }),
      { numRuns: 300 },
    );
  });

  test('a seq beyond the slots is held aside, comes into reach as the log moves on, and is released', () => {
    const log = new RingLog(ringId, [1, 2, 3]);
    const far = RING_LOG_SLOTS_MAX + 5;
    assert.equal(log.add(mcast(far)), true);
    assert.equal(log.add(mcast(far)), false, 'a duplicate of a far seq');
    for (let seq = 1; seq < far; seq++) log.add(mcast(seq));
    assert.deepEqual([log.aru, log.size, log.get(far)?.seq], [far, far, far]);
    log.highDelivered = far;
    log.release(far - 1);
    assert.deepEqual([log.size, log.get(far)?.seq, log.get(far - 1)], [1, far, undefined]);
    log.release(far);
    assert.deepEqual([log.size, log.get(far), log.add(mcast(far))], [0, undefined, false]);
  });
});
