import type { LinkMode } from '../../src/transport/types.ts';
import type { LinkEndpoint } from '../../src/transport/udp-endpoints.ts';

/** Configuration of one child peer process (passed as JSON in argv[2]). */
export interface PeerProcessConfig {
  nodeId: number;
  clusterName: string;
  authkeyHex: string;
  linkMode: LinkMode;
  endpoints: LinkEndpoint[];
  peers: { nodeId: number; endpoints: LinkEndpoint[] }[];
  pingIntervalMs: number;
  pingTimeoutMs: number;
  pongCount: number;
  /** Largest UDP payload the driver sends; the core's frame MTU is this minus the crypto overhead. */
  maxDatagramBytes: number;
}

/** corolink's fast timing profile: ping 20 ms, timeout 250 ms, pong_count 2. */
export const FAST_PROFILE = { pingIntervalMs: 20, pingTimeoutMs: 250, pongCount: 2 } as const;

/** Largest UDP payload over an Ethernet MTU of 1500: − IPv4 (20) − UDP (8). */
export const ETHERNET_DATAGRAM_BYTES = 1500 - 20 - 8;
/** Largest UDP payload on loopback (MTU 65,536) — what a PMTU discovery would find there. */
export const LOOPBACK_DATAGRAM_BYTES = 65_507;

/** Loopback addresses of the two test nodes: link0 on 127.0.10.x, link1 on 127.0.20.x. */
export function loopbackAddress(nodeId: number, link: number): string {
  return `127.0.${(link + 1) * 10}.${nodeId}`;
}

/** Configs for nodes 1 and 2 on links 0 and 1, with the given ports (ports[nodeId - 1][link]). */
export function pairConfigs(
  linkMode: LinkMode,
  ports: number[][],
  authkeyHex: string,
  maxDatagramBytes = ETHERNET_DATAGRAM_BYTES,
): PeerProcessConfig[] {
  const endpointsOf = (nodeId: number): LinkEndpoint[] =>
    [0, 1].map((link) => ({ link, address: loopbackAddress(nodeId, link), port: ports[nodeId - 1]![link]! }));
  return [1, 2].map((nodeId) => ({
    nodeId,
    clusterName: 'corolink-udp-test',
    authkeyHex,
    linkMode,
    endpoints: endpointsOf(nodeId),
    peers: [{ nodeId: 3 - nodeId, endpoints: endpointsOf(3 - nodeId) }],
    ...FAST_PROFILE,
    maxDatagramBytes,
  }));
}

/** A command to a child peer (one JSON line on its stdin); which fields matter depends on `cmd`. */
export interface PeerCommand {
  cmd:
    | 'stream'
    | 'blast'
    | 'recvStats'
    | 'resetRecv'
    | 'markRecv'
    | 'setLinkEnabled'
    | 'cut'
    | 'snapshot'
    | 'rawSink'
    | 'rawBlast'
    | 'exit';
  to?: number;
  count?: number;
  ratePerS?: number;
  size?: number;
  retransmitMs?: number;
  durationMs?: number;
  link?: number;
  enabled?: boolean;
  address?: string;
  port?: number;
}
