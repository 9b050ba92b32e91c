// The link sockets' two engines (docs/transport.md "The link sockets"): the native addon's batched reads and
// node:dgram. Both must read every datagram with its source address and port, send, refuse a taken port with
// node:dgram's error shape, and report send errors by code. The addon must load on this machine kind (as
// test/crypto/aead.test.ts asks of its AES-GCM): a missing build fails here instead of silently testing less.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { afterEach, describe, test } from 'node:test';
import { DATAGRAM_BYTES_MAX } from '../../src/crypto/packet-format.ts';
import {
  type DatagramEngine,
  type DatagramSocket,
  NODE_DGRAM_ENGINE,
  nativeDatagramEngine,
  RECV_BATCH_DATAGRAMS,
} from '../../src/transport/datagram-socket.ts';
import type { ResolvedEndpoint } from '../../src/transport/udp-endpoints.ts';
import { waitUntil } from '../wait-until.ts';
import { freePorts } from './peer-process.ts';

const BUFFER_BYTES = 4 * 1024 * 1024;
const ARRIVAL_TIMEOUT_MS = 10_000;

interface Received {
  bytes: Buffer;
  address: string;
  port: number;
}

const native = nativeDatagramEngine();
const engines: [string, DatagramEngine][] = [
  ['native addon', native instanceof Error ? failingEngine(native) : native],
  ['node:dgram', NODE_DGRAM_ENGINE],
];

/** An engine whose open rejects with why the addon is unavailable (each native test then fails saying so). */
function failingEngine(why: Error): DatagramEngine {
  return { name: 'unavailable', open: () => Promise.reject(why) };
}

/** A free UDP port on `address` (::1 included). */
async function freePort(address: string): Promise<number> {
  if (!address.includes(':')) return (await freePorts([address]))[0]!;
  const socket = createSocket('udp6');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, address, () => resolve());
  });
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

for (const [label, engine] of engines) {
  describe(`link sockets: ${label}`, () => {
    const open: DatagramSocket[] = [];
    afterEach(async () => {
      await Promise.all(open.splice(0).map((socket) => socket.close()));
    });

    /** Binds a socket on a free port of `address`; what it reads (copied) lands in `received`. */
    async function bound(
      address: string,
    ): Promise<{ socket: DatagramSocket; at: ResolvedEndpoint; received: Received[] }> {
      const at: ResolvedEndpoint = {
        address,
        port: await freePort(address),
        family: address.includes(':') ? 'udp6' : 'udp4',
      };
      const received: Received[] = [];
      const socket = await engine.open(at, BUFFER_BYTES, {
        datagram: (bytes, from, port) => received.push({ bytes: Buffer.from(bytes), address: from, port }),
        error: (error) => assert.fail(`socket error: ${error.message}`),
      });
      open.push(socket);
      return { socket, at, received };
    }

    for (const address of ['127.0.0.1', '::1']) {
      test(`every datagram of a burst larger than a batch arrives, in order, from its address and port (${address})`, async () => {
        const a = await bound(address);
        const b = await bound(address);
        // Sizes from 1 byte to the largest datagram: more than a few batches in one event-loop turn.
        const sizes = Array.from({ length: RECV_BATCH_DATAGRAMS * 4 + 3 }, (_, i) => 1 + ((i * 1471) % 1472));
        if (address === '127.0.0.1') sizes.push(DATAGRAM_BYTES_MAX);
        const errors: string[] = [];
        sizes.forEach((size, i) => {
          b.socket.send(a.at, Buffer.alloc(size, i & 0xff), (error) => errors.push(error.code ?? error.message));
        });
        await waitUntil(() => a.received.length >= sizes.length || errors.length > 0, ARRIVAL_TIMEOUT_MS, 'the burst');
        assert.deepEqual(errors, []);
        assert.deepEqual(
          a.received.map((r) => r.bytes.length),
          sizes,
        );
        a.received.forEach((r, i) => {
          assert.equal(r.address, address);
          assert.equal(r.port, b.at.port);
          assert.ok(
            r.bytes.every((byte) => byte === (i & 0xff)),
            `datagram ${i} has its own bytes`,
          );
        });
      });
    }

    for (const address of ['127.0.0.1', '::1']) {
      test(`one turn of sends to two peers — runs of one size, shorter and longer ones, past a GSO send’s limits — arrives in order at each (${address})`, async () => {
        const a = await bound(address);
        const c = await bound(address);
        const b = await bound(address);
        // Per peer: 70 of 1,472 B (over 64 datagrams and 65,507 B: more than one GSO send), a shorter one, equal ones
        // after it, a longer one, single bytes, and the largest datagram alone.
        const sizes = [
          ...Array.from({ length: 70 }, () => 1472),
          300,
          300,
          300,
          1400,
          1472,
          1,
          1,
          1200,
          DATAGRAM_BYTES_MAX,
          1472,
        ];
        const errors: string[] = [];
        const reused = Buffer.alloc(DATAGRAM_BYTES_MAX);
        sizes.forEach((size, i) => {
          for (const [peer, to] of [
            [0, a.at],
            [1, c.at],
          ] as const) {
            const datagram = b.socket.sendReturnsDatagram ? reused.subarray(0, size) : Buffer.alloc(size);
            datagram.fill((i * 2 + peer) & 0xff);
            b.socket.send(to, datagram, (error) => errors.push(error.code ?? error.message));
          }
        });
        const arrived = () => a.received.length >= sizes.length && c.received.length >= sizes.length;
        await waitUntil(() => arrived() || errors.length > 0, ARRIVAL_TIMEOUT_MS, 'both peers’ datagrams');
        assert.deepEqual(errors, []);
        for (const [peer, { received }] of [a, c].entries()) {
          assert.deepEqual(
            received.map((r) => r.bytes.length),
            sizes,
            `peer ${peer}: every datagram, in order, at its size`,
          );
          received.forEach((r, i) => {
            assert.equal(r.port, b.at.port);
            assert.ok(
              r.bytes.every((byte) => byte === ((i * 2 + peer) & 0xff)),
              `peer ${peer}: datagram ${i} has its own bytes`,
            );
          });
        }
      });
    }

    test('a socket that says send returns the datagram lets the sender write the next one into the same memory', async () => {
      const a = await bound('127.0.0.1');
      const b = await bound('127.0.0.1');
      assert.equal(b.socket.sendReturnsDatagram, label === 'native addon', 'the native engine copies at once');
      const reused = Buffer.alloc(1200);
      const count = RECV_BATCH_DATAGRAMS * 2;
      for (let i = 0; i < count; i++) {
        const datagram = b.socket.sendReturnsDatagram ? reused : Buffer.alloc(reused.length);
        datagram.fill(i & 0xff);
        b.socket.send(a.at, datagram, (error) => assert.fail(error.message));
      }
      await waitUntil(() => a.received.length >= count, ARRIVAL_TIMEOUT_MS, 'every datagram');
      a.received.forEach((r, i) => {
        assert.ok(
          r.bytes.every((byte) => byte === (i & 0xff)),
          `datagram ${i} intact`,
        );
      });
    });

    test('a taken port is refused with node:dgram error shape, and nothing is left open', async () => {
      const a = await bound('127.0.0.1');
      await assert.rejects(
        engine.open(a.at, BUFFER_BYTES, { datagram: () => {}, error: () => {} }),
        (error: NodeJS.ErrnoException) => {
          assert.equal(error.code, 'EADDRINUSE');
          assert.equal(error.syscall, 'bind');
          assert.match(error.message, /^bind EADDRINUSE 127\.0\.0\.1/);
          return true;
        },
      );
      await a.socket.close();
      open.splice(open.indexOf(a.socket), 1);
      // The refused open kept nothing bound: the port can be taken again.
      const again = await engine.open(a.at, BUFFER_BYTES, { datagram: () => {}, error: () => {} });
      open.push(again);
    });

    test('a datagram larger than UDP allows is an EMSGSIZE send error; the socket keeps working', async () => {
      const a = await bound('127.0.0.1');
      const b = await bound('127.0.0.1');
      const errors: string[] = [];
      b.socket.send(a.at, Buffer.alloc(DATAGRAM_BYTES_MAX + 1), (error) => errors.push(error.code ?? error.message));
      b.socket.send(a.at, Buffer.from('after'), (error) => errors.push(error.code ?? error.message));
      await waitUntil(() => errors.length > 0 && a.received.length > 0, ARRIVAL_TIMEOUT_MS, 'the error and the next');
      assert.deepEqual(errors, ['EMSGSIZE']);
      assert.equal(a.received[0]!.bytes.toString(), 'after');
    });

    test('a closed socket reads nothing more, and close is idempotent', async () => {
      const a = await bound('127.0.0.1');
      const b = await bound('127.0.0.1');
      await a.socket.close();
      await a.socket.close();
      b.socket.send(a.at, Buffer.from('to nobody'), () => {});
      // The port is free again: a new socket there gets the next datagram, the closed one nothing.
      const c = await engine.open(a.at, BUFFER_BYTES, {
        datagram: (bytes) => a.received.push({ bytes: Buffer.from(bytes), address: '', port: 0 }),
        error: () => {},
      });
      open.push(c);
      const before = a.received.length;
      b.socket.send(a.at, Buffer.from('to the new one'), () => {});
      await waitUntil(() => a.received.length > before, ARRIVAL_TIMEOUT_MS, 'the new socket’s datagram');
      assert.equal(a.received.at(-1)!.bytes.toString(), 'to the new one');
    });
  });
}
