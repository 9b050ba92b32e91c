import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type McastMessage, RETRANSMIT_ENTRIES_MAX, type TokenMessage } from '../../src/totem/messages.ts';
import { RingLog } from '../../src/totem/ring-log.ts';
import {
  allowedMessages,
  requestMissing,
  SORT_QUEUE_WINDOW,
  takeRetransmissions,
  updateAru,
  updateFlowControl,
} from '../../src/totem/token.ts';

const ringId = { rep: 1, seq: 8 };

function token(fields: Partial<TokenMessage> = {}): TokenMessage {
  return {
    type: 'token',
    ringId,
    tokenSeq: 1,
    seq: 0,
    aru: 0,
    aruAddr: 0,
    fcc: 0,
    backlog: 0,
    install: false,
    rtr: [],
    ...fields,
  };
}

function logWith(seqs: number[]): RingLog {
  const log = new RingLog(ringId, [1, 2, 3]);
  for (const seq of seqs) {
    const message: McastMessage = {
      type: 'mcast',
      ringId,
      sender: 1,
      seq,
      guarantee: 'agreed',
      payload: new Uint8Array(0),
      inner: null,
    };
    log.add(message);
  }
  return log;
}

describe('ORF token rules', () => {
  test('aru: a node missing messages lowers it and owns it; only the owner raises it; aruAddr 0 at aru = seq', () => {
    const t = token({ seq: 10, aru: 10 });
    updateAru(t, 7, 2);
    assert.deepEqual([t.aru, t.aruAddr], [7, 2]);
    updateAru(t, 9, 3);
    assert.deepEqual([t.aru, t.aruAddr], [7, 2], 'a node that has more cannot raise it');
    updateAru(t, 10, 2);
    assert.deepEqual([t.aru, t.aruAddr], [10, 0], 'the owner raises it back');
  });

  test('flow control: min of max_messages − retransmitted, window − fcc, sort-queue room', () => {
    const limits = { maxMessages: 17, windowSize: 50 };
    assert.equal(allowedMessages(token(), limits, 0), 17);
    assert.equal(allowedMessages(token(), limits, 5), 12);
    assert.equal(allowedMessages(token({ fcc: 45 }), limits, 0), 5);
    assert.equal(allowedMessages(token({ fcc: 60 }), limits, 0), 0);
    assert.equal(allowedMessages(token({ seq: SORT_QUEUE_WINDOW - 3, aru: 0 }), limits, 0), 3);
  });

  test('fcc and backlog replace my previous contribution', () => {
    const t = token({ fcc: 30, backlog: 10 });
    updateFlowControl(t, { sentNow: 5, sentLastVisit: 12, backlogNow: 2, backlogLastVisit: 6 });
    assert.deepEqual([t.fcc, t.backlog], [23, 6]);
  });

  test('retransmit list: I serve what I hold, the rest stays; my gaps are added once, only if a rotation old', () => {
    const log = logWith([1, 2, 4, 7]);
    const t = token({ seq: 9, rtr: [2, 3] });
    assert.deepEqual(
      takeRetransmissions(t, log).map((m) => m.seq),
      [2],
    );
    assert.deepEqual(t.rtr, [3]);
    assert.deepEqual(requestMissing(t, log, 6), [5, 6], 'seq 3 is already listed; 8, 9 may still be in flight');
    assert.deepEqual(t.rtr, [3, 5, 6]);
  });

  test('the retransmit list never exceeds its bound', () => {
    const log = logWith([]);
    const t = token({ seq: 100, rtr: [99] });
    const added = requestMissing(t, log, 100);
    assert.equal(t.rtr.length, RETRANSMIT_ENTRIES_MAX);
    assert.equal(added.length, RETRANSMIT_ENTRIES_MAX - 1);
  });
});
