// A 1 MiB CPG message goes client → daemon → client over the binary framing without base64: a proxy between
// the client library and a real daemon records every byte on the socket, and the recording is read frame by
// frame. With base64 the payload would not appear verbatim and the traffic would be 4/3 of it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CorolinkClient } from '../../src/client/client.ts';
import type { CpgMessage } from '../../src/client/cpg-group.ts';
import { binary, createGroupNameCache, decodeFrame } from '../../src/ipc/binary.ts';
import type { Message } from '../../src/ipc/framing.ts';
import { BINARY_HELLO } from '../../src/ipc/negotiate.ts';
import { LocalCluster } from '../../src/lab/local-cluster.ts';

const MESSAGE_BYTES = 1024 * 1024;
const DELIVERY_TIMEOUT_MS = 20_000;

/** A Unix-socket proxy that records the bytes of each direction. */
async function recordingProxy(path: string, target: string) {
  const toDaemon: Buffer[] = [];
  const toClient: Buffer[] = [];
  const server: Server = createServer((client) => {
    const daemon = createConnection(target);
    client.on('data', (chunk: Buffer) => {
      toDaemon.push(chunk);
      daemon.write(chunk);
    });
    daemon.on('data', (chunk: Buffer) => {
      toClient.push(chunk);
      client.write(chunk);
    });
    client.on('close', () => daemon.destroy());
    daemon.on('close', () => client.destroy());
    client.on('error', () => daemon.destroy());
    daemon.on('error', () => client.destroy());
  });
  server.listen(path);
  await once(server, 'listening');
  return { server, toDaemon: () => Buffer.concat(toDaemon), toClient: () => Buffer.concat(toClient) };
}

/** The messages of one direction of a binary-framing connection (after its hello). */
function framesOf(bytes: Buffer): Message[] {
  assert.ok(bytes.subarray(0, BINARY_HELLO.length).equals(BINARY_HELLO), 'the connection starts with the hello');
  return binary
    .decoder(4 * MESSAGE_BYTES)
    .push(bytes.subarray(BINARY_HELLO.length))
    .map((decoded) => {
      assert.ok('message' in decoded, 'every frame is well formed');
      return decoded.message;
    });
}

/** Each frame of one direction (after the hello): its flags byte and what it says. */
function rawFramesOf(bytes: Buffer): { flags: number; message: Message }[] {
  const frames: { flags: number; message: Message }[] = [];
  const groupNames = createGroupNameCache();
  for (let at = BINARY_HELLO.length; at < bytes.length; ) {
    const length = bytes.readUInt32BE(at);
    const frame = bytes.subarray(at + 4, at + 4 + length);
    const decoded = decodeFrame(frame, groupNames);
    assert.ok('message' in decoded, 'every frame is well formed');
    frames.push({ flags: frame[0]!, message: decoded.message });
    at += 4 + length;
  }
  return frames;
}

describe('the client library over the binary framing', () => {
  let cluster: LocalCluster;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let client: CorolinkClient;

  before(async () => {
    cluster = await LocalCluster.start({ nodes: 1, links: 1, firstHost: 191, basePort: 45605 });
    await cluster.waitForQuorateMembership(1);
    proxy = await recordingProxy(join(cluster.dir, 'proxy.sock'), cluster.node(1).socket);
    client = await CorolinkClient.connect({ socket: join(cluster.dir, 'proxy.sock'), reconnect: false });
  });

  after(async () => {
    client?.close();
    proxy?.server.close();
    await cluster?.stop();
  });

  it('sends and receives a 1 MiB CPG message raw, never as base64', async () => {
    const group = await client.cpgJoin('bulk');
    const payload = randomBytes(MESSAGE_BYTES);
    const delivered = new Promise<CpgMessage>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no delivery in time')), DELIVERY_TIMEOUT_MS);
      group.on('message', (message) => {
        clearTimeout(timer);
        resolve(message);
      });
    });
    await group.send(payload);
    const message = await delivered;
    assert.ok(Buffer.from(message.data).equals(payload), 'the application receives the bytes it sent');

    const base64Start = payload.subarray(0, 3 * 1024).toString('base64');
    for (const [direction, bytes, kind] of [
      ['client → daemon', proxy.toDaemon(), 'cpgMcast'],
      ['daemon → client', proxy.toClient(), 'cpgDeliver'],
    ] as const) {
      assert.ok(bytes.indexOf(payload) >= 0, `${direction}: the payload is on the socket verbatim`);
      assert.equal(bytes.indexOf(base64Start), -1, `${direction}: no base64 of the payload`);
      assert.ok(
        bytes.length < MESSAGE_BYTES + 64 * 1024,
        `${direction}: ${bytes.length} bytes, not 4/3 of the payload`,
      );
      const carrying = framesOf(bytes).filter((m) => m.method === kind || m.event === kind);
      assert.equal(carrying.length, 1, `${direction}: one ${kind} frame`);
      const body = (carrying[0]!.params ?? carrying[0]!.data) as { data: Uint8Array };
      assert.ok(body.data instanceof Uint8Array && Buffer.from(body.data).equals(payload));
    }
  });

  it('multicasts, their answers and deliveries go as compact frames (no JSON), the rest as JSON frames', async () => {
    const group = await client.cpgJoin('compact');
    const daemonBytesBefore = proxy.toDaemon().length;
    const clientBytesBefore = proxy.toClient().length;
    const count = 20;
    let received = 0;
    const all = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${received} of ${count} delivered in time`)),
        DELIVERY_TIMEOUT_MS,
      );
      group.on('message', () => {
        if (++received < count) return;
        clearTimeout(timer);
        resolve();
      });
    });
    await Promise.all(Array.from({ length: count }, (_, i) => group.send(`message ${i}`)));
    await all;
    const hot = (m: Message) =>
      m.method === 'cpgMcast' || m.event === 'cpgDeliver' || JSON.stringify(m.result) === '{"ok":true}';
    const sent = rawFramesOf(proxy.toDaemon()).filter(
      (f) => f.message.params && (f.message.params as { group?: string }).group === 'compact',
    );
    const got = rawFramesOf(proxy.toClient());
    const mcasts = sent.filter((f) => f.message.method === 'cpgMcast');
    const deliveries = got.filter(
      (f) => f.message.event === 'cpgDeliver' && (f.message.data as { group: string }).group === 'compact',
    );
    assert.equal(mcasts.length, count);
    assert.equal(deliveries.length, count);
    for (const frame of [...mcasts, ...deliveries])
      assert.equal(frame.flags, 0x02, `${JSON.stringify(frame.message).slice(0, 60)} compact`);
    for (const frame of got.filter((f) => !hot(f.message)))
      assert.notEqual(frame.flags, 0x02, 'other messages in JSON frames');
    assert.ok(
      got.some((f) => hot(f.message) && f.message.id !== undefined && f.flags === 0x02),
      'the answers are compact',
    );
    assert.ok(proxy.toDaemon().length > daemonBytesBefore && proxy.toClient().length > clientBytesBefore);
  });
});
