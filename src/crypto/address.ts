import { isIPv6 } from 'node:net';

const IPV4_MAPPED_PREFIX = '::ffff:';

/**
 * Canonical text of an IP address, so that a configured address and the `rinfo.address` of a received datagram
 * compare equal: IPv6 compressed lower-case (RFC 5952, via the WHATWG URL serializer), IPv4-mapped IPv6 as IPv4,
 * any zone id (`%eth0`) dropped.
 */
export function canonicalAddress(address: string): string {
  const withoutZone = address.split('%', 1)[0]!;
  if (!isIPv6(withoutZone)) return withoutZone;
  const canonical = new URL(`http://[${withoutZone}]/`).hostname.slice(1, -1);
  if (canonical.startsWith(IPV4_MAPPED_PREFIX)) {
    const tail = canonical.slice(IPV4_MAPPED_PREFIX.length);
    if (tail.includes('.')) return tail;
    const [high, low] = tail.split(':').map((part) => Number.parseInt(part, 16));
    if (high !== undefined && low !== undefined && tail.split(':').length === 2) {
      return `${high >>> 8}.${high & 0xff}.${low >>> 8}.${low & 0xff}`;
    }
  }
  return canonical;
}
