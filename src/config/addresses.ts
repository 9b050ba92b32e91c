/**
 * Address helpers for link validation. corosync.conf carries no netmask, so corolink judges "same network" by
 * prefix: two IPv4 addresses share a network when they share a /24, two IPv6 addresses when they share a /64
 * (the usual LAN sizes). Hostnames are not resolved: they are skipped by the family and subnet checks.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** The prefix length used to compare IPv4 link networks. */
export const IPV4_LINK_PREFIX = 24;
/** The prefix length used to compare IPv6 link networks. */
export const IPV6_LINK_PREFIX = 64;

const IPV6_GROUPS = 8;
const IPV4_PREFIX_OCTETS = IPV4_LINK_PREFIX / 8;
const IPV6_PREFIX_GROUPS = IPV6_LINK_PREFIX / 16;

/** 4 or 6 for an IP literal, null for a hostname. */
export function addressFamily(address: string): 4 | 6 | null {
  if (isIPv4(address)) return 4;
  if (isIPv6(address)) return 6;
  return null;
}

/** The eight 16-bit groups of an IPv6 literal, as lower-case hex without leading zeros. */
function expandIPv6(address: string): string[] {
  const withoutZone = address.split('%')[0]!;
  let text = withoutZone;
  // An embedded IPv4 tail (::ffff:198.18.10.1) becomes two hex groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const missing = tail === undefined ? 0 : IPV6_GROUPS - headGroups.length - tailGroups.length;
  return [...headGroups, ...Array<string>(missing).fill('0'), ...tailGroups].map((g) =>
    Number.parseInt(g, 16).toString(16),
  );
}

/** The /24 (IPv4) or /64 (IPv6) network of an IP literal, e.g. `198.18.10.0/24`; null for a hostname. */
export function linkNetwork(address: string): string | null {
  const family = addressFamily(address);
  if (family === 4) return `${address.split('.').slice(0, IPV4_PREFIX_OCTETS).join('.')}.0/${IPV4_LINK_PREFIX}`;
  if (family === 6) return `${expandIPv6(address).slice(0, IPV6_PREFIX_GROUPS).join(':')}::/${IPV6_LINK_PREFIX}`;
  return null;
}

/** A canonical spelling of an address so `2001:db8::1` and `2001:0db8:0:0::1` compare equal. */
export function canonicalAddress(address: string): string {
  return addressFamily(address) === 6 ? expandIPv6(address).join(':') : address.toLowerCase();
}
