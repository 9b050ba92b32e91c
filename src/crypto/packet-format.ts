/**
 * Byte layout of a protected datagram (see docs/crypto.md).
 *
 * Encrypted (`aes256`):  format(1) | sender node id(4) | session id(8) | counter(8) | ciphertext | GCM tag(16)
 * Clear (`none`):        format(1) | sender node id(4) | CRC-32 of bytes 0..4 and the frame(4) | frame
 *
 * All integers are big-endian. The whole encrypted header is the GCM additional authenticated data.
 */

/** Format byte of an AES-256-GCM protected datagram, version 1. */
export const FORMAT_AES256_GCM_V1 = 0xc1;
/** Format byte of a clear (`crypto_cipher: none`) datagram, version 1. */
export const FORMAT_CLEAR_V1 = 0xc0;

/** Offset of the 32-bit sender node id (both formats). */
export const SENDER_OFFSET = 1;
/** Offset of the 8-byte random session id (encrypted format). */
export const SESSION_OFFSET = 5;
/** Length of the session id in bytes. */
export const SESSION_ID_BYTES = 8;
/** Offset of the 64-bit packet counter (encrypted format). */
export const COUNTER_OFFSET = 13;
/** Length of the encrypted header, which is also the GCM additional authenticated data. */
export const ENCRYPTED_HEADER_BYTES = 21;
/** Length of the GCM authentication tag. */
export const GCM_TAG_BYTES = 16;
/** Length of the GCM nonce: sender node id(4) | counter(8). */
export const GCM_NONCE_BYTES = 12;
/** Bytes an encrypted datagram adds to its frame. */
export const ENCRYPTED_OVERHEAD_BYTES = ENCRYPTED_HEADER_BYTES + GCM_TAG_BYTES;

/** Offset of the CRC-32 in a clear datagram. */
export const CRC_OFFSET = 5;
/** Length of the clear header. */
export const CLEAR_HEADER_BYTES = 9;

/** Largest UDP payload over IPv4 (65,535 − 8 UDP − 20 IP); nothing longer is ever sealed or opened. */
export const DATAGRAM_BYTES_MAX = 65_507;
