import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonicalAddress } from '../../src/crypto/address.ts';
import { COUNTER_STEPS_PER_MS, LINK_LAG_PACKETS_MAX, PacketCrypto } from '../../src/crypto/packet-crypto.ts';
import { DATAGRAM_BYTES_MAX, ENCRYPTED_OVERHEAD_BYTES, SESSION_OFFSET } from '../../src/crypto/packet-format.ts';
import { REPLAY_WINDOW_PACKETS } from '../../src/crypto/replay-window.ts';
import { makeCrypto, TEST_NODELIST, testAuthkey } from './helpers.ts';

const FROM_1 = '127.0.10.1';
const frame = (text: string) => Buffer.from(text, 'utf8');

function expectFrame(result: ReturnType<PacketCrypto['open']>, text: string, fromNodeId = 1): void {
  assert.equal(result.ok, true, result.ok ? '' : `rejected: ${result.reason}`);
  if (result.ok) {
    assert.equal(result.frame.toString('utf8'), text);
    assert.equal(result.fromNodeId, fromNodeId);
  }
}

function expectReject(result: ReturnType<PacketCrypto['open']>, reason: string): void {
  assert.equal(result.ok, false);
  if (!result.ok) assert.equal(result.reason, reason);
}

describe('PacketCrypto aes256', () => {
  test('round trip: the frame comes back with the sender id, and is not readable on the wire', () => {
    const a = makeCrypto(1);
    const b = makeCrypto(2);
    const secret = 'totem token 12345 secret payload';
    const sealed = a.seal(frame(secret));
    assert.equal(sealed.length, secret.length + ENCRYPTED_OVERHEAD_BYTES);
    assert.equal(sealed.includes(Buffer.from('secret')), false);
    expectFrame(b.open(sealed, FROM_1, undefined, 0), secret);
    expectFrame(b.open(a.seal(Buffer.alloc(0)), FROM_1, undefined, 0), '');
    assert.equal(b.stats().opened, 2);
    assert.equal(a.stats().sealed, 2);
  });

  test('the wire bytes are pinned: fixed authkey, session id and clock give these datagrams (interop)', () => {
    // Computed with bff2f5b; any change here breaks every cluster with nodes of both versions.
    const text = 'corolink known answer';
    const sealer = makeCrypto(1, { wallClockMs: () => 1_700_000_000_000, randomBytes: (n) => Buffer.alloc(n, 0xab) });
    const expected = [
      'c100000001abababababababab00062f3f95a0000008c82bdaca38d6d8a0fb4477e2dfda9f7366509886cfa3f75572c28eed41ad33778fcd6760',
      'c100000001abababababababab00062f3f95a000019ce42b7f7cba45a81a5379316d0a5f8483f1cfcaca4f0a5b65c24473880a1dec4104275cb4',
    ];
    const opener = makeCrypto(2);
    for (const hex of expected) {
      const sealed = sealer.seal(frame(text));
      assert.equal(sealed.toString('hex'), hex);
      expectFrame(opener.open(Buffer.from(hex, 'hex'), FROM_1, 1, 0), text);
    }
  });

  test('sealed into a reused buffer: a view of it, byte for byte what a new Buffer gets, and it opens', () => {
    const options = { wallClockMs: () => 1_700_000_000_000, randomBytes: (n: number) => Buffer.alloc(n, 0xab) };
    const fresh = makeCrypto(1, options);
    const reusing = makeCrypto(1, options);
    const into = Buffer.alloc(DATAGRAM_BYTES_MAX, 0xee);
    const opener = makeCrypto(2);
    for (const text of ['a longer first frame written into the buffer', 'short', '']) {
      const sealed = reusing.seal(frame(text), into);
      assert.equal(sealed.buffer, into.buffer, 'the datagram is the reused memory');
      assert.equal(sealed.byteOffset, into.byteOffset);
      assert.deepEqual(sealed, fresh.seal(frame(text)));
      expectFrame(opener.open(sealed, FROM_1, 1, 0), text);
    }
    assert.throws(() => reusing.seal(frame('x'), Buffer.alloc(DATAGRAM_BYTES_MAX - 1)), /holds any datagram/);
  });

  test('each opened frame is its own bytes: a later open never changes an earlier one (Totem keeps views of it)', () => {
    const a = makeCrypto(1);
    const b = makeCrypto(2);
    const first = b.open(a.seal(frame('first frame, kept')), FROM_1, undefined, 0);
    for (let i = 0; i < 100; i++)
      expectFrame(
        b.open(a.seal(frame(`later frame ${i} written over?`)), FROM_1, undefined, 0),
        `later frame ${i} written over?`,
      );
    expectFrame(first, 'first frame, kept');
  });

  test('flipping any single bit of a sealed datagram makes it fail', () => {
    const a = makeCrypto(1);
    const b = makeCrypto(2);
    const sealed = a.seal(frame('bit flip target'));
    const reasons = new Map<number, string>();
    for (let bit = 0; bit < sealed.length * 8; bit++) {
      const mutated = Buffer.from(sealed);
      mutated[bit >> 3]! ^= 1 << (bit & 7);
      const result = b.open(mutated, FROM_1, undefined, 0);
      assert.equal(result.ok, false, `bit ${bit} flipped was accepted`);
      if (!result.ok) reasons.set(bit, result.reason);
    }
    const sessionAndBody = [...reasons].filter(([bit]) => bit >= SESSION_OFFSET * 8 && (bit < 13 * 8 || bit >= 21 * 8));
    assert.ok(
      sessionAndBody.every(([, reason]) => reason === 'auth_failed'),
      'session/body/tag flips fail auth',
    );
    const total = Object.values(b.stats().rejected).reduce((sum, count) => sum + count, 0);
    assert.equal(total, sealed.length * 8);
    expectFrame(b.open(sealed, FROM_1, undefined, 0), 'bit flip target');
  });

  test('a different authkey or cluster name cannot open the packet', () => {
    const sealed = makeCrypto(1).seal(frame('x'));
    expectReject(makeCrypto(2, { authkey: testAuthkey(8) }).open(sealed, FROM_1, undefined, 0), 'auth_failed');
    expectReject(makeCrypto(2, { clusterName: 'other' }).open(sealed, FROM_1, undefined, 0), 'auth_failed');
  });

  test('a replayed packet is rejected; reordering within the window is accepted exactly once', () => {
    const a = makeCrypto(1);
    const b = makeCrypto(2);
    const packets = Array.from({ length: 10 }, (_, index) => a.seal(frame(`m${index}`)));
    for (const index of [9, 3, 0, 7, 1, 2, 8, 4, 6, 5])
      expectFrame(b.open(packets[index]!, FROM_1, undefined, 0), `m${index}`);
    for (const packet of packets) expectReject(b.open(packet, FROM_1, undefined, 0), 'replayed');
    assert.equal(b.stats().rejected.replayed, 10);
  });

  test('a packet older than the replay window is rejected even if never seen', () => {
    const a = makeCrypto(1);
    const b = makeCrypto(2);
    const old = a.seal(frame('old'));
    const edge = a.seal(frame('edge'));
    for (let index = 0; index < REPLAY_WINDOW_PACKETS - 2; index++) a.seal(frame('skipped'));
    expectFrame(b.open(a.seal(frame('newest')), FROM_1, undefined, 0), 'newest');
    expectFrame(b.open(edge, FROM_1, undefined, 0), 'edge');
    expectReject(b.open(old, FROM_1, undefined, 0), 'replayed');
  });

  test('a restarted sender (new session, later clock) is accepted; its old packets are not', () => {
    let wallMs = 1_700_000_000_000;
    const before = makeCrypto(1, { wallClockMs: () => wallMs });
    const b = makeCrypto(2);
    const oldPackets = Array.from({ length: 3 }, (_, index) => before.seal(frame(`old${index}`)));
    expectFrame(b.open(oldPackets[0]!, FROM_1, undefined, 0), 'old0');
    wallMs += 1;
    const after = makeCrypto(1, { wallClockMs: () => wallMs });
    expectFrame(b.open(after.seal(frame('new0')), FROM_1, undefined, 0), 'new0');
    for (let index = 0; index < REPLAY_WINDOW_PACKETS; index++) b.open(after.seal(frame('fill')), FROM_1, undefined, 0);
    expectReject(b.open(oldPackets[1]!, FROM_1, undefined, 0), 'replayed');
    expectReject(b.open(oldPackets[0]!, FROM_1, undefined, 0), 'replayed');
  });

  test('one link may trail another by more than a window: each link has its own replay window', () => {
    // A token turn: the sender's data on link 0, then its token on both links; the receiver reads link 1 first.
    const a = makeCrypto(1);
    const data = Array.from({ length: 2 * REPLAY_WINDOW_PACKETS }, (_, index) => a.seal(frame(`d${index}`)));
    const tokenOnLink0 = a.seal(frame('token'));
    const tokenOnLink1 = a.seal(frame('token'));
    const b = makeCrypto(2);
    expectFrame(b.open(tokenOnLink1, FROM_1, 1, 1), 'token');
    for (const [index, datagram] of data.entries()) expectFrame(b.open(datagram, FROM_1, 1, 0), `d${index}`);
    expectFrame(b.open(tokenOnLink0, FROM_1, 1, 0), 'token');
    assert.equal(b.stats().rejected.replayed, 0);
    // One window for both links (the link-1 token read as if on link 0) lost every datagram a window behind it.
    const shared = makeCrypto(2);
    expectFrame(shared.open(tokenOnLink1, FROM_1, 1, 0), 'token');
    for (const datagram of data) shared.open(datagram, FROM_1, 1, 0);
    assert.equal(shared.stats().rejected.replayed, REPLAY_WINDOW_PACKETS + 2);
  });

  test('a replay is rejected on the link it came on; the same datagram on another link opens once', () => {
    const a = makeCrypto(1);
    const b = makeCrypto(2);
    const sealed = a.seal(frame('x'));
    expectFrame(b.open(sealed, FROM_1, 1, 0), 'x');
    expectReject(b.open(sealed, FROM_1, 1, 0), 'replayed');
    // The transport core then drops its frames: each names the link it was sent on (link_mismatch).
    expectFrame(b.open(sealed, FROM_1, 1, 1), 'x');
    expectReject(b.open(sealed, FROM_1, 1, 1), 'replayed');
  });

  test("a link's empty window does not take packets far below the sender's newest (an old session's)", () => {
    let wallMs = 1_700_000_000_000;
    const before = makeCrypto(1, { wallClockMs: () => wallMs });
    const captured = before.seal(frame('old'));
    wallMs += Math.ceil(LINK_LAG_PACKETS_MAX / COUNTER_STEPS_PER_MS) + 1;
    const after = makeCrypto(1, { wallClockMs: () => wallMs });
    const b = makeCrypto(2);
    expectFrame(b.open(after.seal(frame('new')), FROM_1, 1, 0), 'new');
    expectReject(b.open(captured, FROM_1, 1, 1), 'replayed');
  });

  test('two sessions started in the same millisecond use different keys (no nonce reuse)', () => {
    const sessionBytes = [Buffer.alloc(8, 1), Buffer.alloc(8, 2)];
    const makeAt = () => makeCrypto(1, { wallClockMs: () => 5, randomBytes: () => sessionBytes.shift()! });
    const first = makeAt().seal(frame('same counter'));
    const second = makeAt().seal(frame('same counter'));
    assert.equal(first.subarray(13, 21).equals(second.subarray(13, 21)), true, 'same counter');
    assert.notDeepEqual(first.subarray(21), second.subarray(21), 'different key → different ciphertext');
    assert.equal(first.readUInt32BE(17), 5 * COUNTER_STEPS_PER_MS);
  });

  test('datagrams from IPs outside the nodelist, or claiming another node, are dropped', () => {
    const a = makeCrypto(1);
    const b = makeCrypto(2);
    const sealed = a.seal(frame('x'));
    expectReject(b.open(sealed, '127.0.99.9', undefined, 0), 'unlisted_ip');
    expectReject(b.open(sealed, '127.0.10.3', undefined, 0), 'sender_mismatch');
    expectReject(a.open(a.seal(frame('self')), FROM_1, undefined, 0), 'own_node');
    expectReject(b.open(sealed.subarray(0, 36), FROM_1, undefined, 0), 'too_short');
    expectReject(b.open(Buffer.alloc(70_000), FROM_1, undefined, 0), 'too_long');
    const wrongFormat = Buffer.from(sealed);
    wrongFormat[0] = 0x42;
    expectReject(b.open(wrongFormat, FROM_1, undefined, 0), 'bad_format');
    assert.deepEqual(b.stats().rejected, {
      too_short: 1,
      too_long: 1,
      unlisted_ip: 1,
      bad_format: 1,
      sender_mismatch: 1,
      own_node: 0,
      replayed: 0,
      auth_failed: 0,
    });
    expectFrame(b.open(sealed, FROM_1, undefined, 0), 'x');
  });

  test('a sender other than the expected one is rejected before it can move the replay window', () => {
    const b = makeCrypto(2);
    const real = makeCrypto(1, { wallClockMs: () => 1_000 });
    const newerImpostor = makeCrypto(1, { wallClockMs: () => 9_000 });
    expectReject(b.open(newerImpostor.seal(frame('from another port')), FROM_1, 0, 0), 'sender_mismatch');
    expectFrame(b.open(real.seal(frame('real')), FROM_1, 1, 0), 'real');
  });

  test('IPv6 addresses match in any spelling', () => {
    const nodelist = [
      { nodeId: 1, address: '0:0:0:0:0:0:0:1' },
      { nodeId: 2, address: '::2' },
    ];
    const sealed = makeCrypto(1, { nodelist }).seal(frame('v6'));
    expectFrame(makeCrypto(2, { nodelist }).open(sealed, '::1', undefined, 0), 'v6');
    assert.equal(canonicalAddress('::ffff:127.0.10.1'), '127.0.10.1');
    assert.equal(canonicalAddress('FE80::0:1%eth0'), 'fe80::1');
  });

  test('rejects a too short authkey', () => {
    assert.throws(() => makeCrypto(1, { authkey: Buffer.alloc(16) }), /128\.\.4096/);
  });
});

describe('PacketCrypto none', () => {
  test('refused without allowCryptoNone', () => {
    assert.throws(() => makeCrypto(1, { cipher: 'none' }), /allowCryptoNone/);
  });

  test('the clear wire bytes are pinned (interop)', () => {
    const clear = makeCrypto(1, { cipher: 'none', allowCryptoNone: true, onWarning: () => {} });
    const sealed = clear.seal(frame('corolink known answer'));
    assert.equal(sealed.toString('hex'), 'c0000000012b272e34636f726f6c696e6b206b6e6f776e20616e73776572');
  });

  test('sealed into a reused buffer: the pinned clear bytes, in that memory', () => {
    const clear = makeCrypto(1, { cipher: 'none', allowCryptoNone: true, onWarning: () => {} });
    const into = Buffer.alloc(DATAGRAM_BYTES_MAX, 0xee);
    const sealed = clear.seal(frame('corolink known answer'), into);
    assert.equal(sealed.buffer, into.buffer);
    assert.equal(sealed.toString('hex'), 'c0000000012b272e34636f726f6c696e6b206b6e6f776e20616e73776572');
  });

  test('a clear frame is its own bytes: the datagram may be overwritten once open returns (the arena is reused)', () => {
    const a = makeCrypto(1, { cipher: 'none', allowCryptoNone: true, onWarning: () => {} });
    const b = makeCrypto(2, { cipher: 'none', allowCryptoNone: true, onWarning: () => {} });
    const datagram = Buffer.from(a.seal(frame('kept after the next read')));
    const opened = b.open(datagram, FROM_1, undefined, 0);
    datagram.fill(0);
    expectFrame(opened, 'kept after the next read');
  });

  test('with allowCryptoNone: warns, frames pass in clear with a CRC, corruption is caught', () => {
    const warnings: string[] = [];
    const a = new PacketCrypto({
      localNodeId: 1,
      clusterName: 'lab',
      cipher: 'none',
      allowCryptoNone: true,
      nodelist: TEST_NODELIST,
      onWarning: (message) => warnings.push(message),
    });
    const b = makeCrypto(2, { cipher: 'none', allowCryptoNone: true });
    assert.match(warnings[0] ?? '', /NOT encrypted/);
    const sealed = a.seal(frame('clear text long enough for an encrypted minimum'));
    assert.equal(sealed.includes(Buffer.from('clear')), true);
    expectFrame(b.open(sealed, FROM_1, undefined, 0), 'clear text long enough for an encrypted minimum');
    const corrupted = Buffer.from(sealed);
    corrupted[corrupted.length - 1]! ^= 0x10;
    expectReject(b.open(corrupted, FROM_1, undefined, 0), 'auth_failed');
    expectReject(makeCrypto(2).open(sealed, FROM_1, undefined, 0), 'bad_format');
    expectReject(b.open(makeCrypto(1).seal(frame('enc')), FROM_1, undefined, 0), 'bad_format');
  });
});
