import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  decodeMessage,
  encodeMessage,
  peekMessageType,
  peekTokenSeq,
  RETRANSMIT_ENTRIES_MAX,
  TOTEM_MAGIC,
  type TotemMessage,
} from '../../src/totem/messages.ts';

const ring = { rep: 1, seq: 0x2c };
const stamp = { version: 7, digest: 0x9e3779b9 };
const samples: TotemMessage[] = [
  {
    type: 'token',
    ringId: ring,
    tokenSeq: 12,
    seq: 2 ** 40 + 3,
    aru: 2 ** 40,
    aruAddr: 3,
    fcc: 17,
    backlog: 4,
    install: true,
    rtr: [2 ** 40 + 1, 2 ** 40 + 2],
  },
  {
    type: 'mcast',
    ringId: ring,
    sender: 2,
    seq: 9,
    guarantee: 'safe',
    payload: new Uint8Array([1, 2, 3]),
    inner: null,
  },
  {
    type: 'mcast',
    ringId: { rep: 1, seq: 0x30 },
    sender: 3,
    seq: 1,
    guarantee: 'agreed',
    payload: new Uint8Array(0),
    inner: { ringId: ring, sender: 2, seq: 8, guarantee: 'agreed', payload: new Uint8Array([7]) },
  },
  { type: 'join', sender: 3, proc: [1, 2, 3], fail: [2], ringSeq: 0x2c, stamp },
  {
    type: 'commit',
    ringId: { rep: 1, seq: 0x30 },
    members: [1, 3],
    entries: [
      { nodeId: 1, oldRingId: ring, aru: 5, highSeq: 9, highDelivered: 4 },
      { nodeId: 3, oldRingId: null, aru: 0, highSeq: 0, highDelivered: 0 },
    ],
  },
  { type: 'mergeDetect', sender: 4, ringId: { rep: 4, seq: 8 }, stamp },
  { type: 'holdCancel', sender: 2, ringId: ring },
];

describe('Totem message codec', () => {
  for (const message of samples) {
    test(`${message.type}${message.type === 'mcast' && message.inner ? ' (encapsulated)' : ''} round-trips`, () => {
      assert.deepEqual(decodeMessage(encodeMessage(message)), message);
    });
  }

  test('every truncation of every message is rejected, never thrown', () => {
    for (const message of samples) {
      const bytes = encodeMessage(message);
      for (let length = 0; length < bytes.length; length++)
        assert.equal(decodeMessage(bytes.subarray(0, length)), null);
    }
  });

  test('trailing bytes, wrong magic, wrong version and unknown types are rejected', () => {
    const bytes = encodeMessage(samples[3]!);
    assert.equal(decodeMessage(new Uint8Array([...bytes, 0])), null);
    const wrongMagic = bytes.slice();
    wrongMagic[0] = 0;
    assert.equal(decodeMessage(wrongMagic), null);
    const wrongVersion = bytes.slice();
    wrongVersion[2] = 9;
    assert.equal(decodeMessage(wrongVersion), null);
    const unknownType = bytes.slice();
    unknownType[3] = 42;
    assert.equal(decodeMessage(unknownType), null);
    assert.equal(new DataView(bytes.buffer).getUint16(0, true), TOTEM_MAGIC);
  });

  test('insane fields are rejected: node id 0, aru above seq, oversized retransmit list, unsorted commit members', () => {
    assert.equal(
      decodeMessage(encodeMessage({ type: 'join', sender: 0, proc: [1], fail: [], ringSeq: 0, stamp })),
      null,
    );
    const token = samples[0] as Extract<TotemMessage, { type: 'token' }>;
    assert.equal(decodeMessage(encodeMessage({ ...token, aru: token.seq + 1 })), null);
    const rtr = Array.from({ length: RETRANSMIT_ENTRIES_MAX + 1 }, (_, i) => i + 1);
    assert.equal(decodeMessage(encodeMessage({ ...token, seq: 100, aru: 0, rtr })), null);
    const commit = samples[4] as Extract<TotemMessage, { type: 'commit' }>;
    assert.equal(decodeMessage(encodeMessage({ ...commit, members: [3, 1] })), null);
  });

  test('random garbage never throws', () => {
    let state = 0x12345678;
    const random = () => {
      state = (state * 1103515245 + 12345) >>> 0;
      return state / 2 ** 32;
    };
    for (let i = 0; i < 2000; i++) {
      const bytes = encodeMessage(samples[i % samples.length]!);
      for (let flips = 0; flips < 3; flips++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      const decoded = decodeMessage(bytes);
      assert.ok(decoded === null || typeof decoded.type === 'string');
    }
  });

  test('peekTokenSeq reads the hop counter of a token and of nothing else', () => {
    for (const message of samples) {
      const bytes = encodeMessage(message);
      assert.equal(peekTokenSeq(bytes), message.type === 'token' ? message.tokenSeq : null);
    }
    const token = encodeMessage(samples[0]!);
    assert.equal(peekTokenSeq(token.subarray(0, 20)), null);
    const wrongMagic = token.slice();
    wrongMagic[0] = 0;
    assert.equal(peekTokenSeq(wrongMagic), null);
  });

  test('peekMessageType names every type from the header alone; an unknown code or a short buffer is null', () => {
    for (const message of samples) assert.equal(peekMessageType(encodeMessage(message)), message.type);
    const unknown = encodeMessage(samples[0]!).slice();
    unknown[3] = 0xff;
    assert.equal(peekMessageType(unknown), null);
    assert.equal(peekMessageType(new Uint8Array(3)), null);
  });
});
