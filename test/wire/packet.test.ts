import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { LINK_NUMBER_MAX } from '../../src/base/limits.ts';
import { clusterIdFromName, fnv1a32 } from '../../src/wire/cluster-id.ts';
import {
  decodePacket,
  encodeData,
  encodeFragment,
  encodeLinkState,
  encodePacket,
  encodePingPong,
  encodePmtuProbe,
  type FrameHeader,
  HEADER_BYTES,
  LINK_STATES,
  type Packet,
  PacketTypeCode,
  REJECT_REASONS,
  type RejectReason,
  relinkFrame,
  WIRE_VERSION,
} from '../../src/wire/packet.ts';
import { nextSeq, seqDistance } from '../../src/wire/sequence.ts';

const CLUSTER = clusterIdFromName('test-cluster');
const SEED = 20261124;

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const headerArb: fc.Arbitrary<FrameHeader> = fc.record({
  clusterId: fc.constant(CLUSTER),
  sourceNodeId: fc.integer({ min: 1, max: 0xffffffff }),
  incarnation: u32,
  link: fc.integer({ min: 0, max: LINK_NUMBER_MAX }),
  seq: u32,
  flags: fc.integer({ min: 0, max: 0xff }),
});

const fragmentArb: fc.Arbitrary<Packet> = fc
  .record({
    header: headerArb,
    payload: fc.uint8Array({ minLength: 1, maxLength: 300 }),
    before: fc.nat(2000),
    after: fc.nat(2000),
    count: fc.integer({ min: 1, max: 0xffff }),
    indexSeed: fc.nat(),
  })
  .map(({ header, payload, before, after, count, indexSeed }) => ({
    type: 'fragment' as const,
    header,
    messageBytes: before + payload.length + after,
    offset: before,
    index: indexSeed % count,
    count,
    payload,
  }));

const packetArb: fc.Arbitrary<Packet> = fc.oneof(
  fc.record({ type: fc.constant('data' as const), header: headerArb, payload: fc.uint8Array({ maxLength: 2000 }) }),
  fragmentArb,
  fc.record({
    type: fc.constantFrom('ping' as const, 'pong' as const),
    header: headerArb,
    pingSeq: u32,
    sentAtMs: fc.double({ noNaN: true, noDefaultInfinity: true }),
  }),
  fc.record({
    type: fc.constant('ping' as const),
    header: headerArb,
    pingSeq: u32,
    sentAtMs: fc.double({ noNaN: true, noDefaultInfinity: true }),
    echo: fc.record({
      pingSeq: u32,
      sentAtMs: fc.double({ noNaN: true, noDefaultInfinity: true }),
      heldMs: fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }),
    }),
  }),
  fc.record({
    type: fc.constant('pmtuProbe' as const),
    header: headerArb,
    probeSeq: u32,
    frameBytes: fc.integer({ min: HEADER_BYTES + 4, max: 9000 }),
  }),
  fc.record({ type: fc.constant('pmtuReply' as const), header: headerArb, probeSeq: u32, probedBytes: u32 }),
  fc.record({
    type: fc.constant('linkState' as const),
    header: headerArb,
    link: fc.integer({ min: 0, max: LINK_NUMBER_MAX }),
    state: fc.constantFrom(...LINK_STATES),
  }),
);

function header(overrides: Partial<FrameHeader> = {}): FrameHeader {
  return { clusterId: CLUSTER, sourceNodeId: 2, incarnation: 7, link: 1, seq: 42, flags: 0, ...overrides };
}

function rejectionOf(bytes: Uint8Array, cluster = CLUSTER): RejectReason | 'accepted' {
  const result = decodePacket(bytes, cluster);
  return result.ok ? 'accepted' : result.reason;
}

describe('wire: round trips', () => {
  test('every packet type decodes to what was encoded (property, fixed seed)', () => {
    fc.assert(
      fc.property(packetArb, (packet) => {
        const decoded = decodePacket(encodePacket(packet), CLUSTER);
        assert.ok(decoded.ok);
        // fast-check records have no prototype; structuredClone makes them plain objects like the decoder's.
        assert.deepEqual(decoded.packet, structuredClone(packet));
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  test('a fragment carries exactly its slice of the message', () => {
    const message = Uint8Array.from({ length: 100 }, (_, i) => i);
    const decoded = decodePacket(encodeFragment(header(), message, 40, 30, 1, 4), CLUSTER);
    assert.ok(decoded.ok && decoded.packet.type === 'fragment');
    assert.deepEqual([...decoded.packet.payload], [...message.subarray(40, 70)]);
    assert.equal(decoded.packet.messageBytes, 100);
  });

  test('a PMTU probe is padded to the requested frame size', () => {
    assert.equal(encodePmtuProbe(header(), 1, 1400).length, 1400);
  });

  test('relinkFrame copies the frame onto another link and leaves the original alone', () => {
    const original = encodeData(header({ link: 0 }), new Uint8Array([1, 2, 3]));
    const moved = relinkFrame(original, 3);
    const decoded = decodePacket(moved, CLUSTER);
    assert.ok(decoded.ok);
    assert.equal(decoded.packet.header.link, 3);
    const again = decodePacket(original, CLUSTER);
    assert.ok(again.ok);
    assert.equal(again.packet.header.link, 0);
  });

  test('the encoder refuses fields that do not fit the wire', () => {
    assert.throws(() => encodeData(header({ link: 8 }), new Uint8Array(1)), RangeError);
    assert.throws(() => encodeData(header({ sourceNodeId: 0 }), new Uint8Array(1)), RangeError);
    assert.throws(() => encodeData(header({ seq: 2 ** 32 }), new Uint8Array(1)), RangeError);
    assert.throws(() => encodeData(header(), new Uint8Array(0x10000)), RangeError);
    assert.throws(() => encodePingPong('ping', header(), 1, Number.NaN), RangeError);
  });
});

describe('wire: every rejection reason', () => {
  const ping = () => encodePingPong('ping', header(), 5, 1234.5);
  const patched = (bytes: Uint8Array, at: number, value: number) => {
    const copy = bytes.slice();
    copy[at] = value;
    return copy;
  };

  test('too_short', () => {
    assert.equal(rejectionOf(new Uint8Array(HEADER_BYTES - 1)), 'too_short');
  });
  test('bad_magic', () => {
    assert.equal(rejectionOf(patched(ping(), 0, 0x00)), 'bad_magic');
  });
  test('bad_version', () => {
    assert.equal(rejectionOf(patched(ping(), 2, WIRE_VERSION + 1)), 'bad_version');
  });
  test('unknown_type', () => {
    assert.equal(rejectionOf(patched(ping(), 3, 0)), 'unknown_type');
    assert.equal(rejectionOf(patched(ping(), 3, Object.keys(PacketTypeCode).length + 1)), 'unknown_type');
  });
  test('bad_length: truncated, padded, and a body of the wrong size for its type', () => {
    const frame = ping();
    assert.equal(rejectionOf(frame.subarray(0, frame.length - 1)), 'bad_length');
    const padded = new Uint8Array(frame.length + 1);
    padded.set(frame);
    assert.equal(rejectionOf(padded), 'bad_length');
    // A data frame relabelled as a ping: the length field is consistent but the ping body is not 12 bytes.
    const data = encodeData(header(), new Uint8Array(5));
    assert.equal(rejectionOf(patched(data, 3, PacketTypeCode.ping)), 'bad_length');
    assert.equal(rejectionOf(patched(data, 3, PacketTypeCode.linkState)), 'bad_length');
  });
  test('wrong_cluster', () => {
    assert.equal(rejectionOf(ping(), clusterIdFromName('other-cluster')), 'wrong_cluster');
  });
  test('bad_link', () => {
    assert.equal(rejectionOf(patched(ping(), 5, LINK_NUMBER_MAX + 1)), 'bad_link');
  });
  test('bad_node_id', () => {
    const frame = ping();
    frame.fill(0, 12, 16);
    assert.equal(rejectionOf(frame), 'bad_node_id');
  });
  test('bad_fragment: index beyond count, and a payload beyond the message end', () => {
    const fragment = encodeFragment(header(), new Uint8Array(100), 0, 50, 0, 2);
    const view = new DataView(fragment.buffer, fragment.byteOffset, fragment.byteLength);
    view.setUint16(HEADER_BYTES + 8, 2); // index 2 of 2
    assert.equal(rejectionOf(fragment), 'bad_fragment');
    view.setUint16(HEADER_BYTES + 8, 0);
    view.setUint32(HEADER_BYTES + 4, 60); // offset 60 + 50 bytes > 100
    assert.equal(rejectionOf(fragment), 'bad_fragment');
  });
  test('bad_timestamp', () => {
    const frame = ping();
    new DataView(frame.buffer, frame.byteOffset, frame.byteLength).setFloat64(
      HEADER_BYTES + 4,
      Number.POSITIVE_INFINITY,
    );
    assert.equal(rejectionOf(frame), 'bad_timestamp');
  });
  test('bad_echo: an echo with a negative hold or a non-finite timestamp; a pong never carries one', () => {
    const echoed = (heldMs: number, sentAtMs = 10) =>
      encodePingPong('ping', header(), 5, 1234.5, { pingSeq: 9, sentAtMs: 10, heldMs: 1 }).map((byte, i, frame) => {
        const view = new DataView(new ArrayBuffer(16));
        view.setFloat64(0, sentAtMs);
        view.setFloat64(8, heldMs);
        const at = i - (frame.length - 16);
        return at >= 0 ? view.getUint8(at) : byte;
      });
    assert.equal(rejectionOf(echoed(3)), 'accepted');
    assert.equal(rejectionOf(echoed(-1)), 'bad_echo');
    assert.equal(rejectionOf(echoed(Number.NaN)), 'bad_echo');
    assert.equal(rejectionOf(echoed(3, Number.POSITIVE_INFINITY)), 'bad_echo');
    assert.equal(rejectionOf(patched(echoed(3), 3, PacketTypeCode.pong)), 'bad_length');
    assert.throws(() => encodePingPong('pong', header(), 1, 2, { pingSeq: 1, sentAtMs: 2, heldMs: 0 }), RangeError);
    assert.throws(() => encodePingPong('ping', header(), 1, 2, { pingSeq: 1, sentAtMs: 2, heldMs: -1 }), RangeError);
  });
  test('bad_link_state: a link number beyond the last link, an unknown state', () => {
    const linkState = encodeLinkState(header(), 0, 'noCarrier');
    assert.equal(rejectionOf(linkState), 'accepted');
    assert.equal(rejectionOf(patched(linkState, HEADER_BYTES, LINK_NUMBER_MAX + 1)), 'bad_link_state');
    assert.equal(rejectionOf(patched(linkState, HEADER_BYTES + 1, LINK_STATES.length)), 'bad_link_state');
    assert.throws(() => encodeLinkState(header(), LINK_NUMBER_MAX + 1, 'disabled'), RangeError);
  });
  test('the list of reasons is exactly the ones exercised above', () => {
    assert.deepEqual([...REJECT_REASONS].sort(), [
      'bad_echo',
      'bad_fragment',
      'bad_length',
      'bad_link',
      'bad_link_state',
      'bad_magic',
      'bad_node_id',
      'bad_timestamp',
      'bad_version',
      'too_short',
      'unknown_type',
      'wrong_cluster',
    ]);
  });

  test('decoding never throws on random or mutated bytes (property, fixed seed)', () => {
    const mutated = fc.tuple(packetArb, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([packet, at, value]) => {
      const bytes = encodePacket(packet);
      if (bytes.length > 0) bytes[at % bytes.length] = value;
      return bytes;
    });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), mutated), (bytes) => {
        const result = decodePacket(bytes, CLUSTER);
        assert.ok(result.ok || REJECT_REASONS.includes(result.reason));
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });
});

describe('wire: cluster id and sequence numbers', () => {
  test('FNV-1a 32 matches the published test vectors', () => {
    const utf8 = new TextEncoder();
    assert.equal(fnv1a32(new Uint8Array()), 0x811c9dc5);
    assert.equal(fnv1a32(utf8.encode('a')), 0xe40c292c);
    assert.equal(fnv1a32(utf8.encode('foobar')), 0xbf9cf968);
  });
  test('clusterIdFromName is deterministic and separates names', () => {
    assert.equal(clusterIdFromName('pve'), clusterIdFromName('pve'));
    assert.notEqual(clusterIdFromName('pve'), clusterIdFromName('pve2'));
  });
  test('sequence distance handles the 32-bit wrap', () => {
    assert.equal(nextSeq(0xffffffff), 0);
    assert.equal(seqDistance(nextSeq(0xffffffff), 0xffffffff), 1);
    assert.equal(seqDistance(0xffffffff, 0), -1);
    assert.equal(seqDistance(5, 5), 0);
    assert.equal(seqDistance(3, 0xfffffff0), 19);
  });
});
