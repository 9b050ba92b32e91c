import { createCipheriv, createDecipheriv } from 'node:crypto';
import { nativeAddon } from '../base/native-addon.ts';
import { GCM_NONCE_BYTES, GCM_TAG_BYTES } from './packet-format.ts';

/** Seals `plain` into `out` from `outOffset`: the ciphertext, then the 16-byte tag. */
export type SealFn = (nonce: Buffer, aad: Buffer, plain: Uint8Array, out: Buffer, outOffset: number) => void;

/**
 * Opens `datagram`: additional data [0, aadBytes), ciphertext [aadBytes, tagOffset), tag [tagOffset, end). Returns
 * the plaintext in a new buffer, or undefined when the tag does not verify. Never throws on the datagram's bytes.
 */
export type OpenFn = (nonce: Buffer, datagram: Buffer, aadBytes: number, tagOffset: number) => Buffer | undefined;

/** AES-256-GCM with a 12-byte nonce and a 16-byte tag: one sealer or opener per key, made once and reused. */
export interface Aead {
  /** Which implementation, for the daemon's start log. */
  readonly engine: string;
  sealer(key: Buffer): SealFn;
  opener(key: Buffer): OpenFn;
}

const CIPHER = 'aes-256-gcm';
const TAG = { authTagLength: GCM_TAG_BYTES } as const;

/** node:crypto: a cipher object (context, key schedule) per datagram. */
export const NODE_CRYPTO_AEAD: Aead = {
  engine: 'node:crypto',
  sealer: (key) => (nonce, aad, plain, out, outOffset) => {
    const cipher = createCipheriv(CIPHER, key, nonce, TAG);
    cipher.setAAD(aad);
    cipher.update(plain).copy(out, outOffset);
    cipher.final();
    cipher.getAuthTag().copy(out, outOffset + plain.length);
  },
  opener: (key) => (nonce, datagram, aadBytes, tagOffset) => {
    try {
      const decipher = createDecipheriv(CIPHER, key, nonce, TAG);
      decipher.setAAD(datagram.subarray(0, aadBytes));
      decipher.setAuthTag(datagram.subarray(tagOffset));
      const plain = decipher.update(datagram.subarray(aadBytes, tagOffset));
      decipher.final();
      return plain;
    } catch {
      return undefined;
    }
  },
};

/** The addon's calls (native/aead.c). */
interface AeadAddon {
  context(key: Buffer, encrypt: boolean): object;
  seal(context: object, nonce: Buffer, aad: Buffer, plain: Uint8Array, out: Buffer, outOffset: number): void;
  open(context: object, nonce: Buffer, datagram: Buffer, aadBytes: number, tagOffset: number, out: Buffer): boolean;
}

function nativeFrom(addon: AeadAddon): Aead {
  return {
    engine: 'OpenSSL, one context per key (native addon)',
    sealer: (key) => {
      const context = addon.context(key, true);
      return (nonce, aad, plain, out, outOffset) => addon.seal(context, nonce, aad, plain, out, outOffset);
    },
    opener: (key) => {
      const context = addon.context(key, false);
      return (nonce, datagram, aadBytes, tagOffset) => {
        const plain = Buffer.allocUnsafe(tagOffset - aadBytes);
        return addon.open(context, nonce, datagram, aadBytes, tagOffset, plain) ? plain : undefined;
      };
    },
  };
}

let loaded: Aead | Error | undefined;

/**
 * The native addon's AEAD (an OpenSSL context per key: ≈ 8× less CPU per datagram than node:crypto), or why it is
 * unavailable (not built, or built for another platform). Loaded once, checked against node:crypto's bytes.
 */
export function nativeAead(): Aead | Error {
  if (loaded !== undefined) return loaded;
  const addon = nativeAddon();
  try {
    if (addon instanceof Error) throw addon;
    loaded = nativeFrom(addon as AeadAddon);
    assertSameBytes(loaded);
  } catch (error) {
    loaded = new Error(`the native AES-GCM addon is unavailable: ${(error as Error).message}`);
  }
  return loaded;
}

/** The fastest AEAD this process has: the native addon, else node:crypto. */
export function preferredAead(): Aead {
  const native = nativeAead();
  return native instanceof Error ? NODE_CRYPTO_AEAD : native;
}

/** Throws unless `aead` seals one known input to node:crypto's bytes and opens them again. */
function assertSameBytes(aead: Aead): void {
  const key = Buffer.alloc(32, 0x5a);
  const nonce = Buffer.alloc(GCM_NONCE_BYTES, 0x01);
  const aad = Buffer.from('corolink aead self-check');
  const plain = Buffer.from('the same bytes as node:crypto');
  const expected = Buffer.alloc(aad.length + plain.length + GCM_TAG_BYTES);
  const got = Buffer.alloc(expected.length);
  for (const [seal, out] of [
    [NODE_CRYPTO_AEAD.sealer(key), expected],
    [aead.sealer(key), got],
  ] as const) {
    aad.copy(out);
    seal(nonce, aad, plain, out, aad.length);
  }
  const opened = aead.opener(key)(nonce, got, aad.length, got.length - GCM_TAG_BYTES);
  if (!got.equals(expected) || opened === undefined || !opened.equals(plain)) {
    throw new Error('its AES-256-GCM bytes differ from node:crypto');
  }
}
