// The UDP driver counts and survives an ordinary exception of the transport core, but hands a failed assertion to
// its handler and lets it through: a broken invariant is never swallowed. No socket is opened (no link endpoint).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AssertionError } from '../../src/base/assert.ts';
import { PacketCrypto } from '../../src/crypto/packet-crypto.ts';
import { Transport } from '../../src/transport/transport.ts';
import type { TransportAction, TransportEvent } from '../../src/transport/types.ts';
import { UdpTransport } from '../../src/transport/udp.ts';
import { clusterIdFromName } from '../../src/wire/cluster-id.ts';

/** A transport core that breaks an invariant on `setLinkEnabled` and throws an ordinary error on `send`. */
class BrittleTransport extends Transport {
  override step(event: TransportEvent, now: number): TransportAction[] {
    if (event.type === 'setLinkEnabled') throw new AssertionError('test: the link never breaks');
    if (event.type === 'send') throw new Error('an ordinary error');
    return super.step(event, now);
  }
}

describe('UDP driver and assertions', () => {
  test('a failed assertion reaches the handler and the caller; an ordinary error is counted', async () => {
    const core = new BrittleTransport(
      {
        localNodeId: 1,
        clusterId: clusterIdFromName('t'),
        linkMode: 'passive',
        links: [],
        peers: [],
        failbackHoldMs: 1000,
        maxMessageBytes: 1024,
      },
      performance.now(),
    );
    const crypto = new PacketCrypto({
      localNodeId: 1,
      clusterName: 't',
      cipher: 'none',
      allowCryptoNone: true,
      nodelist: [],
    });
    const seen: AssertionError[] = [];
    const udp = await UdpTransport.open({
      core,
      crypto,
      localEndpoints: [],
      peers: [],
      onAssertion: (error) => seen.push(error),
    });
    try {
      assert.throws(() => udp.setLinkEnabled(0, false), AssertionError);
      assert.deepEqual(
        seen.map((error) => error.invariant),
        ['test: the link never breaks'],
      );
      assert.equal(udp.snapshot().coreExceptions, 0, 'an assertion is not counted as a core exception');
      udp.send(2, new Uint8Array(1));
      assert.equal(udp.snapshot().coreExceptions, 1, 'an ordinary error is counted and survived');
      assert.equal(seen.length, 1);
    } finally {
      await udp.close();
    }
  });
});
