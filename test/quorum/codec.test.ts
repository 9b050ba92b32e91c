import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { decodeQuorumMessage, encodeQuorumMessage, type QuorumMessage } from '../../src/quorum/codec.ts';

const uint32 = fc.integer({ min: 0, max: 0xffffffff });
const nodeId = fc.integer({ min: 1, max: 0xffffffff });
/** Records with the ordinary prototype, as decoded messages have. */
const plain = { noNullPrototype: true } as const;

const messageArbitrary: fc.Arbitrary<QuorumMessage> = fc.oneof(
  fc.record(
    {
      type: fc.constant('nodeinfo' as const),
      nodeId,
      votes: uint32,
      expectedVotes: uint32,
      flags: uint32,
      ringId: fc.record({ rep: uint32, seq: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }) }, plain),
    },
    plain,
  ),
  fc.record(
    {
      type: fc.constant('reconfigure' as const),
      param: fc.constantFrom(1 as const, 2 as const),
      nodeId,
      value: uint32,
    },
    plain,
  ),
);

describe('votequorum wire codec', () => {
  test('decode(encode(m)) = m', () => {
    fc.assert(
      fc.property(messageArbitrary, (message) => {
        assert.deepEqual(decodeQuorumMessage(encodeQuorumMessage(message)), { ok: true, message });
      }),
      { seed: 7, numRuns: 500 },
    );
  });

  test('decoding never throws on arbitrary bytes, and rejects what it cannot read', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        const result = decodeQuorumMessage(bytes);
        if (result.ok) assert.deepEqual(decodeQuorumMessage(encodeQuorumMessage(result.message)), result);
      }),
      { seed: 11, numRuns: 2000 },
    );
  });

  test('decodes from a view into a larger buffer', () => {
    const bytes = encodeQuorumMessage({ type: 'reconfigure', param: 1, nodeId: 3, value: 7 });
    const backing = new Uint8Array(bytes.length + 8);
    backing.set(bytes, 5);
    assert.deepEqual(decodeQuorumMessage(backing.subarray(5, 5 + bytes.length)), {
      ok: true,
      message: { type: 'reconfigure', param: 1, nodeId: 3, value: 7 },
    });
  });

  test('specific rejections', () => {
    const nodeinfo = encodeQuorumMessage({
      type: 'nodeinfo',
      nodeId: 1,
      votes: 1,
      expectedVotes: 3,
      flags: 0,
      ringId: { rep: 1, seq: 4 },
    });
    const cases: [string, Uint8Array][] = [
      ['empty', new Uint8Array(0)],
      ['bad version', Uint8Array.from([9, ...nodeinfo.subarray(1)])],
      ['unknown type', Uint8Array.from([1, 7, ...nodeinfo.subarray(2)])],
      ['truncated', nodeinfo.subarray(0, nodeinfo.length - 1)],
      ['trailing byte', Uint8Array.from([...nodeinfo, 0])],
      ['unknown reconfigure parameter', Uint8Array.from([1, 1, 3, 0, 0, 0, 1, 0, 0, 0, 1])],
      [
        'ring seq beyond 2^53',
        Uint8Array.from(nodeinfo.map((byte, index) => (index >= 22 && index < 26 ? 255 : byte))),
      ],
    ];
    for (const [name, bytes] of cases) assert.equal(decodeQuorumMessage(bytes).ok, false, name);
  });
});
