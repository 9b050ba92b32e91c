import { hkdfSync } from 'node:crypto';

/** Smallest authkey corosync accepts (bytes). */
export const AUTHKEY_BYTES_MIN = 128;
/** Largest authkey corosync accepts (bytes). */
export const AUTHKEY_BYTES_MAX = 4096;
/** AES-256 key length in bytes. */
export const AES256_KEY_BYTES = 32;

const SALT_PREFIX = 'corolink/v1 cluster:';
const INFO_PREFIX = 'corolink/v1 aes-256-gcm packet key';

/** Throws unless the authkey length is within corosync's 128..4096 bytes. */
export function assertAuthkeyLength(authkey: Uint8Array): void {
  if (authkey.length < AUTHKEY_BYTES_MIN || authkey.length > AUTHKEY_BYTES_MAX) {
    throw new RangeError(
      `authkey must be ${AUTHKEY_BYTES_MIN}..${AUTHKEY_BYTES_MAX} bytes, got ${authkey.length} (corosync-keygen makes 256)`,
    );
  }
}

/**
 * The AES-256-GCM key one sender process uses: HKDF-SHA256 with
 * ikm = the authkey bytes, salt = "corolink/v1 cluster:" + cluster name (UTF-8),
 * info = "corolink/v1 aes-256-gcm packet key" | sender node id (u32 BE) | session id (8 bytes).
 * Every (sender, session) pair has its own key, so nonces of different senders or restarts never share a key.
 */
export function derivePacketKey(
  authkey: Uint8Array,
  clusterName: string,
  senderNodeId: number,
  sessionId: Uint8Array,
): Buffer {
  const info = Buffer.alloc(INFO_PREFIX.length + 4 + sessionId.length);
  info.write(INFO_PREFIX, 0, 'latin1');
  info.writeUInt32BE(senderNodeId, INFO_PREFIX.length);
  info.set(sessionId, INFO_PREFIX.length + 4);
  const salt = Buffer.from(SALT_PREFIX + clusterName, 'utf8');
  return Buffer.from(hkdfSync('sha256', authkey, salt, info, AES256_KEY_BYTES));
}
