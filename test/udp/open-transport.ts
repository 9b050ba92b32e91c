// One UdpTransport of a two-node loopback test (nodes 1 and 2): AES-256 with the test authkey, passive mode.
import { PacketCrypto } from '../../src/crypto/packet-crypto.ts';
import { Transport } from '../../src/transport/transport.ts';
import type { LinkOptions } from '../../src/transport/types.ts';
import { UdpTransport } from '../../src/transport/udp.ts';
import type { LinkEndpoint } from '../../src/transport/udp-endpoints.ts';
import { clusterIdFromName } from '../../src/wire/cluster-id.ts';
import { testAuthkey } from '../crypto/helpers.ts';

export interface OpenOptions {
  cluster: string;
  nodeId: number;
  /** The local links (the peer is configured on the same ones). */
  links: LinkOptions[];
  /** Every node's endpoints on those links, by node id. */
  endpointsOf: (nodeId: number) => LinkEndpoint[];
  /** Addresses the crypto accepts packets from (block_unlisted_ips). */
  listed: { nodeId: number; address: string }[];
}

export function openTransport({ cluster, nodeId, links, endpointsOf, listed }: OpenOptions): Promise<UdpTransport> {
  const peer = 3 - nodeId;
  const crypto = new PacketCrypto({
    localNodeId: nodeId,
    clusterName: cluster,
    cipher: 'aes256',
    authkey: testAuthkey(),
    nodelist: listed,
  });
  const core = new Transport(
    {
      localNodeId: nodeId,
      clusterId: clusterIdFromName(cluster),
      linkMode: 'passive',
      links,
      peers: [{ nodeId: peer, links: links.map((l) => l.link) }],
      failbackHoldMs: 1000,
      maxMessageBytes: 1024 * 1024,
    },
    performance.now(),
  );
  return UdpTransport.open({
    core,
    crypto,
    localEndpoints: endpointsOf(nodeId),
    peers: [{ nodeId: peer, endpoints: endpointsOf(peer) }],
  });
}
