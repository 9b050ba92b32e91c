import type { LookupOneOptions } from 'node:dns';
import { isIP, isIPv6 } from 'node:net';
import { lazyBuiltin } from '../base/lazy-module.ts';
import { canonicalAddress } from '../crypto/address.ts';

/** corosync's default `mcastport`; link N listens on DEFAULT_BASE_PORT + N unless configured. */
export const DEFAULT_BASE_PORT = 5405;

/** One address of a node on one link. */
export interface LinkEndpoint {
  link: number;
  address: string;
  /** UDP port; default DEFAULT_BASE_PORT + link. */
  port?: number;
}

/** A resolved address + port. */
export interface ResolvedEndpoint {
  address: string;
  port: number;
  family: 'udp4' | 'udp6';
}

/** Fills in the default port and canonicalizes the address of an endpoint. */
export function resolveEndpoint(endpoint: LinkEndpoint): ResolvedEndpoint {
  const address = canonicalAddress(endpoint.address);
  return {
    address,
    port: endpoint.port ?? DEFAULT_BASE_PORT + endpoint.link,
    family: isIPv6(address) ? 'udp6' : 'udp4',
  };
}

/** Key of a source address in the per-link source map. */
function sourceKey(address: string, port: number): string {
  return `${address}|${port}`;
}

/**
 * Per-link peer addresses: where to send to a node, and which node a source IP:port belongs to.
 * A datagram on link L is accepted only from the address:port the nodelist gives its sender on L.
 */
export class PeerEndpoints {
  private readonly byNode = new Map<number, Map<number, ResolvedEndpoint>>();
  private readonly bySource = new Map<number, Map<string, number>>();

  /** Adds (or replaces) a node's address on one link. */
  add(nodeId: number, endpoint: LinkEndpoint): void {
    const resolved = resolveEndpoint(endpoint);
    this.remove(nodeId, endpoint.link);
    const links = this.byNode.get(nodeId) ?? new Map<number, ResolvedEndpoint>();
    links.set(endpoint.link, resolved);
    this.byNode.set(nodeId, links);
    const sources = this.bySource.get(endpoint.link) ?? new Map<string, number>();
    sources.set(sourceKey(resolved.address, resolved.port), nodeId);
    this.bySource.set(endpoint.link, sources);
  }

  /** Forgets a node's address on one link. */
  remove(nodeId: number, link: number): void {
    const old = this.byNode.get(nodeId)?.get(link);
    if (old === undefined) return;
    this.byNode.get(nodeId)?.delete(link);
    this.bySource.get(link)?.delete(sourceKey(old.address, old.port));
  }

  /** Forgets every node's address on `link`; returns the forgotten (node, address) pairs. */
  forgetLink(link: number): { nodeId: number; address: string }[] {
    const forgotten: { nodeId: number; address: string }[] = [];
    for (const [nodeId, links] of this.byNode) {
      const endpoint = links.get(link);
      if (endpoint === undefined) continue;
      links.delete(link);
      forgotten.push({ nodeId, address: endpoint.address });
    }
    this.bySource.delete(link);
    return forgotten;
  }

  /** Whether `nodeId` still has `address` (canonical) on some link. */
  hasAddress(nodeId: number, address: string): boolean {
    for (const endpoint of this.byNode.get(nodeId)?.values() ?? []) if (endpoint.address === address) return true;
    return false;
  }

  /** Where to send to `nodeId` on `link`. */
  destination(nodeId: number, link: number): ResolvedEndpoint | undefined {
    return this.byNode.get(nodeId)?.get(link);
  }

  /** The node whose address on `link` is address:port. */
  nodeAt(link: number, address: string, port: number): number | undefined {
    return this.bySource.get(link)?.get(sourceKey(address, port));
  }
}

/** DNS, loaded for the first host name to resolve (src/base/lazy-module.ts). */
const dns = lazyBuiltin<typeof import('node:dns')>('node:dns');

/**
 * The `lookup` of every node:dgram link socket (datagram-socket.ts): an IP literal (all a resolved endpoint holds)
 * is its own address, answered at once. dgram's default (dns.lookup) answers even a literal on the next tick, so
 * every datagram — the Totem token's urgent flush too — left only after the rest of the event-loop turn (a visit's
 * deliveries) had run.
 */
export function literalLookup(
  hostname: string,
  options: LookupOneOptions | number, // dgram passes the family number, whatever @types/node says
  callback: (error: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const family = isIP(hostname);
  if (family !== 0) callback(null, hostname, family);
  else dns().lookup(hostname, typeof options === 'number' ? { family: options } : options, callback);
}
