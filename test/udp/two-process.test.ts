import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { LinkMode } from '../../src/transport/types.ts';
import { testAuthkey } from '../crypto/helpers.ts';
import { loopbackAddress, pairConfigs } from './peer-config.ts';
import { freePorts, type PeerEvent, PeerProcess } from './peer-process.ts';

const STREAM_MESSAGES = 2000;
const STREAM_RATE_PER_S = 1000;
const STREAM_MESSAGE_BYTES = 200;
const RETRANSMIT_MS = 300;
/** The stream is switched over when this many messages have been sent. */
const DISABLE_AFTER_MESSAGES = 500;
const STARTUP_TIMEOUT_MS = 15_000;
const STREAM_TIMEOUT_MS = 20_000;
const REPLY_TIMEOUT_MS = 5_000;

const isLink = (type: string, nodeId: number, link: number) => (event: PeerEvent) =>
  event.event === type && event.nodeId === nodeId && event.link === link;

async function startPair(linkMode: LinkMode): Promise<PeerProcess[]> {
  const addresses = [1, 2].flatMap((nodeId) => [0, 1].map((link) => loopbackAddress(nodeId, link)));
  const ports = await freePorts(addresses);
  const configs = pairConfigs(linkMode, [ports.slice(0, 2), ports.slice(2, 4)], testAuthkey().toString('hex'));
  const peers = configs.map((config) => PeerProcess.spawn(config));
  running.push(...peers);
  for (const [index, peer] of peers.entries()) {
    const other = 2 - index;
    for (const link of [0, 1]) {
      await peer.waitFor(isLink('linkUp', other, link), STARTUP_TIMEOUT_MS, `node ${index + 1}: link ${link} up`);
    }
  }
  return peers;
}

const running: PeerProcess[] = [];
after(async () => {
  await Promise.all(running.map((peer) => peer.stop()));
});

describe('two corolink processes on loopback, links 127.0.10.x and 127.0.20.x', () => {
  for (const linkMode of ['passive', 'active'] as const) {
    test(`${linkMode}: link0 disabled mid-stream → failover, every message delivered exactly once in order`, async () => {
      const [node1, node2] = await startPair(linkMode);
      node1!.send({
        cmd: 'stream',
        to: 2,
        count: STREAM_MESSAGES,
        ratePerS: STREAM_RATE_PER_S,
        size: STREAM_MESSAGE_BYTES,
        retransmitMs: RETRANSMIT_MS,
      });
      await node1!.waitFor(
        (event) => event.event === 'streamProgress' && (event.sent as number) >= DISABLE_AFTER_MESSAGES,
        STREAM_TIMEOUT_MS,
        'stream progress',
      );
      node1!.send({ cmd: 'setLinkEnabled', link: 0, enabled: false });
      const done = await node1!.waitFor((event) => event.event === 'streamDone', STREAM_TIMEOUT_MS, 'stream done');
      await node2!.waitFor(isLink('linkDown', 1, 0), STREAM_TIMEOUT_MS, 'node 2 sees link 0 to node 1 down');
      const received = await node2!.request({ cmd: 'recvStats' }, 'recvStats', REPLY_TIMEOUT_MS);

      assert.equal(received.unique, STREAM_MESSAGES, 'every message arrived');
      assert.equal(received.highest, STREAM_MESSAGES - 1);
      assert.equal(received.outOfOrder, 0, 'no message needed a retransmission to fill a hole, none overtook another');
      assert.equal(received.duplicates, done.retransmits, 'transport itself delivered no duplicate');
      const link1Down = [...node1!.events, ...node2!.events].filter(
        (event) => event.event === 'linkDown' && event.link === 1,
      );
      assert.deepEqual(link1Down, [], 'link 1 stayed up');
      const hostDown = [...node1!.events, ...node2!.events].filter((event) => event.event === 'hostDown');
      assert.deepEqual(hostDown, [], 'the hosts stayed reachable');
      const snapshot = await node2!.request({ cmd: 'snapshot' }, 'snapshot', REPLY_TIMEOUT_MS);
      const cryptoStats = snapshot.crypto as { rejected: Record<string, number> };
      assert.deepEqual(
        Object.values(cryptoStats.rejected).filter((count) => count > 0),
        [],
        'no datagram was rejected by crypto',
      );
      await Promise.all([node1!.stop(), node2!.stop()]);
    });
  }
});
