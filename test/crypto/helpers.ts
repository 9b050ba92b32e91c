import { PacketCrypto, type PacketCryptoOptions } from '../../src/crypto/packet-crypto.ts';

/** A deterministic 256-byte authkey (what corosync-keygen would make, but reproducible). */
export function testAuthkey(fill = 7): Buffer {
  return Buffer.from(Array.from({ length: 256 }, (_, index) => (index * 31 + fill) & 0xff));
}

/** Nodelist of the crypto tests: node 1 at 127.0.10.1, node 2 at 127.0.10.2, node 3 at 127.0.10.3. */
export const TEST_NODELIST = [
  { nodeId: 1, address: '127.0.10.1' },
  { nodeId: 2, address: '127.0.10.2' },
  { nodeId: 3, address: '127.0.10.3' },
];

/** A PacketCrypto for `localNodeId` in cluster "lab" with the test authkey. */
export function makeCrypto(localNodeId: number, overrides: Partial<PacketCryptoOptions> = {}): PacketCrypto {
  return new PacketCrypto({
    localNodeId,
    clusterName: 'lab',
    cipher: 'aes256',
    authkey: testAuthkey(),
    nodelist: TEST_NODELIST,
    ...overrides,
  });
}
