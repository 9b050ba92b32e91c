// The daemon's admin socket server (src/daemon/admin-socket.ts) with stub handlers: both framings serve
// requests; params are checked by their schema before a handler runs; a malformed frame of either framing
// gets an error and is counted, and the server keeps serving.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AdminSocketServer, type Handlers } from '../../src/daemon/admin-socket.ts';
import { ADMIN_REQUESTS_PER_SLICE_MAX } from '../../src/daemon/limits.ts';
import { binary } from '../../src/ipc/binary.ts';
import { type Decoded, type FrameCodec, type Message, REQUEST_FRAME_BYTES_MAX } from '../../src/ipc/framing.ts';
import { jsonLines } from '../../src/ipc/json-lines.ts';
import { bytesOf, METHOD_PARAMS } from '../../src/ipc/methods.ts';
import { BINARY_HELLO } from '../../src/ipc/negotiate.ts';

const WAIT_MS = 5000;

/** A raw client connection that reads what the server sends in one framing. */
class RawClient {
  private readonly decoded: Decoded[] = [];
  private waiter: (() => void) | undefined;
  closed = false;

  private constructor(
    readonly socket: Socket,
    private readonly codec: FrameCodec,
  ) {
    const decoder = codec.decoder(64 * 1024 * 1024);
    socket.on('data', (chunk: Buffer) => {
      this.decoded.push(...decoder.push(chunk));
      this.waiter?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
  }

  static async open(path: string, codec: FrameCodec): Promise<RawClient> {
    const socket = createConnection(path);
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    if (codec === binary) {
      socket.write(BINARY_HELLO);
      const hello = await new Promise<Buffer>((resolve) => socket.once('data', resolve));
      assert.ok(hello.equals(BINARY_HELLO), 'the daemon sends the hello back');
    }
    return new RawClient(socket, codec);
  }

  send(message: Message): void {
    for (const piece of this.codec.encode([message])) this.socket.write(piece);
  }

  /** The next message from the server (bounded wait). */
  async next(): Promise<Message> {
    const deadline = Date.now() + WAIT_MS;
    while (this.decoded.length === 0) {
      if (this.closed) throw new Error('connection closed');
      if (Date.now() > deadline) throw new Error('no message within the wait');
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 50);
      });
    }
    const item = this.decoded.shift()!;
    assert.ok('message' in item, 'the server sends well-formed frames');
    return item.message;
  }

  async closedByServer(): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    while (!this.closed) {
      assert.ok(Date.now() < deadline, 'the server closes the connection');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

describe('admin socket server', () => {
  let dir: string;
  let server: AdminSocketServer;
  let path: string;
  const calls: string[] = [];
  /** `quorum` requests handled, with `turn` where a callback queued at the first one ran. */
  const quorumCalls: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'corolink-ipc-'));
    path = join(dir, 'admin.sock');
    const stub = Object.fromEntries(
      Object.keys(METHOD_PARAMS).map((m) => [m, () => ({ ok: true })]),
    ) as unknown as Handlers;
    server = new AdminSocketServer(path, {
      ...stub,
      setLinkEnabled: ({ link, enabled }) => {
        calls.push(`setLinkEnabled ${link} ${enabled}`);
        return { link, enabled };
      },
      quorum: () => {
        if (quorumCalls.push('quorum') === 1) setImmediate(() => quorumCalls.push('turn'));
        return { ok: true };
      },
      cfsPut: ({ path: file, data }) => ({ path: file, size: bytesOf(data).length }),
      cfsGet: ({ path: file }) => ({ path: file, data: Buffer.from('contents'), version: 1, mtime: 0 }),
    });
    await server.listen();
  });

  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pipelined requests are handled in slices: the loop runs other work between them; all are answered in order', async () => {
    const client = await RawClient.open(path, jsonLines);
    const count = 3 * ADMIN_REQUESTS_PER_SLICE_MAX;
    client.socket.write(Array.from({ length: count }, (_, i) => `{"id":${i + 1},"method":"quorum"}\n`).join(''));
    for (let id = 1; id <= count; id++) assert.deepEqual(await client.next(), { id, result: { ok: true } });
    assert.equal(quorumCalls.filter((c) => c === 'quorum').length, count);
    const turn = quorumCalls.indexOf('turn');
    assert.ok(turn > 0 && turn <= ADMIN_REQUESTS_PER_SLICE_MAX, `the loop turned after request ${turn} of ${count}`);
    client.socket.destroy();
  });

  for (const codec of [jsonLines, binary]) {
    it(`${codec.name}: serves requests; a binary field arrives as bytes either way`, async () => {
      const client = await RawClient.open(path, codec);
      client.send({ id: 1, method: 'status', params: {} });
      assert.deepEqual(await client.next(), { id: 1, result: { ok: true } });
      client.send({ id: 2, method: 'cfsPut', params: { path: 'a', data: Buffer.from('12345') } });
      assert.deepEqual(await client.next(), { id: 2, result: { path: 'a', size: 5 } });
      client.send({ id: 3, method: 'cfsGet', params: { path: 'a' } });
      const got = (await client.next()).result as { data: Uint8Array | string };
      assert.equal(Buffer.from(bytesOf(got.data)).toString(), 'contents');
      assert.equal(typeof got.data === 'string', codec === jsonLines, 'base64 only in JSON lines');
      client.socket.destroy();
    });

    it(`${codec.name}: params are checked before the handler runs; a bad one is bad_request naming the field`, async () => {
      const client = await RawClient.open(path, codec);
      const before = server.counters.badRequests;
      calls.length = 0;
      client.send({ id: 1, method: 'setLinkEnabled', params: { link: 8, enabled: true } });
      assert.deepEqual(await client.next(), { id: 1, error: { code: 'bad_request', message: 'link must be <= 7' } });
      client.send({ id: 2, method: 'setLinkEnabled', params: { link: 1 } });
      assert.deepEqual(await client.next(), { id: 2, error: { code: 'bad_request', message: 'enabled is required' } });
      client.send({ id: 3, method: 'cpgMcast', params: { group: 'g', data: 5 } });
      assert.match(((await client.next()).error as { message: string }).message, /^data must be bytes/);
      assert.deepEqual(calls, [], 'no handler ran');
      assert.equal(server.counters.badRequests, before + 3);
      client.send({ id: 4, method: 'setLinkEnabled', params: { link: 1, enabled: false } });
      assert.deepEqual(await client.next(), { id: 4, result: { link: 1, enabled: false } });
      assert.deepEqual(calls, ['setLinkEnabled 1 false']);
      client.socket.destroy();
    });
  }

  it('json-lines: a line that is not JSON gets an error, is counted, and the connection goes on', async () => {
    const client = await RawClient.open(path, jsonLines);
    const before = server.counters.badRequests;
    client.socket.write('this is not json\n');
    const reply = await client.next();
    assert.equal(reply.id, null);
    assert.match((reply.error as { message: string }).message, /not JSON/);
    assert.equal(server.counters.badRequests, before + 1);
    client.send({ id: 7, method: 'status', params: {} });
    assert.deepEqual(await client.next(), { id: 7, result: { ok: true } });
    client.socket.destroy();
  });

  it('binary: a malformed frame gets an error, is counted, and the connection goes on', async () => {
    const client = await RawClient.open(path, binary);
    const before = server.counters.badRequests;
    const body = Buffer.from([0, 0, 0, 0, 3, ...Buffer.from('nop')]);
    client.socket.write(Buffer.concat([Buffer.from([0, 0, 0, body.length]), body]));
    const reply = await client.next();
    assert.equal(reply.id, null);
    assert.match((reply.error as { message: string }).message, /frame header that is not JSON/);
    assert.equal(server.counters.badRequests, before + 1);
    client.send({ id: 8, method: 'status', params: {} });
    assert.deepEqual(await client.next(), { id: 8, result: { ok: true } });
    client.socket.destroy();
  });

  for (const codec of [jsonLines, binary]) {
    it(`${codec.name}: a frame over the limit gets an error and the connection is closed; others go on`, async () => {
      const bystander = await RawClient.open(path, codec);
      const client = await RawClient.open(path, codec);
      const before = server.counters.badRequests;
      if (codec === binary) {
        const head = Buffer.alloc(4);
        head.writeUInt32BE(REQUEST_FRAME_BYTES_MAX + 1);
        client.socket.write(head);
      } else client.socket.write('x'.repeat(REQUEST_FRAME_BYTES_MAX + 1));
      const reply = await client.next();
      assert.equal((reply.error as { code: string }).code, 'bad_request');
      assert.match((reply.error as { message: string }).message, /over/);
      await client.closedByServer();
      assert.equal(server.counters.badRequests, before + 1);
      bystander.send({ id: 1, method: 'status', params: {} });
      assert.deepEqual(await bystander.next(), { id: 1, result: { ok: true } });
      bystander.socket.destroy();
    });
  }

  it('an unknown hello gets an error line, is counted, and the connection is closed', async () => {
    const socket = createConnection(path);
    await new Promise((resolve) => socket.once('connect', resolve));
    const before = server.counters.badRequests;
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.write(Buffer.from([0, 0x43, 0x4c, 0x42, 0x09]));
    await new Promise((resolve) => socket.once('close', resolve));
    const reply = JSON.parse(Buffer.concat(received).toString()) as { error: { code: string; message: string } };
    assert.equal(reply.error.code, 'bad_request');
    assert.match(reply.error.message, /unknown hello/);
    assert.equal(server.counters.badRequests, before + 1);
  });
});
