import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  decodeQnetdMessage,
  encodeQnetdMessage,
  MSG_HEADER_BYTES,
  MsgType,
  QnetdFrameReader,
  type QnetdMessage,
  TlvOpt,
} from '../../src/qdevice/codec.ts';

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const nodeId = fc.integer({ min: 1, max: 0xffffffff });
const u64 = fc.bigInt({ min: 0n, max: 0xffffffffffffffffn });

const messageArbitrary: fc.Arbitrary<QnetdMessage> = fc
  .record(
    {
      type: fc.constantFrom(...Object.values(MsgType)),
      seqNumber: u32,
      clusterName: fc.string({ maxLength: 64 }),
      tlsSupported: fc.constantFrom(0 as const, 1 as const, 2 as const),
      tlsClientCertRequired: u8,
      supportedMessages: fc.array(u16, { maxLength: 20 }),
      supportedOptions: fc.array(u16, { maxLength: 30 }),
      replyErrorCode: u16,
      serverMaximumRequestSize: u32,
      serverMaximumReplySize: u32,
      nodeId: u32,
      supportedDecisionAlgorithms: fc.array(u16, { maxLength: 4 }),
      decisionAlgorithm: u16,
      heartbeatInterval: u32,
      ringId: fc.record({ nodeId: u32, seq: u64 }, { noNullPrototype: true }),
      configVersion: u64,
      dataCenterId: u32,
      nodeState: fc.constantFrom(1, 2, 3),
      nodes: fc.array(
        fc.record({ nodeId, dataCenterId: u32, nodeState: fc.constantFrom(0, 1, 2, 3) }, { noNullPrototype: true }),
        { minLength: 1, maxLength: 8 },
      ),
      nodeListType: fc.constantFrom(0 as const, 1 as const, 2 as const, 3 as const),
      vote: fc.constantFrom(1 as const, 2 as const, 3 as const, 4 as const, 5 as const),
      quorate: fc.boolean(),
      tieBreaker: fc.oneof(
        fc.record({ mode: fc.constantFrom(1 as const, 2 as const), nodeId: fc.constant(0) }, { noNullPrototype: true }),
        fc.record({ mode: fc.constant(3 as const), nodeId: u32 }, { noNullPrototype: true }),
      ),
      heuristics: fc.constantFrom(1, 2),
      keepActivePartitionTieBreaker: fc.boolean(),
    },
    { noNullPrototype: true, requiredKeys: ['type'] },
  )
  // A message carries at least one option (qnetd's iterator treats an empty body as inconsistent).
  .map((m) => ({ seqNumber: 1, ...m }));

function withItems(type: number, body: number[]): Uint8Array {
  const out = new Uint8Array(MSG_HEADER_BYTES + body.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, type);
  view.setUint32(2, body.length);
  out.set(body, MSG_HEADER_BYTES);
  return out;
}

describe('qnetd message codec', () => {
  test('round trip: decode(encode(m)) is m', () => {
    fc.assert(
      fc.property(messageArbitrary, (msg) => {
        const decoded = decodeQnetdMessage(encodeQnetdMessage(msg));
        assert.ok(decoded.ok, decoded.ok ? '' : decoded.error.message);
        assert.deepEqual(decoded.message, msg);
      }),
    );
  });

  test('the bytes of a preinit are msg.c layout: type u16, length u32, then TLV items', () => {
    const bytes = encodeQnetdMessage({ type: MsgType.preinit, seqNumber: 1, clusterName: 'ab' });
    assert.deepEqual(
      [...bytes],
      [0, 0, 0, 0, 0, 14, 0, TlvOpt.msgSeqNumber, 0, 4, 0, 0, 0, 1, 0, TlvOpt.clusterName, 0, 2, 0x61, 0x62],
    );
  });

  test('a ring id is node id u32 + seq u64; a tie breaker is mode u8 + node id u32', () => {
    const bytes = encodeQnetdMessage({
      type: MsgType.init,
      ringId: { nodeId: 0x0a0b0c0d, seq: 0x0102030405060708n },
      tieBreaker: { mode: 3, nodeId: 7 },
    });
    assert.deepEqual(
      [...bytes.subarray(MSG_HEADER_BYTES)],
      [0, 13, 0, 12, 10, 11, 12, 13, 1, 2, 3, 4, 5, 6, 7, 8, 0, 21, 0, 5, 3, 0, 0, 0, 7],
    );
  });

  test('decode never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        decodeQnetdMessage(bytes);
      }),
    );
    fc.assert(
      fc.property(messageArbitrary, fc.nat(), fc.integer({ min: 0, max: 255 }), (msg, at, value) => {
        const bytes = encodeQnetdMessage(msg);
        bytes[MSG_HEADER_BYTES + (at % (bytes.length - MSG_HEADER_BYTES))] = value;
        decodeQnetdMessage(bytes);
      }),
    );
  });

  test('malformed messages: each gets msg_decode’s error class', () => {
    const cases: [string, Uint8Array, string][] = [
      ['short header', Uint8Array.of(0, 9, 0), 'inconsistent'],
      ['empty body', withItems(MsgType.echoReply, []), 'inconsistent'],
      ['item past the end', withItems(MsgType.echoReply, [0, 0, 0, 8, 0, 0, 0, 1]), 'inconsistent'],
      ['trailing partial item', withItems(MsgType.echoReply, [0, 0, 0, 4, 0, 0, 0, 1, 0, 19]), 'inconsistent'],
      ['seq of 3 bytes', withItems(MsgType.echoReply, [0, 0, 0, 3, 0, 0, 1]), 'invalidLength'],
      ['odd u16 array', withItems(MsgType.initReply, [0, 4, 0, 3, 0, 1, 2]), 'invalidLength'],
      ['vote 9', withItems(MsgType.voteInfo, [0, 19, 0, 1, 9]), 'invalidValue'],
      ['tie breaker mode 0', withItems(MsgType.init, [0, 21, 0, 5, 0, 0, 0, 0, 1]), 'invalidValue'],
      ['node info without node id', withItems(MsgType.nodeList, [0, 17, 0, 5, 0, 16, 0, 1, 1]), 'invalidValue'],
      ['tls supported 3', withItems(MsgType.preinitReply, [0, 2, 0, 1, 3]), 'invalidValue'],
    ];
    for (const [what, bytes, kind] of cases) {
      const decoded = decodeQnetdMessage(bytes);
      assert.equal(decoded.ok, false, what);
      if (!decoded.ok) assert.equal(decoded.error.kind, kind, `${what}: ${decoded.error.message}`);
    }
  });

  test('unknown options are skipped, as qnetd skips them', () => {
    const decoded = decodeQnetdMessage(withItems(MsgType.echoReply, [0, 99, 0, 2, 7, 7, 0, 0, 0, 4, 0, 0, 0, 5]));
    assert.deepEqual(decoded, { ok: true, message: { type: MsgType.echoReply, seqNumber: 5 } });
  });
});

describe('qnetd frame reader', () => {
  test('the stream cut anywhere yields the same messages', () => {
    fc.assert(
      fc.property(
        fc.array(messageArbitrary, { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (msgs, cuts) => {
          const stream = Buffer.concat(msgs.map(encodeQnetdMessage));
          const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
          const reader = new QnetdFrameReader(1 << 20);
          const frames = [];
          let from = 0;
          for (const point of [...points, stream.length]) {
            frames.push(...reader.push(stream.subarray(from, point)));
            from = point;
          }
          assert.deepEqual(
            frames.map((f) => (f.ok ? decodeQnetdMessage(f.bytes) : f)),
            msgs.map((message) => ({ ok: true, message })),
          );
        },
      ),
    );
  });

  test('an unknown message type and a message over the limit are errors', () => {
    assert.deepEqual(new QnetdFrameReader(100).push(Uint8Array.of(0, 42, 0, 0, 0, 0)), [
      { ok: false, kind: 'unsupportedType', type: 42 },
    ]);
    assert.deepEqual(new QnetdFrameReader(100).push(Uint8Array.of(0, 9, 0, 0, 1, 0)), [
      { ok: false, kind: 'tooLong', bytes: 262 },
    ]);
  });
});
