// The join protocol of `corolink add`: token text, fingerprints, and the TCP exchange between a joiner and a member,
// on 127.0.0.1 with ephemeral ports. Raw sockets play broken or hostile joiners.
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import {
  createJoinToken,
  fingerprintOf,
  formatJoinToken,
  type JoinAnswer,
  JoinError,
  type JoinErrorCode,
  type JoinRequest,
  JoinServer,
  type JoinToken,
  parseJoinToken,
  requestJoin,
  type StoredJoinToken,
  storedTokenOf,
  verifierOf,
} from '../../src/daemon/join-protocol.ts';

const HOST = '127.0.0.1';
const NOW = Date.parse('2026-11-25T09:00:00.000Z');
const EXPIRES = Date.parse('2026-11-25T10:00:00.000Z');
const AUTHKEY = randomBytes(256);
const CONFIG_TEXT = 'totem {\n  cluster_name: lab\n}\n';
const REQUEST: JoinRequest = { name: 'n4', addresses: { 0: '198.18.10.4', 1: 'fd00::4' }, votes: 2 };
/** Bounds every exchange of these tests, so a failure shows quickly instead of after the 30 s default. */
const TEST_TIMEOUT_MS = 5000;

const newToken = (expires = EXPIRES) =>
  createJoinToken({ cluster: 'lab', fingerprint: fingerprintOf(AUTHKEY), port: 5405, expires });

const accepted = (): JoinAnswer => ({ ok: true, nodeId: 4, configText: CONFIG_TEXT, authkey: AUTHKEY });

interface Refusal {
  code: JoinErrorCode;
  message: string;
  remote: string;
}

interface Member {
  server: JoinServer;
  /** A token of the store, with the member's port. */
  token: JoinToken;
  handled: { request: JoinRequest; tokenId: string }[];
  refusals: Refusal[];
}

/** A member whose store holds one token (expiring at `expires`); closed when the test ends. */
async function startMember(
  t: TestContext,
  options: { handle?: () => Promise<JoinAnswer>; expires?: number; timeoutMs?: number } = {},
): Promise<Member> {
  const stored = new Map<string, StoredJoinToken>();
  const token = newToken(options.expires);
  stored.set(token.id, storedTokenOf(token, 1, NOW));
  const handled: Member['handled'] = [];
  const refusals: Refusal[] = [];
  const server = await JoinServer.listen({
    host: HOST,
    port: 0,
    lookup: (id) => stored.get(id),
    now: () => NOW,
    handle: (request, tokenId) => {
      handled.push({ request, tokenId });
      return options.handle ? options.handle() : Promise.resolve(accepted());
    },
    onRefused: (code, message, remote) => refusals.push({ code, message, remote }),
    timeoutMs: options.timeoutMs ?? TEST_TIMEOUT_MS,
  });
  t.after(() => server.close());
  return { server, token: { ...token, port: server.port }, handled, refusals };
}

const join = (token: JoinToken, request = REQUEST, timeoutMs = TEST_TIMEOUT_MS) =>
  requestJoin({ host: HOST, token, request, timeoutMs });

/** Asserts that `promise` rejects with a JoinError of `code` whose message matches `message`. */
async function rejectsWith(promise: Promise<unknown>, code: JoinErrorCode, message: RegExp | string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof JoinError, `not a JoinError: ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (typeof message === 'string') assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}

/** Connects, writes `bytes` (without closing our side) and collects everything until the member closes. */
async function rawExchange(port: number, bytes: Uint8Array): Promise<Buffer> {
  const socket = connect(port, HOST, () => socket.write(bytes));
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  await once(socket, 'close');
  return Buffer.concat(chunks);
}

/** The member's plain ERROR frame: u32 length, type 0x04, JSON {code, message}. */
function plainError(bytes: Buffer): { code: string; message: string } {
  assert.equal(bytes.readUInt32BE(0), bytes.length - 4, 'one whole frame');
  assert.equal(bytes[4], 0x04, 'an ERROR frame');
  return JSON.parse(bytes.subarray(5).toString('utf8'));
}

function frame(type: number, ...parts: Uint8Array[]): Buffer {
  const body = Buffer.concat([Buffer.of(type), ...parts]);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length);
  return Buffer.concat([header, body]);
}

/** A well-formed HELLO for `token`: version 1, token id, a fresh X25519 public key. */
function hello(token: JoinToken): Buffer {
  const jwk = generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' });
  return frame(0x01, Buffer.of(2), Buffer.from(token.id, 'hex'), Buffer.from(jwk.x!, 'base64url'));
}

/** A local port nobody listens on (an ephemeral port just released). */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, HOST);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('join tokens', () => {
  test('format and parse round trip, whitespace around ignored', () => {
    const token = newToken();
    assert.match(token.id, /^[0-9a-f]{16}$/);
    assert.equal(token.secret.length, 32);
    assert.notEqual(newToken().id, token.id);
    const text = formatJoinToken(token);
    assert.match(text, /^corolink-join-1\.[A-Za-z0-9_-]+$/);
    assert.deepEqual(parseJoinToken(`  ${text}\n`), token);
  });

  test('the store keeps the id, a verifier (not the secret), the fingerprint, the expiry and who made it when', () => {
    const token = newToken();
    const stored = storedTokenOf(token, 2, NOW);
    const text = JSON.stringify(stored);
    for (const encoding of ['hex', 'base64', 'base64url'] as const) {
      assert.ok(!text.includes(Buffer.from(token.secret).toString(encoding)), `no secret in ${encoding}`);
    }
    assert.deepEqual(JSON.parse(text), {
      id: token.id,
      verifierHex: verifierOf(token.secret).toString('hex'),
      fingerprint: token.fingerprint,
      expires: EXPIRES,
      createdBy: 2,
      created: NOW,
    });
  });

  test('every malformed token is a bad_token error saying what is wrong', () => {
    const token = newToken();
    const valid = {
      id: token.id,
      secret: Buffer.from(token.secret).toString('base64url'),
      cluster: token.cluster,
      fingerprint: token.fingerprint,
      port: token.port,
      expires: token.expires,
    };
    const encode = (payload: string) => `corolink-join-1.${Buffer.from(payload).toString('base64url')}`;
    const withFields = (fields: Record<string, unknown>) => encode(JSON.stringify({ ...valid, ...fields }));
    const cases: [string, RegExp][] = [
      ['', /must start with "corolink-join-1\."/],
      ['corolink-join-2.e30', /must start with "corolink-join-1\."/],
      [formatJoinToken(token).slice(1), /must start with/],
      ['corolink-join-1.abc!def', /not base64url/],
      ['corolink-join-1.a', /not base64url/],
      [encode('not json'), /payload is not a JSON object/],
      [encode('[1,2]'), /payload is not a JSON object/],
      [withFields({ id: 'a1b2c3d4e5f6a7b' }), /field "id" must be 16 lower-case hex digits/],
      [withFields({ id: 'A1B2C3D4E5F6A7B8' }), /field "id"/],
      [withFields({ id: 12 }), /field "id"/],
      [withFields({ secret: randomBytes(31).toString('base64url') }), /field "secret" must be 32 bytes in base64url/],
      [withFields({ secret: `${valid.secret}!` }), /field "secret"/],
      [withFields({ secret: 42 }), /field "secret"/],
      [withFields({ cluster: '' }), /field "cluster" must be a non-empty string/],
      [withFields({ cluster: 7 }), /field "cluster"/],
      [withFields({ fingerprint: 'MD5:00' }), /field "fingerprint"/],
      [withFields({ fingerprint: valid.fingerprint.toLowerCase() }), /field "fingerprint"/],
      [withFields({ port: '5405' }), /field "port" must be an integer 1\.\.65535/],
      [withFields({ port: 70_000 }), /field "port"/],
      [withFields({ port: 5405.5 }), /field "port"/],
      [withFields({ expires: '2026-11-25' }), /field "expires"/],
      [withFields({ expires: undefined }), /field "expires"/],
    ];
    for (const [text, message] of cases) {
      assert.throws(
        () => parseJoinToken(text),
        (error: unknown) => error instanceof JoinError && error.code === 'bad_token' && message.test(error.message),
        `${text} → ${message}`,
      );
    }
  });

  test('fingerprint: SHA256: and the first 16 bytes of sha256 in upper-case colon-separated hex', () => {
    assert.equal(fingerprintOf(new Uint8Array(0)), 'SHA256:E3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24');
    assert.match(fingerprintOf(AUTHKEY), /^SHA256:([0-9A-F]{2}:){15}[0-9A-F]{2}$/);
    assert.notEqual(fingerprintOf(randomBytes(256)), fingerprintOf(AUTHKEY));
  });
});

describe('join exchange', () => {
  test('a joiner with the token gets the config and the authkey; handle gets its request', async (t) => {
    const member = await startMember(t);
    const answer = await join(member.token);
    assert.equal(answer.ok, true);
    assert.equal(answer.nodeId, 4);
    assert.equal(answer.configText, CONFIG_TEXT);
    assert.ok(Buffer.from(answer.authkey).equals(AUTHKEY));
    assert.deepEqual(member.handled, [{ request: REQUEST, tokenId: member.token.id }]);
    assert.deepEqual(member.refusals, []);
  });

  test('a token the store does not know is refused in the clear, before any key exchange', async (t) => {
    const member = await startMember(t);
    const unknown = { ...newToken(), port: member.server.port };
    await rejectsWith(join(unknown), 'unknown_token', `unknown or already used join token ${unknown.id}`);
    assert.deepEqual(
      member.refusals.map((r) => r.code),
      ['unknown_token'],
    );
    assert.match(member.refusals[0]!.remote, /^127\.0\.0\.1:\d+$/);
    assert.deepEqual(member.handled, []);
  });

  test('an expired token is refused with its expiry time', async (t) => {
    const member = await startMember(t, { expires: NOW - 1 });
    await rejectsWith(join(member.token), 'expired', `join token expired at ${new Date(NOW - 1).toISOString()}`);
    assert.deepEqual(
      member.refusals.map((r) => r.code),
      ['expired'],
    );
    assert.deepEqual(member.handled, []);
  });

  test('the right id with a wrong secret fails authentication on both sides; handle is never called', async (t) => {
    const member = await startMember(t);
    const forged = { ...member.token, secret: randomBytes(32) };
    await rejectsWith(join(forged), 'auth_failed', 'wrong join token: authentication failed');
    assert.deepEqual(
      member.refusals.map((r) => [r.code, r.message]),
      [['auth_failed', 'wrong join token: authentication failed']],
    );
    assert.deepEqual(member.handled, []);
  });

  test('what the store keeps (the verifier) used as the secret fails authentication; handle is never called', async (t) => {
    const member = await startMember(t);
    const fromStore = { ...member.token, secret: verifierOf(member.token.secret) };
    await rejectsWith(join(fromStore), 'auth_failed', 'wrong join token: authentication failed');
    assert.deepEqual(
      member.refusals.map((r) => r.code),
      ['auth_failed'],
    );
    assert.deepEqual(member.handled, []);
  });

  test("an authkey that does not match the token's fingerprint is refused by the joiner", async (t) => {
    const member = await startMember(t);
    const other = { ...member.token, fingerprint: fingerprintOf(randomBytes(256)) };
    await rejectsWith(
      join(other),
      'fingerprint_mismatch',
      `the cluster's authkey does not match the token's fingerprint ${other.fingerprint}: refusing to join`,
    );
  });

  test("handle's refusal reaches the joiner with its code and message (not counted as a protocol refusal)", async (t) => {
    const message = 'a node named n4 is already in the nodelist';
    const member = await startMember(t, { handle: async () => ({ ok: false, code: 'refused', message }) });
    await rejectsWith(join(member.token), 'refused', message);
    assert.equal(member.handled.length, 1);
    assert.deepEqual(member.refusals, []);
  });

  test('a handle that throws answers refused and is reported', async (t) => {
    const member = await startMember(t, {
      handle: async () => {
        throw new Error('the store is read-only');
      },
    });
    await rejectsWith(join(member.token), 'refused', 'the member could not add the node: the store is read-only');
    assert.deepEqual(
      member.refusals.map((r) => r.code),
      ['refused'],
    );
  });

  test('an invalid request is answered protocol after authentication and never reaches handle', async (t) => {
    const member = await startMember(t);
    const cases: [unknown, RegExp][] = [
      [{ ...REQUEST, name: 'n 4' }, /node name "n 4" must be 1-64 characters/],
      [{ ...REQUEST, name: 'n'.repeat(65) }, /node name/],
      [{ name: 'n4', addresses: { 1: '198.18.10.4' } }, /a link 0 address is required/],
      [{ name: 'n4', addresses: { 0: '198.18.10.4', 8: '198.18.11.4' } }, /link "8" is not a link number 0\.\.7/],
      [{ name: 'n4', addresses: { 0: '198.18.10.300' } }, /link 0 address "198\.18\.10\.300" is not an IPv4 or IPv6/],
      [{ name: 'n4', addresses: { 0: 'n4.example.com' } }, /is not an IPv4 or IPv6/],
      [{ name: 'n4', addresses: ['198.18.10.4'] }, /addresses must be an object/],
      [{ ...REQUEST, votes: 0 }, /votes "0" must be an integer 1\.\.255/],
      [{ ...REQUEST, votes: 1.5 }, /votes/],
      [{ ...REQUEST, quorum: true }, /unknown field "quorum"/],
    ];
    for (const [request, message] of cases) {
      await rejectsWith(join(member.token, request as JoinRequest), 'protocol', message);
    }
    assert.deepEqual(member.handled, []);
    assert.equal(member.refusals.length, cases.length);
  });

  test('garbage and oversize frames are refused and reported; the member serves the next joiner', async (t) => {
    const member = await startMember(t);
    const oversize = Buffer.alloc(4);
    oversize.writeUInt32BE(0xffff_ffff);
    const hostile: [Buffer, RegExp][] = [
      [Buffer.from('\x00\x00\x00\x05hello'), /sent an unexpected frame \(type 104\)/],
      [Buffer.from('GET / HTTP/1.1\r\nHost: n1\r\n\r\n'), /sent a frame of 1195725856 bytes, over the 262144-byte/],
      [oversize, /sent a frame of 4294967295 bytes/],
      [frame(0x01, Buffer.of(9)), /join protocol version 9 is not supported \(this member speaks version 2\)/],
      [frame(0x01, Buffer.of(2), randomBytes(10)), /sent a malformed hello/],
    ];
    for (const [bytes, message] of hostile) {
      const answer = plainError(await rawExchange(member.server.port, bytes));
      assert.equal(answer.code, 'protocol');
      assert.match(answer.message, message);
    }
    assert.deepEqual(
      member.refusals.map((r) => r.code),
      hostile.map(() => 'protocol'),
    );
    const answer = await join(member.token);
    assert.equal(answer.nodeId, 4);
  });

  test('a joiner that sends nothing is cut off after timeoutMs with a timeout error', async (t) => {
    const member = await startMember(t, { timeoutMs: 100 });
    const answer = plainError(await rawExchange(member.server.port, new Uint8Array(0)));
    assert.equal(answer.code, 'timeout');
    assert.match(answer.message, /^no join request from 127\.0\.0\.1:\d+ within 100 ms$/);
    assert.deepEqual(
      member.refusals.map((r) => r.code),
      ['timeout'],
    );
  });

  test('the joiner gives up with timeout when the member never answers', async (t) => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket)).listen(0, HOST);
    await once(silent, 'listening');
    t.after(() => {
      for (const socket of sockets) socket.destroy();
      silent.close();
    });
    const { port } = silent.address() as AddressInfo;
    const started = performance.now();
    await rejectsWith(
      join({ ...newToken(), port }, REQUEST, 150),
      'timeout',
      `no answer from ${HOST}:${port} within 150 ms`,
    );
    assert.ok(performance.now() - started < 2000);
  });

  test('a port nobody listens on is unreachable', async () => {
    const port = await closedPort();
    await rejectsWith(
      join({ ...newToken(), port }),
      'unreachable',
      `cannot reach ${HOST}:${port}: connect ECONNREFUSED`,
    );
  });

  test('close() cuts the connections in the middle of an exchange, without reporting them', async (t) => {
    const member = await startMember(t);
    const socket = connect(member.server.port, HOST, () => socket.write(hello(member.token)));
    const [accept] = (await once(socket, 'data')) as [Buffer];
    assert.equal(accept[4], 0x02, 'the member accepted the hello and waits for the request');
    const closed = once(socket, 'close');
    await member.server.close();
    await closed;
    assert.deepEqual(member.refusals, []);
  });
});
