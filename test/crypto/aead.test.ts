// The native AES-256-GCM addon (native/aead.c) against node:crypto: the same bytes both ways, the same refusals.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type Aead, NODE_CRYPTO_AEAD, nativeAead, preferredAead } from '../../src/crypto/aead.ts';
import { GCM_NONCE_BYTES, GCM_TAG_BYTES } from '../../src/crypto/packet-format.ts';
import { makeCrypto } from './helpers.ts';

const FROM_1 = '127.0.10.1';

/** The addon, which `npm ci` builds on this kind of machine (scripts/build-native.mjs): its absence is a failure. */
function native(): Aead {
  const aead = nativeAead();
  if (aead instanceof Error) assert.fail(aead.message);
  return aead;
}

/** header | ciphertext | tag, as PacketCrypto lays a datagram out. */
function sealWith(aead: Aead, key: Buffer, nonce: Buffer, aad: Buffer, plain: Uint8Array): Buffer {
  const out = Buffer.alloc(aad.length + plain.length + GCM_TAG_BYTES);
  aad.copy(out);
  aead.sealer(key)(nonce, aad, plain, out, aad.length);
  return out;
}

const openWith = (aead: Aead, key: Buffer, nonce: Buffer, datagram: Buffer, aadBytes: number) =>
  aead.opener(key)(nonce, datagram, aadBytes, datagram.length - GCM_TAG_BYTES);

const bytes = (length: number) => fc.uint8Array({ minLength: length, maxLength: length }).map((a) => Buffer.from(a));

describe('the AEAD engines', () => {
  test('the native addon is built and is what PacketCrypto uses by default', () => {
    const aead = native();
    assert.equal(preferredAead(), aead);
    assert.equal(makeCrypto(1).engine, aead.engine);
    assert.equal(makeCrypto(1, { aead: NODE_CRYPTO_AEAD }).engine, 'node:crypto');
    assert.equal(makeCrypto(1, { cipher: 'none', allowCryptoNone: true }).engine, 'none');
  });

  test('native and node:crypto seal to the same bytes and open each other (property)', () => {
    const aead = native();
    fc.assert(
      fc.property(
        bytes(32),
        bytes(GCM_NONCE_BYTES),
        fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
        fc.uint8Array({ maxLength: 3000 }),
        (key, nonce, aad, plain) => {
          const sealed = sealWith(aead, key, nonce, aad, plain);
          assert.deepEqual(sealed, sealWith(NODE_CRYPTO_AEAD, key, nonce, aad, plain));
          assert.deepEqual(openWith(aead, key, nonce, sealed, aad.length), Buffer.from(plain));
          assert.deepEqual(openWith(NODE_CRYPTO_AEAD, key, nonce, sealed, aad.length), Buffer.from(plain));
        },
      ),
      { numRuns: 300 },
    );
  });

  test('a 64 KiB datagram is the same both ways', () => {
    const key = Buffer.alloc(32, 9);
    const nonce = Buffer.alloc(GCM_NONCE_BYTES, 4);
    const aad = Buffer.alloc(21, 1);
    const plain = Buffer.from(Array.from({ length: 65_000 }, (_, i) => (i * 7) & 0xff));
    const sealed = sealWith(native(), key, nonce, aad, plain);
    assert.deepEqual(sealed, sealWith(NODE_CRYPTO_AEAD, key, nonce, aad, plain));
    assert.deepEqual(openWith(native(), key, nonce, sealed, aad.length), plain);
  });

  test('both refuse a changed byte, another key or another nonce, and neither throws', () => {
    const aead = native();
    const key = Buffer.alloc(32, 3);
    const nonce = Buffer.alloc(GCM_NONCE_BYTES, 5);
    const aad = Buffer.from('header of twenty-one!');
    const sealed = sealWith(aead, key, nonce, aad, Buffer.from('a token of the ring'));
    for (const engine of [aead, NODE_CRYPTO_AEAD]) {
      for (let index = 0; index < sealed.length; index++) {
        const changed = Buffer.from(sealed);
        changed[index] = (changed[index] ?? 0) ^ 0x40;
        assert.equal(openWith(engine, key, nonce, changed, aad.length), undefined, `${engine.engine}: byte ${index}`);
      }
      assert.equal(openWith(engine, Buffer.alloc(32, 4), nonce, sealed, aad.length), undefined);
      assert.equal(openWith(engine, key, Buffer.alloc(GCM_NONCE_BYTES, 6), sealed, aad.length), undefined);
      assert.equal(openWith(engine, key, nonce, sealed, aad.length - 1), undefined, 'the additional data moved');
    }
  });

  test('the addon checks its arguments: wrong types and lengths throw, nothing is read or written outside', () => {
    native();
    const addon = createRequire(import.meta.url)('../../dist/native/corolink_native.node');
    assert.throws(() => addon.context(Buffer.alloc(16), true), RangeError);
    assert.throws(() => addon.context('key', true), TypeError);
    const context = addon.context(Buffer.alloc(32), true);
    const nonce = Buffer.alloc(GCM_NONCE_BYTES);
    const plain = Buffer.alloc(100);
    assert.throws(() => addon.seal(context, nonce, Buffer.alloc(0), plain, Buffer.alloc(115), 0), RangeError);
    assert.throws(() => addon.seal(context, nonce, Buffer.alloc(0), plain, Buffer.alloc(116), 1), RangeError);
    assert.throws(() => addon.seal(context, nonce, Buffer.alloc(0), plain, Buffer.alloc(116), 117), RangeError);
    assert.throws(() => addon.seal(context, Buffer.alloc(8), Buffer.alloc(0), plain, Buffer.alloc(116), 0), RangeError);
    assert.throws(() => addon.seal({}, nonce, Buffer.alloc(0), plain, Buffer.alloc(116), 0), TypeError);
    const datagram = Buffer.alloc(40);
    assert.throws(() => addon.open(context, nonce, datagram, 30, 20, Buffer.alloc(0)), RangeError, 'aad past tag');
    assert.throws(() => addon.open(context, nonce, datagram, 4, 20, Buffer.alloc(16)), RangeError, 'tag not 16');
    assert.throws(() => addon.open(context, nonce, datagram, 4, 24, Buffer.alloc(19)), RangeError, 'out too short');
    assert.throws(() => addon.open(context, nonce, datagram, -1, 24, Buffer.alloc(25)), RangeError);
    assert.equal(addon.open(context, nonce, datagram, 4, 24, Buffer.alloc(20)), false, 'zeros do not verify');
  });

  test('nodes on different engines talk: PacketCrypto with the addon and with node:crypto', () => {
    const nativeNode = makeCrypto(1);
    const nodeCryptoNode = makeCrypto(2, { aead: NODE_CRYPTO_AEAD });
    const fromNative = nodeCryptoNode.open(nativeNode.seal(Buffer.from('from the addon')), FROM_1, 1, 0);
    assert.ok(fromNative.ok && fromNative.frame.toString() === 'from the addon');
    const fromNodeCrypto = nativeNode.open(nodeCryptoNode.seal(Buffer.from('from node:crypto')), '127.0.10.2', 2, 0);
    assert.ok(fromNodeCrypto.ok && fromNodeCrypto.frame.toString() === 'from node:crypto');
  });
});
