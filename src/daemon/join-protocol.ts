/**
 * The join protocol of `corolink add`: a new host proves it holds a one-time join token and receives the cluster's
 * corosync.conf and authkey from a member, over TCP. The service (token store, one-time use, committing the node)
 * and the CLI build on this module.
 *
 * Token: `corolink-join-1.` + base64url(JSON {id, secret (base64url), cluster, fingerprint, port, expires}). The id
 * (8 random bytes, hex) names the token in the store and travels in the clear; the secret (32 random bytes) never
 * goes on the wire. The fingerprint (`fingerprintOf(authkey)`) lets the joiner check the authkey it receives.
 *
 * Frames: u32 BE body length, then the body: one type byte and its payload. A body is 1..256 KiB; a longer length
 * prefix is refused as soon as it arrives. The exchange is strictly one frame each way in turn:
 *
 *   joiner → member  HELLO   0x01 | version (1) | token id (8 bytes) | joiner's ephemeral X25519 public key (32)
 *   member → joiner  ACCEPT  0x02 | member's ephemeral X25519 public key (32)
 *                    or ERROR (unknown or expired token, bad hello, timeout)
 *   joiner → member  SEALED  0x03 | AES-256-GCM(JSON JoinRequest) | tag (16)
 *   member → joiner  SEALED  AES-256-GCM(JSON JoinAnswer, authkey in base64), then the member closes
 *                    or ERROR (the request failed authentication, bad frame, timeout)
 *   ERROR            0x04 | JSON {code, message}, in the clear and unauthenticated: sent only while no shared key
 *                    is confirmed (a forged one can only abort a join, which a man in the middle can do anyway).
 *
 * Keys: transcript = SHA-256("corolink-join/1" | token id | joiner public key | member public key);
 * ikm = X25519(ephemeral keys) | token secret; each direction's key = HKDF-SHA256(ikm, salt = transcript,
 * info = "corolink-join/1 client->server" or "… server->client", 32 bytes). Without the secret nobody (a man in the
 * middle included) derives the keys; with the secret but not an ephemeral private key, a recorded exchange stays
 * sealed (forward secrecy). Every sealed frame has the transcript as AAD and a per-direction counter (from 0) as
 * nonce, so a frame cannot be replayed, reordered or moved to another session. The member learns that the joiner
 * holds the secret when the request opens; the joiner learns the same of the member when the answer opens, and
 * then checks the authkey against the token's fingerprint.
 *
 * The member reads the hello and the request within timeoutMs of accepting (a deadline, not an idle timer); its
 * handler then runs untimed, and a joiner that does not close after the answer is cut off timeoutMs later. The
 * joiner gives the whole exchange, connecting included, timeoutMs.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { type AddressInfo, createServer, isIP, type Server, Socket } from 'node:net';
import { LINK_NUMBER_MAX } from '../base/limits.ts';

const TOKEN_PREFIX = 'corolink-join-1.';
const TOKEN_ID_BYTES = 8;
const SECRET_BYTES = 32;
const FINGERPRINT_BYTES = 16;
const PROTOCOL_VERSION = 1;
const PROTOCOL_LABEL = 'corolink-join/1';
const PUBLIC_KEY_BYTES = 32;
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 4;
/** Largest frame body either side accepts: a corosync.conf for hundreds of nodes fits many times over. */
const FRAME_BYTES_MAX = 256 * 1024;
const DEFAULT_TIMEOUT_MS = 30_000;

const FRAME_HELLO = 0x01;
const FRAME_ACCEPT = 0x02;
const FRAME_SEALED = 0x03;
const FRAME_ERROR = 0x04;

const AUTH_FAILED_MESSAGE = 'wrong join token: authentication failed';
const NODE_NAME = /^[A-Za-z0-9._-]{1,64}$/;
/** A link number: one digit 0 to LINK_NUMBER_MAX. */
const LINK_NUMBER = new RegExp(`^[0-${LINK_NUMBER_MAX}]$`);
const REQUEST_FIELDS = new Set(['name', 'addresses', 'votes']);

const JOIN_ERROR_CODES = [
  'bad_token',
  'unknown_token',
  'expired',
  'auth_failed',
  'refused',
  'protocol',
  'unreachable',
  'timeout',
  'fingerprint_mismatch',
] as const;
export type JoinErrorCode = (typeof JOIN_ERROR_CODES)[number];

export class JoinError extends Error {
  constructor(
    readonly code: JoinErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'JoinError';
  }
}

// ---- Tokens ----

/** A join token as the admin copies it: `corolink-join-1.<base64url payload>`. */
export interface JoinToken {
  /** 16 hex chars (8 random bytes): names the token in the cluster's store. */
  id: string;
  /** 32 random bytes. */
  secret: Uint8Array;
  /** cluster_name. */
  cluster: string;
  /** fingerprintOf(authkey): the joiner checks the authkey it receives against it. */
  fingerprint: string;
  /** TCP port of the member's join service. */
  port: number;
  /** ms since the epoch. */
  expires: number;
}

/** What the store keeps of a token (the member side). JSON-serialisable. */
export interface StoredJoinToken {
  id: string;
  secretHex: string;
  /** The authkey fingerprint the token promised: the member checks its authkey still matches before it commits. */
  fingerprint: string;
  expires: number;
  createdBy: number;
  created: number;
}

export function createJoinToken(fields: {
  cluster: string;
  fingerprint: string;
  port: number;
  expires: number;
}): JoinToken {
  return { id: randomBytes(TOKEN_ID_BYTES).toString('hex'), secret: randomBytes(SECRET_BYTES), ...fields };
}

export function formatJoinToken(token: JoinToken): string {
  const { id, cluster, fingerprint, port, expires } = token;
  const secret = Buffer.from(token.secret).toString('base64url');
  const payload = JSON.stringify({ id, secret, cluster, fingerprint, port, expires });
  return TOKEN_PREFIX + Buffer.from(payload, 'utf8').toString('base64url');
}

/** Parses what the admin pasted (whitespace around ignored); throws JoinError('bad_token') saying what is wrong. */
export function parseJoinToken(text: string): JoinToken {
  const trimmed = text.trim();
  if (!trimmed.startsWith(TOKEN_PREFIX)) {
    throw badToken(`it must start with "${TOKEN_PREFIX}" (copy the whole output of corolink join-token)`);
  }
  const payload = decodeBase64url(trimmed.slice(TOKEN_PREFIX.length));
  if (!payload) throw badToken(`the part after "${TOKEN_PREFIX}" is not base64url (was it cut or altered?)`);
  const fields = parseJsonObject(payload);
  if (!fields) throw badToken('its payload is not a JSON object');
  return {
    id: tokenField(fields, 'id', isTokenId, `${TOKEN_ID_BYTES * 2} lower-case hex digits`),
    secret: tokenSecret(fields),
    cluster: tokenField(fields, 'cluster', isNonEmptyString, 'a non-empty string'),
    fingerprint: tokenField(fields, 'fingerprint', isFingerprint, 'SHA256: and 16 colon-separated hex pairs'),
    port: tokenField(fields, 'port', (v) => isIntegerIn(v, 1, 65_535), 'an integer 1..65535'),
    expires: tokenField(fields, 'expires', (v) => isIntegerIn(v, 0, Number.MAX_SAFE_INTEGER), 'ms since the epoch'),
  };
}

/** `SHA256:` + the first 16 bytes of sha256(authkey) as colon-separated upper-case hex pairs. */
export function fingerprintOf(authkey: Uint8Array): string {
  const digest = createHash('sha256').update(authkey).digest().subarray(0, FINGERPRINT_BYTES);
  return `SHA256:${[...digest].map((byte) => byte.toString(16).padStart(2, '0').toUpperCase()).join(':')}`;
}

export function storedTokenOf(token: JoinToken, createdBy: number, created: number): StoredJoinToken {
  return {
    id: token.id,
    secretHex: Buffer.from(token.secret).toString('hex'),
    fingerprint: token.fingerprint,
    expires: token.expires,
    createdBy,
    created,
  };
}

const badToken = (detail: string) => new JoinError('bad_token', `bad join token: ${detail}`);

function tokenField<T>(
  fields: Record<string, unknown>,
  name: string,
  valid: (value: unknown) => value is T,
  expected: string,
): T {
  const value = fields[name];
  if (valid(value)) return value;
  throw badToken(`field "${name}" must be ${expected}`);
}

function tokenSecret(fields: Record<string, unknown>): Buffer {
  const secret = typeof fields.secret === 'string' ? decodeBase64url(fields.secret) : undefined;
  if (secret?.length === SECRET_BYTES) return secret;
  throw badToken(`field "secret" must be ${SECRET_BYTES} bytes in base64url`);
}

const isTokenId = (value: unknown): value is string => typeof value === 'string' && /^[0-9a-f]{16}$/.test(value);
const isNonEmptyString = (value: unknown): value is string => typeof value === 'string' && value.length > 0;
const isFingerprint = (value: unknown): value is string =>
  typeof value === 'string' && /^SHA256:([0-9A-F]{2}:){15}[0-9A-F]{2}$/.test(value);

function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return Number.isInteger(value) && (value as number) >= min && (value as number) <= max;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isJoinErrorCode = (value: unknown): value is JoinErrorCode =>
  (JOIN_ERROR_CODES as readonly unknown[]).includes(value);

function parseJsonObject(bytes: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Buffer.from(…, 'base64url') skips bad characters silently: check the alphabet and length first. */
function decodeBase64url(text: string): Buffer | undefined {
  return /^[A-Za-z0-9_-]*$/.test(text) && text.length % 4 !== 1 ? Buffer.from(text, 'base64url') : undefined;
}

function decodeBase64(text: string): Buffer | undefined {
  return /^[A-Za-z0-9+/]*={0,2}$/.test(text) && text.length % 4 === 0 ? Buffer.from(text, 'base64') : undefined;
}

/** A value from the wire in a message: quoted, escaped and cut short (it may be anything). */
const quote = (value: unknown) => JSON.stringify(String(value).slice(0, 64));

// ---- Request and answer ----

/** The joiner's request (inside the encrypted channel). */
export interface JoinRequest {
  name: string;
  /** Link number (0..7) → IPv4/IPv6 address; link 0 is required. */
  addresses: Record<number, string>;
  votes?: number;
}

/** The member's answer (inside the encrypted channel). */
export type JoinAnswer =
  | { ok: true; nodeId: number; configText: string; authkey: Uint8Array }
  | { ok: false; code: JoinErrorCode; message: string };

export type JoinAccepted = Extract<JoinAnswer, { ok: true }>;

const badRequest = (detail: string) => new JoinError('protocol', `invalid join request: ${detail}`);

function parseJoinRequest(plaintext: Buffer): JoinRequest {
  const value = parseJsonObject(plaintext);
  if (!value) throw badRequest('not a JSON object');
  const unknown = Object.keys(value).find((key) => !REQUEST_FIELDS.has(key));
  if (unknown !== undefined) throw badRequest(`unknown field ${quote(unknown)}`);
  const { name, votes } = value;
  if (typeof name !== 'string' || !NODE_NAME.test(name)) {
    throw badRequest(`node name ${quote(name)} must be 1-64 characters of A-Z a-z 0-9 . _ -`);
  }
  const addresses = parseAddresses(value.addresses);
  if (votes === undefined) return { name, addresses };
  if (!isIntegerIn(votes, 1, 255)) throw badRequest(`votes ${quote(votes)} must be an integer 1..255`);
  return { name, addresses, votes };
}

function parseAddresses(value: unknown): Record<number, string> {
  if (!isRecord(value)) throw badRequest('addresses must be an object of link number → address');
  const addresses: Record<number, string> = {};
  for (const [link, address] of Object.entries(value)) {
    if (!LINK_NUMBER.test(link)) throw badRequest(`link ${quote(link)} is not a link number 0..${LINK_NUMBER_MAX}`);
    if (typeof address !== 'string' || isIP(address) === 0) {
      throw badRequest(`the link ${link} address ${quote(address)} is not an IPv4 or IPv6 address`);
    }
    addresses[Number(link)] = address;
  }
  if (addresses[0] === undefined) throw badRequest('a link 0 address is required');
  return addresses;
}

function encodeAnswer(answer: JoinAnswer): Buffer {
  const wire = answer.ok
    ? {
        ok: true,
        nodeId: answer.nodeId,
        configText: answer.configText,
        authkey: Buffer.from(answer.authkey).toString('base64'),
      }
    : answer;
  return Buffer.from(JSON.stringify(wire), 'utf8');
}

function parseJoinAnswer(plaintext: Buffer, peer: string): JoinAnswer {
  const value = parseJsonObject(plaintext);
  if (value?.ok === true) {
    const { nodeId, configText } = value;
    const authkey = typeof value.authkey === 'string' ? decodeBase64(value.authkey) : undefined;
    if (isIntegerIn(nodeId, 1, 0xffff_ffff) && typeof configText === 'string' && authkey) {
      return { ok: true, nodeId, configText, authkey };
    }
  } else if (value?.ok === false && isJoinErrorCode(value.code) && typeof value.message === 'string') {
    return { ok: false, code: value.code, message: value.message };
  }
  throw new JoinError('protocol', `${peer} sent a malformed join answer`);
}

// ---- Frames ----

function encodeFrame(type: number, ...parts: Uint8Array[]): Buffer {
  const body = Buffer.concat([Buffer.of(type), ...parts]);
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32BE(body.length);
  return Buffer.concat([header, body]);
}

const errorFrame = (error: JoinError) =>
  encodeFrame(FRAME_ERROR, Buffer.from(JSON.stringify({ code: error.code, message: error.message }), 'utf8'));

/** The payload of `frame` if it is of `type`; a protocol error naming `peer` otherwise. */
function expectFrame(frame: Buffer, type: number, peer: string): Buffer {
  if (frame[0] === type) return frame.subarray(1);
  throw new JoinError(
    'protocol',
    `${peer} sent an unexpected frame (type ${frame[0]}): is it a corolink join service?`,
  );
}

/** Like expectFrame, but the member's ERROR frame becomes the error it carries. */
function expectMemberFrame(frame: Buffer, type: number, peer: string): Buffer {
  if (frame[0] !== FRAME_ERROR) return expectFrame(frame, type, peer);
  const value = parseJsonObject(frame.subarray(1));
  if (value && isJoinErrorCode(value.code) && typeof value.message === 'string') {
    throw new JoinError(value.code, value.message);
  }
  throw new JoinError('protocol', `${peer} sent a malformed error frame`);
}

/** Reads frames from a socket one at a time; fails on close, socket errors, oversize frames or abort(). */
class FrameReader {
  private buffered = Buffer.alloc(0);
  private waiting: { resolve: (frame: Buffer) => void; reject: (error: JoinError) => void } | undefined;
  private failure: JoinError | undefined;

  constructor(
    socket: Socket,
    private readonly peer: string,
  ) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) =>
      this.abort(
        error instanceof JoinError
          ? error
          : new JoinError('unreachable', `lost the connection to ${peer}: ${describeSocketError(error)}`),
      ),
    );
    socket.on('close', () => this.abort(new JoinError('protocol', `${peer} closed the connection`)));
  }

  read(): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.deliver();
    });
  }

  /** Fails the pending and every later read (the first reason wins). */
  abort(error: JoinError): void {
    this.failure ??= error;
    this.deliver();
  }

  private receive(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    if (this.buffered.length >= HEADER_BYTES) this.checkLength(this.buffered.readUInt32BE(0));
    // The exchange is one frame at a time: a peer never has more than one frame in flight.
    if (this.buffered.length > HEADER_BYTES + FRAME_BYTES_MAX) {
      this.abort(new JoinError('protocol', `${this.peer} sent more than one frame at a time`));
    }
    this.deliver();
  }

  private checkLength(length: number): void {
    if (length === 0) this.abort(new JoinError('protocol', `${this.peer} sent an empty frame`));
    if (length > FRAME_BYTES_MAX) {
      this.abort(
        new JoinError(
          'protocol',
          `${this.peer} sent a frame of ${length} bytes, over the ${FRAME_BYTES_MAX}-byte limit: is it a corolink join service?`,
        ),
      );
    }
  }

  private deliver(): void {
    const waiting = this.waiting;
    if (!waiting) return;
    // Frames that arrived before a close are still read.
    const frame = this.takeFrame();
    if (frame) waiting.resolve(frame);
    else if (this.failure) waiting.reject(this.failure);
    else return;
    this.waiting = undefined;
  }

  private takeFrame(): Buffer | undefined {
    if (this.buffered.length < HEADER_BYTES) return undefined;
    const length = this.buffered.readUInt32BE(0);
    const end = HEADER_BYTES + length;
    if (length === 0 || length > FRAME_BYTES_MAX || this.buffered.length < end) return undefined;
    const frame = this.buffered.subarray(HEADER_BYTES, end);
    this.buffered = this.buffered.subarray(end);
    return frame;
  }
}

/** `connect ECONNREFUSED`-style: the address is in the message already. */
function describeSocketError(error: NodeJS.ErrnoException): string {
  return error.code && error.syscall ? `${error.syscall} ${error.code}` : error.message;
}

const hostPort = (host: string, port: number) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

// ---- Session keys ----

/** The sealing state of one side: its own sending key and counter, and the peer's. */
class Channel {
  private sent = 0;
  private received = 0;

  constructor(
    private readonly sendKey: Buffer,
    private readonly receiveKey: Buffer,
    private readonly transcript: Buffer,
  ) {}

  seal(plaintext: Buffer): Buffer {
    const cipher = createCipheriv('aes-256-gcm', this.sendKey, nonceOf(this.sent++));
    cipher.setAAD(this.transcript);
    return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  }

  /** The plaintext, or undefined when the frame fails authentication (a different secret, or tampering). */
  open(sealed: Buffer): Buffer | undefined {
    if (sealed.length < TAG_BYTES) return undefined;
    const decipher = createDecipheriv('aes-256-gcm', this.receiveKey, nonceOf(this.received++), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(this.transcript);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]);
    } catch {
      return undefined;
    }
  }
}

function nonceOf(counter: number): Buffer {
  const nonce = Buffer.alloc(NONCE_BYTES);
  nonce.writeBigUInt64BE(BigInt(counter), NONCE_BYTES - 8);
  return nonce;
}

interface Handshake {
  shared: Buffer;
  secret: Uint8Array;
  tokenId: Buffer;
  clientPublic: Buffer;
  serverPublic: Buffer;
}

function deriveChannel(role: 'client' | 'server', handshake: Handshake): Channel {
  const transcript = createHash('sha256')
    .update(PROTOCOL_LABEL)
    .update(handshake.tokenId)
    .update(handshake.clientPublic)
    .update(handshake.serverPublic)
    .digest();
  const ikm = Buffer.concat([handshake.shared, handshake.secret]);
  const key = (direction: string) =>
    Buffer.from(hkdfSync('sha256', ikm, transcript, `${PROTOCOL_LABEL} ${direction}`, KEY_BYTES));
  const clientToServer = key('client->server');
  const serverToClient = key('server->client');
  return role === 'client'
    ? new Channel(clientToServer, serverToClient, transcript)
    : new Channel(serverToClient, clientToServer, transcript);
}

const rawPublicKey = (key: KeyObject) => Buffer.from(key.export({ format: 'jwk' }).x!, 'base64url');

/** The X25519 shared secret; OpenSSL refuses low-order peer keys (an all-zero result). */
function agree(privateKey: KeyObject, peerPublic: Buffer, peer: string): Buffer {
  try {
    const publicKey = createPublicKey({
      key: { kty: 'OKP', crv: 'X25519', x: peerPublic.toString('base64url') },
      format: 'jwk',
    });
    return diffieHellman({ privateKey, publicKey });
  } catch {
    throw new JoinError('protocol', `${peer} sent an unusable X25519 public key`);
  }
}

// ---- Joiner ----

export interface RequestJoinOptions {
  /** The member's address (its port is in the token). */
  host: string;
  token: JoinToken;
  request: JoinRequest;
  /** For the whole exchange, connecting included (default 30000). */
  timeoutMs?: number;
}

/**
 * Asks the member at host:token.port to add this node; resolves with its answer once the authkey matched the
 * token's fingerprint. Throws JoinError: the member's refusal as it sent it, or a local failure naming host:port.
 */
export async function requestJoin(options: RequestJoinOptions): Promise<JoinAccepted> {
  const { host, token } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const peer = hostPort(host, token.port);
  const socket = new Socket();
  const frames = new FrameReader(socket, peer);
  const deadline = setTimeout(
    () => socket.destroy(new JoinError('timeout', `no answer from ${peer} within ${timeoutMs} ms`)),
    timeoutMs,
  );
  try {
    await connect(socket, host, token.port, peer);
    const answer = await exchange(socket, frames, token, options.request, peer);
    if (fingerprintOf(answer.authkey) !== token.fingerprint) {
      throw new JoinError(
        'fingerprint_mismatch',
        `the cluster's authkey does not match the token's fingerprint ${token.fingerprint}: refusing to join`,
      );
    }
    return answer;
  } finally {
    clearTimeout(deadline);
    socket.destroy();
  }
}

function connect(socket: Socket, host: string, port: number, peer: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) =>
      reject(
        error instanceof JoinError
          ? error
          : new JoinError('unreachable', `cannot reach ${peer}: ${describeSocketError(error)}`),
      );
    socket.once('error', failed);
    socket.connect(port, host, () => {
      socket.off('error', failed);
      resolve();
    });
  });
}

async function exchange(
  socket: Socket,
  frames: FrameReader,
  token: JoinToken,
  request: JoinRequest,
  peer: string,
): Promise<JoinAccepted> {
  const tokenId = Buffer.from(token.id, 'hex');
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const clientPublic = rawPublicKey(publicKey);
  socket.write(encodeFrame(FRAME_HELLO, Buffer.of(PROTOCOL_VERSION), tokenId, clientPublic));
  const serverPublic = expectMemberFrame(await frames.read(), FRAME_ACCEPT, peer);
  if (serverPublic.length !== PUBLIC_KEY_BYTES) throw new JoinError('protocol', `${peer} sent a malformed accept`);
  const shared = agree(privateKey, serverPublic, peer);
  const channel = deriveChannel('client', { shared, secret: token.secret, tokenId, clientPublic, serverPublic });
  socket.write(encodeFrame(FRAME_SEALED, channel.seal(Buffer.from(JSON.stringify(request), 'utf8'))));
  const plaintext = channel.open(expectMemberFrame(await frames.read(), FRAME_SEALED, peer));
  if (!plaintext) throw new JoinError('auth_failed', `${AUTH_FAILED_MESSAGE} (the answer of ${peer})`);
  const answer = parseJoinAnswer(plaintext, peer);
  if (!answer.ok) throw new JoinError(answer.code, answer.message);
  return answer;
}

// ---- Member ----

export interface JoinServerOptions {
  host: string;
  /** 0: an ephemeral port (see JoinServer.port). */
  port: number;
  /** The stored token of this id, if any (used or removed tokens: undefined). */
  lookup: (id: string) => StoredJoinToken | undefined;
  now: () => number;
  /** Called once the request authenticated; commits the node and answers. A throw answers `refused`. */
  handle: (request: JoinRequest, tokenId: string) => Promise<JoinAnswer>;
  /** Every connection refused by the protocol (not handle's own ok:false answers), to count and log. */
  onRefused: (code: JoinErrorCode, message: string, remote: string) => void;
  /** For reading the hello and the request (default 30000). */
  timeoutMs?: number;
}

/** The member's join service: one join exchange per connection. */
export class JoinServer {
  private readonly sockets = new Set<Socket>();
  private readonly timeoutMs: number;
  private closing = false;

  private constructor(
    private readonly server: Server,
    private readonly options: JoinServerOptions,
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  static async listen(options: JoinServerOptions): Promise<JoinServer> {
    const server = createServer();
    const join = new JoinServer(server, options);
    server.on('connection', (socket) => join.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return join;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /**
   * Stops listening; exchanges under way get up to `graceMs` to finish (a join being committed when its token was
   * used up must still get its answer), then every connection left is cut (a handler still running finds it gone).
   */
  async close(options: { graceMs?: number } = {}): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const graceMs = options.graceMs ?? 0;
    if (this.sockets.size > 0 && graceMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      const ended = [...this.sockets].map((socket) => new Promise((resolve) => socket.once('close', resolve)));
      await Promise.race([Promise.all(ended), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
    }
    this.closing = true;
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    const remote = hostPort(socket.remoteAddress ?? 'unknown', socket.remotePort ?? 0);
    // serve() catches everything; only a throwing onRefused could get here.
    this.serve(socket, remote).catch(() => socket.destroy());
  }

  private async serve(socket: Socket, remote: string): Promise<void> {
    const frames = new FrameReader(socket, remote);
    const deadline = setTimeout(
      () => frames.abort(new JoinError('timeout', `no join request from ${remote} within ${this.timeoutMs} ms`)),
      this.timeoutMs,
    );
    // Set once the request authenticated: from then on, errors are answered sealed.
    let channel: Channel | undefined;
    try {
      const session = await this.handshake(socket, frames, remote);
      const plaintext = session.channel.open(expectFrame(await frames.read(), FRAME_SEALED, remote));
      if (!plaintext) throw new JoinError('auth_failed', AUTH_FAILED_MESSAGE);
      channel = session.channel;
      const request = parseJoinRequest(plaintext);
      clearTimeout(deadline);
      this.finish(socket, sealAnswer(channel, await this.answer(request, session.tokenId, remote)));
    } catch (error) {
      clearTimeout(deadline);
      const refusal =
        error instanceof JoinError
          ? error
          : new JoinError('refused', `join service error: ${(error as Error).message}`);
      const { code, message } = refusal;
      this.report(code, message, remote);
      this.finish(socket, channel ? sealAnswer(channel, { ok: false, code, message }) : errorFrame(refusal));
    }
  }

  /** Reads the hello, admits its token and answers with the member's key: the channel is not confirmed yet. */
  private async handshake(
    socket: Socket,
    frames: FrameReader,
    remote: string,
  ): Promise<{ tokenId: string; channel: Channel }> {
    const { tokenId, clientPublic } = parseHello(await frames.read(), remote);
    const secret = this.admit(tokenId.toString('hex'));
    const { privateKey, publicKey } = generateKeyPairSync('x25519');
    const serverPublic = rawPublicKey(publicKey);
    const shared = agree(privateKey, clientPublic, remote);
    socket.write(encodeFrame(FRAME_ACCEPT, serverPublic));
    const channel = deriveChannel('server', { shared, secret, tokenId, clientPublic, serverPublic });
    return { tokenId: tokenId.toString('hex'), channel };
  }

  /** The secret of a usable token; unknown and expired tokens are refused before any key exists. */
  private admit(tokenId: string): Buffer {
    const stored = this.options.lookup(tokenId);
    if (!stored) throw new JoinError('unknown_token', `unknown or already used join token ${tokenId}`);
    if (this.options.now() >= stored.expires) {
      throw new JoinError('expired', `join token expired at ${new Date(stored.expires).toISOString()}`);
    }
    const secret = Buffer.from(stored.secretHex, 'hex');
    // A damaged store must not turn into a short (guessable) secret.
    if (secret.length !== SECRET_BYTES) throw new JoinError('refused', `the stored join token ${tokenId} is damaged`);
    return secret;
  }

  private async answer(request: JoinRequest, tokenId: string, remote: string): Promise<JoinAnswer> {
    try {
      return await this.options.handle(request, tokenId);
    } catch (error) {
      const message = `the member could not add the node: ${(error as Error).message}`;
      this.report('refused', message, remote);
      return { ok: false, code: 'refused', message };
    }
  }

  private report(code: JoinErrorCode, message: string, remote: string): void {
    // Connections cut by close() are not refusals.
    if (!this.closing) this.options.onRefused(code, message, remote);
  }

  /** Sends the last frame and closes; a joiner that keeps its end open is cut off after timeoutMs. */
  private finish(socket: Socket, frame: Buffer): void {
    // Not writable: the joiner went away, or half-closed and was ended already.
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    socket.end(frame);
    const linger = setTimeout(() => socket.destroy(), this.timeoutMs);
    socket.once('close', () => clearTimeout(linger));
  }
}

/** The answer as a SEALED frame; refused (before sealing: the nonce counter stays unused) when it cannot fit. */
function sealAnswer(channel: Channel, answer: JoinAnswer): Buffer {
  const plaintext = encodeAnswer(answer);
  if (plaintext.length > FRAME_BYTES_MAX - 1 - TAG_BYTES) {
    throw new JoinError(
      'refused',
      `the join answer is ${plaintext.length} bytes, over the ${FRAME_BYTES_MAX}-byte frame limit`,
    );
  }
  return encodeFrame(FRAME_SEALED, channel.seal(plaintext));
}

function parseHello(frame: Buffer, remote: string): { tokenId: Buffer; clientPublic: Buffer } {
  const body = expectFrame(frame, FRAME_HELLO, remote);
  if (body.length > 0 && body[0] !== PROTOCOL_VERSION) {
    throw new JoinError(
      'protocol',
      `join protocol version ${body[0]} is not supported (this member speaks version ${PROTOCOL_VERSION})`,
    );
  }
  if (body.length !== 1 + TOKEN_ID_BYTES + PUBLIC_KEY_BYTES) {
    throw new JoinError('protocol', `${remote} sent a malformed hello`);
  }
  return { tokenId: body.subarray(1, 1 + TOKEN_ID_BYTES), clientPublic: body.subarray(1 + TOKEN_ID_BYTES) };
}
