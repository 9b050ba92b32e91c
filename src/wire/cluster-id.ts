/**
 * Cluster id: a 32-bit number derived from corosync.conf's `cluster_name`, carried in every frame header so that
 * two clusters sharing a network (or a misconfigured node) never mix their traffic.
 *
 * knet has no such field (it relies on the shared authkey); corolink adds it as a cheap first filter that also
 * works with crypto off. The hash is FNV-1a 32-bit over the UTF-8 bytes of the name: deterministic, no
 * node:crypto needed in the cores, and not meant to be secure (authentication is the crypto layer's job).
 */

/** FNV-1a 32-bit offset basis. */
const FNV_OFFSET_BASIS = 0x811c9dc5;
/** FNV-1a 32-bit prime. */
const FNV_PRIME = 0x01000193;

const utf8 = new TextEncoder();

/** FNV-1a 32-bit hash of `bytes`, as an unsigned 32-bit integer. */
export function fnv1a32(bytes: Uint8Array): number {
  let hash = FNV_OFFSET_BASIS;
  for (const byte of bytes) {
    hash ^= byte;
    hash = Math.imul(hash, FNV_PRIME);
  }
  return hash >>> 0;
}

/** The cluster id carried in every frame header: FNV-1a 32-bit of the UTF-8 `cluster_name`. */
export function clusterIdFromName(clusterName: string): number {
  return fnv1a32(utf8.encode(clusterName));
}
