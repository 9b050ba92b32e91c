import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { afterEach, describe, test } from 'node:test';
import { PacketCrypto } from '../../src/crypto/packet-crypto.ts';
import { REPLAY_WINDOW_PACKETS } from '../../src/crypto/replay-window.ts';
import { Transport } from '../../src/transport/transport.ts';
import { UdpTransport } from '../../src/transport/udp.ts';
import { PendingBundle } from '../../src/transport/udp-bundle.ts';
import { clusterIdFromName } from '../../src/wire/cluster-id.ts';
import { encodeData } from '../../src/wire/packet.ts';
import { testAuthkey } from '../crypto/helpers.ts';
import { openTransport } from './open-transport.ts';
import { FAST_PROFILE, loopbackAddress } from './peer-config.ts';
import { freePorts } from './peer-process.ts';

const CLUSTER = 'udp-driver-test';
const EVENT_TIMEOUT_MS = 10_000;
const SMALL_MESSAGES = 200;
const HOSTILE_DATAGRAMS = 50;
const LINKS = [0, 1];
const ETHERNET_FRAME_MTU = 1435;
/** Largest frame the wire header allows (24-byte header + u16 body): more than one sealed datagram can carry. */
const OVERSIZED_FRAME_MTU = 24 + 0xffff;

const opened: UdpTransport[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((transport) => transport.close()));
  for (const socket of sockets.splice(0)) socket.close();
});

const within = (ms = EVENT_TIMEOUT_MS) => ({ signal: AbortSignal.timeout(ms) });

/** Nodes 1 and 2 on links 0 and 1 of loopback, with fresh ports. */
async function openPair(
  mtu = ETHERNET_FRAME_MTU,
): Promise<{ one: UdpTransport; two: UdpTransport; ports: number[][] }> {
  const all = await freePorts([1, 2].flatMap((nodeId) => LINKS.map((link) => loopbackAddress(nodeId, link))));
  const ports = [all.slice(0, 2), all.slice(2, 4)];
  const endpointsOf = (nodeId: number) =>
    LINKS.map((link) => ({ link, address: loopbackAddress(nodeId, link), port: ports[nodeId - 1]![link]! }));
  const open = (nodeId: number) =>
    openTransport({
      cluster: CLUSTER,
      nodeId,
      links: LINKS.map((link) => ({ link, priority: 10 - link, mtu, ...FAST_PROFILE })),
      endpointsOf,
      listed: [1, 2].flatMap((id) => endpointsOf(id).map(({ address }) => ({ nodeId: id, address }))),
    });
  const one = await open(1);
  opened.push(one);
  const oneUp = allLinksUp(one);
  const two = await open(2);
  opened.push(two);
  await Promise.all([oneUp, allLinksUp(two)]);
  return { one, two, ports };
}

/** Resolves when every link to the peer has come up. */
function allLinksUp(transport: UdpTransport): Promise<void> {
  const up = new Set<number>();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`links up: ${[...up]}`)), EVENT_TIMEOUT_MS);
    transport.on('linkUp', ({ link }) => {
      up.add(link);
      if (up.size === LINKS.length) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

async function rawSocket(address: string): Promise<Socket> {
  const socket = createSocket('udp4');
  sockets.push(socket);
  socket.bind(0, address);
  await once(socket, 'listening', within());
  return socket;
}

function collect(transport: UdpTransport, count: number): Promise<Buffer[]> {
  const payloads: Buffer[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${payloads.length}/${count} delivered`)), EVENT_TIMEOUT_MS);
    transport.on('deliver', (_from, payload) => {
      payloads.push(Buffer.from(payload));
      if (payloads.length === count) {
        clearTimeout(timer);
        resolve(payloads);
      }
    });
  });
}

describe('UdpTransport on loopback', () => {
  test('delivers messages both ways, including urgent ones, with the sender id', async () => {
    const { one, two } = await openPair();
    const atTwo = once(two, 'deliver', within());
    one.send(2, Buffer.from('hello from 1'));
    const [from, payload] = await atTwo;
    assert.equal(from, 1);
    assert.equal(Buffer.from(payload).toString(), 'hello from 1');
    const atOne = once(one, 'deliver', within());
    two.send('all', Buffer.from('token'), { urgent: true });
    assert.equal(Buffer.from((await atOne)[1]).toString(), 'token');
  });

  test('small messages sent in one turn share datagrams (bundles) and all arrive in order', async () => {
    const { one, two } = await openPair();
    const before = one.snapshot();
    const delivered = collect(two, SMALL_MESSAGES);
    for (let index = 0; index < SMALL_MESSAGES; index++) one.send(2, Buffer.from(`message ${index}`));
    const payloads = await delivered;
    assert.deepEqual(
      payloads.map((payload) => payload.toString()),
      Array.from({ length: SMALL_MESSAGES }, (_, index) => `message ${index}`),
    );
    const after = one.snapshot();
    const datagrams = after.datagramsSent - before.datagramsSent;
    assert.ok(after.framesSent - before.framesSent >= SMALL_MESSAGES);
    assert.ok(datagrams <= SMALL_MESSAGES / 10, `${SMALL_MESSAGES} messages took ${datagrams} datagrams`);
  });

  test('hostile datagrams are counted and dropped; the link keeps working', async () => {
    const { one, two, ports } = await openPair();
    const target = { port: ports[1]![0]!, address: loopbackAddress(2, 0) };
    const stranger = await rawSocket('127.0.10.9');
    const impostor = await rawSocket(loopbackAddress(1, 0));
    for (let index = 0; index < HOSTILE_DATAGRAMS; index++) {
      stranger.send(Buffer.alloc(index * 10, index), target.port, target.address);
      impostor.send(Buffer.alloc(index * 10 + 1, index), target.port, target.address);
    }
    const sealedElsewhere = new PacketCrypto({
      localNodeId: 1,
      clusterName: CLUSTER,
      cipher: 'aes256',
      authkey: testAuthkey(),
      nodelist: [],
    }).seal(Buffer.from('valid crypto, wrong source port'));
    impostor.send(sealedElsewhere, target.port, target.address);
    const waitFor = async (done: () => boolean) => {
      const deadline = performance.now() + EVENT_TIMEOUT_MS;
      while (!done() && performance.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    };
    const rejected = () => two.snapshot().crypto.rejected;
    await waitFor(() => rejected().unlisted_ip >= HOSTILE_DATAGRAMS && rejected().sender_mismatch >= 1);
    const counts = rejected();
    assert.equal(counts.unlisted_ip, HOSTILE_DATAGRAMS);
    assert.equal(counts.too_short + counts.bad_format, HOSTILE_DATAGRAMS);
    assert.equal(counts.sender_mismatch, 1, 'valid crypto from a wrong source port');
    assert.equal(counts.replayed + counts.auth_failed, 0);
    const stillWorks = once(two, 'deliver', within());
    one.send(2, Buffer.from('after the storm'));
    assert.equal(Buffer.from((await stillWorks)[1]).toString(), 'after the storm');
  });

  test('datagrams read on one link long after newer ones on the other are not taken for replays', async () => {
    // Node 1 is played by raw sockets on its two addresses and ports: its data on link 0, then its token on link 1
    // (one packet counter across both); node 2 reads the token first, then the data, a window and more behind it.
    const all = await freePorts([1, 2].flatMap((nodeId) => LINKS.map((link) => loopbackAddress(nodeId, link))));
    const endpointsOf = (nodeId: number) =>
      LINKS.map((link) => ({ link, address: loopbackAddress(nodeId, link), port: all[(nodeId - 1) * 2 + link]! }));
    const two = await openTransport({
      cluster: CLUSTER,
      nodeId: 2,
      links: LINKS.map((link) => ({ link, priority: 10 - link, mtu: ETHERNET_FRAME_MTU, ...FAST_PROFILE })),
      endpointsOf,
      listed: [1, 2].flatMap((id) => endpointsOf(id).map(({ address }) => ({ nodeId: id, address }))),
    });
    opened.push(two);
    const raw = await Promise.all(
      endpointsOf(1).map(async ({ address, port }) => {
        const socket = createSocket('udp4');
        sockets.push(socket);
        socket.bind(port, address);
        await once(socket, 'listening', within());
        return socket;
      }),
    );
    const crypto = new PacketCrypto({
      localNodeId: 1,
      clusterName: CLUSTER,
      cipher: 'aes256',
      authkey: testAuthkey(),
      nodelist: [],
    });
    const header = {
      clusterId: clusterIdFromName(CLUSTER),
      sourceNodeId: 1,
      incarnation: 7,
      link: 0,
      seq: 0,
      flags: 0,
    };
    const sealed = (link: number, seq: number) => {
      const bundle = new PendingBundle(link, 2);
      bundle.add(encodeData({ ...header, link, seq }, Buffer.from(`m${seq}`)));
      return crypto.seal(bundle.take());
    };
    const data = Array.from({ length: 2 * REPLAY_WINDOW_PACKETS }, (_, index) => sealed(0, index + 1));
    const token = sealed(1, data.length + 1);
    const [link0, link1] = endpointsOf(2);
    const tokenDelivered = once(two, 'deliver', within());
    raw[1]!.send(token, link1!.port, link1!.address);
    await tokenDelivered;
    const delivered = collect(two, data.length);
    for (const datagram of data) raw[0]!.send(datagram, link0!.port, link0!.address);
    const payloads = await delivered;
    assert.deepEqual(
      payloads.map((payload) => payload.toString()),
      data.map((_, index) => `m${index + 1}`),
    );
    assert.equal(two.snapshot().crypto.rejected.replayed, 0);
  });

  test('disabling link 0 reports it down and traffic continues on link 1', async () => {
    const { one, two } = await openPair();
    const down = once(one, 'linkDown', within());
    one.setLinkEnabled(0, false);
    const [change] = await down;
    assert.deepEqual({ nodeId: change.nodeId, link: change.link }, { nodeId: 2, link: 0 });
    assert.equal(one.snapshot().links.find((link) => link.link === 0)?.enabled, false);
    const delivered = once(two, 'deliver', within());
    one.send(2, Buffer.from('via link 1'));
    assert.equal(Buffer.from((await delivered)[1]).toString(), 'via link 1');
  });

  test('a frame too large to seal becomes an EMSGSIZE send error, not an exception', async () => {
    const { one } = await openPair(OVERSIZED_FRAME_MTU);
    one.send(2, Buffer.alloc(OVERSIZED_FRAME_MTU - 24));
    const deadline = performance.now() + EVENT_TIMEOUT_MS;
    while (one.snapshot().sendErrors.EMSGSIZE === undefined && performance.now() < deadline) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(one.snapshot().sendErrors.EMSGSIZE, 1);
    assert.equal(one.snapshot().coreExceptions, 0);
  });

  test('open rejects when a port is taken, and close is idempotent', async () => {
    const { one, ports } = await openPair();
    await assert.rejects(
      UdpTransport.open({
        core: new Transport(
          {
            localNodeId: 1,
            clusterId: 1,
            linkMode: 'passive',
            links: [{ link: 0, priority: 1, mtu: ETHERNET_FRAME_MTU, ...FAST_PROFILE }],
            peers: [],
            failbackHoldMs: 0,
            maxMessageBytes: 1024,
          },
          0,
        ),
        crypto: new PacketCrypto({
          localNodeId: 1,
          clusterName: CLUSTER,
          cipher: 'aes256',
          authkey: testAuthkey(),
          nodelist: [],
        }),
        localEndpoints: [{ link: 0, address: loopbackAddress(1, 0), port: ports[0]![0]! }],
        peers: [],
      }),
      /EADDRINUSE/,
    );
    await one.close();
    await one.close();
    one.send(2, Buffer.from('ignored after close'));
    assert.equal(one.snapshot().links.length, 0);
  });
});
