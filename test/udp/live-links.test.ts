import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { afterEach, describe, test } from 'node:test';
import type { LinkOptions } from '../../src/transport/types.ts';
import type { UdpTransport, UdpTransportEvents } from '../../src/transport/udp.ts';
import type { LinkEndpoint } from '../../src/transport/udp-endpoints.ts';
import { openTransport } from './open-transport.ts';
import { FAST_PROFILE, loopbackAddress } from './peer-config.ts';
import { freePorts } from './peer-process.ts';

const CLUSTER = 'udp-live-links-test';
const EVENT_TIMEOUT_MS = 10_000;
const ETHERNET_FRAME_MTU = 1435;
const NODES = [1, 2];

const opened: UdpTransport[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((transport) => transport.close()));
  await Promise.all(sockets.splice(0).map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))));
});

function linkOptions(link: number, priority = 1): LinkOptions {
  return { link, priority, mtu: ETHERNET_FRAME_MTU, ...FAST_PROFILE };
}

/** The first `event` whose arguments match; rejects after EVENT_TIMEOUT_MS. */
function nextEvent<K extends keyof UdpTransportEvents>(
  transport: UdpTransport,
  event: K,
  matches: (...args: UdpTransportEvents[K]) => boolean = () => true,
): Promise<UdpTransportEvents[K]> {
  return new Promise((resolve, reject) => {
    const listener = (...args: UdpTransportEvents[K]) => {
      if (!matches(...args)) return;
      clearTimeout(timer);
      transport.off(event, listener as never);
      resolve(args);
    };
    const timer = setTimeout(() => {
      transport.off(event, listener as never);
      reject(new Error(`no matching ${event} within ${EVENT_TIMEOUT_MS} ms`));
    }, EVENT_TIMEOUT_MS);
    transport.on(event, listener as never);
  });
}

/** Resolves once `condition` holds (checked after every I/O turn); rejects after EVENT_TIMEOUT_MS. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + EVENT_TIMEOUT_MS;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function rawSocket(address: string, port = 0): Promise<Socket> {
  const socket = createSocket('udp4');
  sockets.push(socket);
  socket.bind(port, address);
  await once(socket, 'listening', { signal: AbortSignal.timeout(EVENT_TIMEOUT_MS) });
  return socket;
}

/**
 * Nodes 1 and 2 running on link 0 only (127.0.10.x); ports are also reserved for link 1 (127.0.20.x), which the
 * tests add at run time. The crypto nodelists list the link-0 addresses only, as a config without link 1 would.
 */
async function openPairOnLink0() {
  const addresses = NODES.flatMap((nodeId) => [0, 1].map((link) => loopbackAddress(nodeId, link)));
  const ports = await freePorts(addresses);
  const endpoint = (nodeId: number, link: number): LinkEndpoint => ({
    link,
    address: loopbackAddress(nodeId, link),
    port: ports[(nodeId - 1) * 2 + link]!,
  });
  const open = (nodeId: number) =>
    openTransport({
      cluster: CLUSTER,
      nodeId,
      links: [linkOptions(0)],
      endpointsOf: (id) => [endpoint(id, 0)],
      listed: NODES.map((id) => ({ nodeId: id, address: loopbackAddress(id, 0) })),
    });
  const one = await open(1);
  opened.push(one);
  const oneUp = nextEvent(one, 'linkUp');
  const two = await open(2);
  opened.push(two);
  await Promise.all([oneUp, nextEvent(two, 'linkUp')]);
  /** Adds link 1 on `node` (nodes 1 and 2: one and two) with the other node as its peer. */
  const addLink1 = (node: number, priority = 1) =>
    (node === 1 ? one : two).addLink(
      endpoint(node, 1),
      [{ nodeId: 3 - node, endpoint: endpoint(3 - node, 1) }],
      linkOptions(1, priority),
    );
  return { one, two, endpoint, addLink1 };
}

/** `transport`'s status row for `peer` on `link`. */
function rowOf(transport: UdpTransport, peer: number, link: number) {
  const row = transport.snapshot().peerLinks.find((status) => status.nodeId === peer && status.link === link);
  assert.ok(row !== undefined, `no status row for node ${peer} link ${link}`);
  return row;
}

function linksOf(transport: UdpTransport): number[] {
  return transport.snapshot().links.map(({ link }) => link);
}

/**
 * Sends a junk datagram to `target` from `fromAddress` and returns how `transport`'s crypto judged it: an
 * unlisted source IP, or a listed one whose datagram failed a later check.
 */
async function probeSource(transport: UdpTransport, fromAddress: string, target: LinkEndpoint) {
  const rejected = () => transport.snapshot().crypto.rejected;
  const before = rejected();
  const total = (r: typeof before) => Object.values(r).reduce((sum, count) => sum + count, 0);
  const socket = await rawSocket(fromAddress);
  socket.send(Buffer.alloc(4), target.port!, target.address);
  await until(() => total(rejected()) > total(before), 'the probe to be rejected');
  return rejected().unlisted_ip > before.unlisted_ip ? 'unlisted' : 'listed';
}

describe('UdpTransport: live link changes on loopback', () => {
  test('addLink brings link 1 up on two running transports; it carries traffic; removeLink takes it away', async () => {
    const { one, two, endpoint, addLink1 } = await openPairOnLink0();
    assert.equal(await probeSource(one, loopbackAddress(2, 1), endpoint(1, 0)), 'unlisted', 'before the add');
    const link1Up = [nextEvent(one, 'linkUp', (c) => c.link === 1), nextEvent(two, 'linkUp', (c) => c.link === 1)];
    await Promise.all([addLink1(1), addLink1(2)]);
    await Promise.all(link1Up);
    assert.deepEqual(one.snapshot().links, [
      { link: 0, address: loopbackAddress(1, 0), port: endpoint(1, 0).port, enabled: true },
      { link: 1, address: loopbackAddress(1, 1), port: endpoint(1, 1).port, enabled: true },
    ]);
    assert.ok(rowOf(one, 2, 1).connected);
    assert.equal(await probeSource(one, loopbackAddress(2, 1), endpoint(1, 0)), 'listed', 'the peer address is listed');

    // A priority change moves the passive data link at once; an unknown link only warns.
    const logs: string[] = [];
    one.on('log', (record) => logs.push(`${record.level} ${record.message}`));
    one.updateLink(1, { priority: 5 });
    one.updateLink(7, { priority: 5 });
    assert.deepEqual(logs, [
      'notice link: link 1 priority set to: 5',
      'info host: host: 2 (passive) best link: 1 (pri: 5)',
      'warning link: cannot update unknown link 7',
    ]);
    assert.deepEqual([rowOf(one, 2, 1).inUse, rowOf(one, 2, 1).priority, rowOf(one, 2, 0).connected], [true, 5, true]);
    one.updateLink(1, { priority: 1 });
    assert.ok(rowOf(one, 2, 0).inUse);

    const link0Down = nextEvent(one, 'linkDown', (c) => c.link === 0);
    one.setLinkEnabled(0, false);
    await link0Down;
    const sentOnLink1 = rowOf(one, 2, 1).counters.txPackets;
    const delivered = nextEvent(two, 'deliver', (_from, payload) => Buffer.from(payload).toString() === 'via link 1');
    one.send(2, Buffer.from('via link 1'));
    await delivered;
    assert.ok(rowOf(one, 2, 1).inUse);
    assert.ok(rowOf(one, 2, 1).counters.txPackets > sentOnLink1, 'it went out on link 1');

    // Sent in the same turn as the removal, with no other link to fail over to: only the old socket can carry it.
    const lastOnLink1 = nextEvent(two, 'deliver', (_from, payload) => Buffer.from(payload).toString() === 'last');
    const hostDown = nextEvent(one, 'hostDown');
    one.send(2, Buffer.from('last'));
    await one.removeLink(1);
    await hostDown; // link 0 disabled and link 1 gone: node 2 is unreachable from node 1
    await lastOnLink1;
    await two.removeLink(1);
    for (const transport of [one, two]) {
      assert.deepEqual(linksOf(transport), [0]);
      assert.ok(transport.snapshot().peerLinks.every((row) => row.link === 0));
    }
    await rawSocket(loopbackAddress(1, 1), endpoint(1, 1).port); // its socket is closed: the port is free again
    assert.equal(await probeSource(one, loopbackAddress(2, 1), endpoint(1, 0)), 'unlisted', 'the address is forgotten');
    await assert.rejects(one.removeLink(1), /cannot remove link 1: no such link/);

    const link0Up = nextEvent(one, 'linkUp', (c) => c.link === 0);
    one.setLinkEnabled(0, true);
    await link0Up;
    const afterwards = nextEvent(
      two,
      'deliver',
      (_from, payload) => Buffer.from(payload).toString() === 'link 0 again',
    );
    one.send(2, Buffer.from('link 0 again'));
    await afterwards;
    assert.equal(one.snapshot().coreExceptions + two.snapshot().coreExceptions, 0);
  });

  test('an addLink whose bind fails rejects, changes nothing, and the transport keeps working', async () => {
    const { one, two, endpoint, addLink1 } = await openPairOnLink0();
    const squatter = await rawSocket(loopbackAddress(1, 1), endpoint(1, 1).port);
    const before = one.snapshot();
    await assert.rejects(addLink1(1), (error: Error) => {
      assert.match(error.message, /^cannot add link 1: .*EADDRINUSE/);
      return true;
    });
    assert.deepEqual(one.snapshot().links, before.links);
    assert.deepEqual(
      one.snapshot().peerLinks.map((row) => row.link),
      [0],
      'the core has no link 1',
    );
    assert.equal(await probeSource(one, loopbackAddress(2, 1), endpoint(1, 0)), 'unlisted', 'crypto not extended');

    await assert.rejects(
      one.addLink(endpoint(1, 0), [{ nodeId: 2, endpoint: endpoint(2, 0) }], linkOptions(0)),
      /cannot add link 0: the link already exists/,
    );
    await assert.rejects(
      one.addLink(endpoint(1, 1), [{ nodeId: 2, endpoint: endpoint(2, 0) }], linkOptions(1)),
      /cannot add link 1: an endpoint names another link/,
    );
    await assert.rejects(
      one.addLink(endpoint(1, 1), [], { ...linkOptions(1), pongCount: 0 }),
      /cannot add link 1: invalid pong count/,
    );

    const delivered = nextEvent(two, 'deliver', (_from, payload) => Buffer.from(payload).toString() === 'still here');
    one.send(2, Buffer.from('still here'));
    await delivered;

    // Nothing was left half-added: once the port is free the same addLink succeeds.
    await new Promise<void>((resolve) => squatter.close(() => resolve()));
    sockets.splice(sockets.indexOf(squatter), 1);
    const link1Up = nextEvent(one, 'linkUp', (c) => c.link === 1);
    await Promise.all([addLink1(1), addLink1(2)]);
    await link1Up;
    assert.deepEqual(linksOf(one), [0, 1]);
  });

  test('removePeer forgets a node (links down, address unlisted); addPeer brings it back; a known node is refused', async () => {
    const { one, two, endpoint } = await openPairOnLink0();
    const down = nextEvent(one, 'hostDown', (nodeId) => nodeId === 2);
    one.removePeer(2);
    await down;
    assert.deepEqual(one.snapshot().peerLinks, [], 'no status rows for a removed node');
    assert.equal(await probeSource(one, loopbackAddress(2, 0), endpoint(1, 0)), 'unlisted', 'its address is forgotten');

    const up = nextEvent(one, 'linkUp', (c) => c.nodeId === 2 && c.link === 0);
    one.addPeer(2, [endpoint(2, 0), endpoint(2, 1)]); // link 1 is not a local link of node 1: ignored
    await up;
    assert.deepEqual(
      one.snapshot().peerLinks.map((row) => [row.nodeId, row.link]),
      [[2, 0]],
    );
    const delivered = nextEvent(two, 'deliver', (_from, payload) => Buffer.from(payload).toString() === 'welcome back');
    one.send(2, Buffer.from('welcome back'));
    await delivered;
    assert.throws(() => one.addPeer(2, [endpoint(2, 0)]), /cannot add node 2: it is already a peer/);
    assert.equal(one.snapshot().coreExceptions, 0);
  });
});
