/**
 * `npm run bench:seal`: CPU per datagram of the pieces of the daemon's send and receive path — AES-256-GCM seal and
 * open as src/crypto does them on each engine (the native addon, node:crypto) and in the alternatives Node offers (a raw key Buffer or a `KeyObject` per cipher,
 * the output assembled once or by `Buffer.concat`), the cipher calls one by one, and the `node:dgram` send (one
 * buffer or a list, a completion callback or none, a connected socket; the daemon's `lookup`) to a receiver process
 * on loopback (a child process that only reads).
 * CPU time (user + system) per call, the median of ROUNDS rounds with the variants interleaved: other load on the
 * machine still moves a figure by up to ≈ 20 % between runs, so compare rows of one run.
 * Prints a table, then one JSON line.
 */
import { spawn } from 'node:child_process';
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { NODE_CRYPTO_AEAD, nativeAead } from '../src/crypto/aead.ts';
import { ENCRYPTED_HEADER_BYTES, GCM_NONCE_BYTES, GCM_TAG_BYTES } from '../src/crypto/packet-format.ts';
import { literalLookup } from '../src/transport/udp-endpoints.ts';
import { makeCrypto } from '../test/crypto/helpers.ts';
import { median } from './stats.ts';

const SIZES_BYTES = [64, 1024, 1400] as const;
const CRYPTO_OPS = 20_000;
const SEND_OPS = 10_000;
/** Every variant is measured ROUNDS times, the variants interleaved; the table shows the median. */
const ROUNDS = 7;
/** Width of the table's first column. */
const LABEL_WIDTH = 42;
/** Sends between two event-loop turns (the completion callbacks run there, inside the measured time). */
const SEND_BATCH = 200;
const WARMUP_OPS = 2_000;
const RECEIVER_ADDRESS = '127.0.0.1';
const RECEIVER_START_TIMEOUT_MS = 10_000;
const CIPHER = 'aes-256-gcm';
const TAG = { authTagLength: GCM_TAG_BYTES } as const;

const native = nativeAead();
if (native instanceof Error) console.log(`${native.message}: its rows are left out`);
/** PacketCrypto on each AES-GCM engine this process has (docs/crypto.md "The AEAD engine"). */
const ENGINES = [
  { label: 'node:crypto', aead: NODE_CRYPTO_AEAD },
  ...(native instanceof Error ? [] : [{ label: 'native addon', aead: native }]),
];

const rawKey = Buffer.alloc(32, 0x42);
const keyObject = createSecretKey(rawKey);
const nonce = Buffer.alloc(GCM_NONCE_BYTES, 1);
const header = Buffer.alloc(ENCRYPTED_HEADER_BYTES, 2);

/** CPU µs (user + system) per call of `one` over `ops` calls, after a warm-up. */
function cpuPerOp(ops: number, one: (i: number) => void): number {
  for (let i = 0; i < WARMUP_OPS; i++) one(i);
  const before = process.cpuUsage();
  for (let i = 0; i < ops; i++) one(i);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / ops;
}

/** Seal as src/crypto did before: one output buffer, ciphertext and tag copied into it. */
function sealInto(key: Buffer | KeyObject, frame: Buffer): Buffer {
  const out = Buffer.allocUnsafe(ENCRYPTED_HEADER_BYTES + frame.length + GCM_TAG_BYTES);
  header.copy(out, 0);
  const cipher = createCipheriv(CIPHER, key, nonce, TAG);
  cipher.setAAD(header);
  cipher.update(frame).copy(out, ENCRYPTED_HEADER_BYTES);
  cipher.final();
  cipher.getAuthTag().copy(out, ENCRYPTED_HEADER_BYTES + frame.length);
  return out;
}

function sealConcat(key: Buffer | KeyObject, frame: Buffer): Buffer {
  const cipher = createCipheriv(CIPHER, key, nonce, TAG);
  cipher.setAAD(header);
  const body = cipher.update(frame);
  cipher.final();
  return Buffer.concat([header, body, cipher.getAuthTag()]);
}

function openWith(key: Buffer | KeyObject, datagram: Buffer): Buffer {
  const tagStart = datagram.length - GCM_TAG_BYTES;
  const decipher = createDecipheriv(CIPHER, key, nonce, TAG);
  decipher.setAAD(datagram.subarray(0, ENCRYPTED_HEADER_BYTES));
  decipher.setAuthTag(datagram.subarray(tagStart));
  const frame = decipher.update(datagram.subarray(ENCRYPTED_HEADER_BYTES, tagStart));
  decipher.final();
  return frame;
}

type Variants = Record<string, () => number>;

/** The cipher calls one at a time: each row adds one call to the one above. */
function cipherSteps(frame: Buffer): Variants {
  return {
    'createCipheriv (raw key)': () => cpuPerOp(CRYPTO_OPS, () => createCipheriv(CIPHER, rawKey, nonce, TAG)),
    'createCipheriv (KeyObject)': () => cpuPerOp(CRYPTO_OPS, () => createCipheriv(CIPHER, keyObject, nonce, TAG)),
    '+ setAAD': () => cpuPerOp(CRYPTO_OPS, () => createCipheriv(CIPHER, keyObject, nonce, TAG).setAAD(header)),
    '+ update': () =>
      cpuPerOp(CRYPTO_OPS, () => {
        const cipher = createCipheriv(CIPHER, keyObject, nonce, TAG);
        cipher.setAAD(header);
        cipher.update(frame);
      }),
    '+ final + getAuthTag': () =>
      cpuPerOp(CRYPTO_OPS, () => {
        const cipher = createCipheriv(CIPHER, keyObject, nonce, TAG);
        cipher.setAAD(header);
        cipher.update(frame);
        cipher.final();
        cipher.getAuthTag();
      }),
  };
}

function cryptoVariants(bytes: number): Variants {
  const frame = Buffer.alloc(bytes, 0x5a);
  const rawSealed = sealInto(rawKey, frame);
  const packetCrypto = Object.fromEntries(
    ENGINES.flatMap(({ label, aead }) => {
      const sender = makeCrypto(1, { aead });
      const receiver = makeCrypto(2, { aead });
      const openOneRound = () => {
        const sealed = Array.from({ length: CRYPTO_OPS + WARMUP_OPS }, () => sender.seal(frame));
        let next = 0;
        return cpuPerOp(CRYPTO_OPS, () => {
          if (!receiver.open(sealed[next++]!, '127.0.10.1', 1, 0).ok) throw new Error('bench:seal: open failed');
        });
      };
      return [
        [`seal: PacketCrypto.seal, ${label}`, () => cpuPerOp(CRYPTO_OPS, () => sender.seal(frame))],
        [`open: PacketCrypto.open, ${label}`, openOneRound],
      ];
    }),
  );
  const variants: Variants = {
    'seal: raw key, one buffer': () => cpuPerOp(CRYPTO_OPS, () => sealInto(rawKey, frame)),
    'seal: KeyObject, one buffer': () => cpuPerOp(CRYPTO_OPS, () => sealInto(keyObject, frame)),
    'seal: KeyObject, Buffer.concat': () => cpuPerOp(CRYPTO_OPS, () => sealConcat(keyObject, frame)),
    'open: raw key': () => cpuPerOp(CRYPTO_OPS, () => openWith(rawKey, rawSealed)),
    'open: KeyObject': () => cpuPerOp(CRYPTO_OPS, () => openWith(keyObject, rawSealed)),
    ...packetCrypto,
  };
  return bytes === SIZES_BYTES[0] ? { ...variants, ...cipherSteps(frame) } : variants;
}

/** Median over ROUNDS rounds of every variant, the variants interleaved within each round. */
async function interleaved(variants: Record<string, () => number | Promise<number>>): Promise<Record<string, number>> {
  const samples = new Map<string, number[]>(Object.keys(variants).map((name) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, measure] of Object.entries(variants)) samples.get(name)!.push(await measure());
  }
  return Object.fromEntries([...samples].map(([name, values]) => [name, median(values)]));
}

/** A child process with one UDP socket that reads and drops everything; resolves to its port. */
async function startReceiver(): Promise<{ port: number; stop: () => void }> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const s = require('node:dgram').createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
       s.on('message', () => {});
       s.bind(0, '${RECEIVER_ADDRESS}', () => console.log(s.address().port));
       process.stdin.on('close', () => process.exit(0)); process.stdin.resume();`,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const timeout = setTimeout(() => child.kill(), RECEIVER_START_TIMEOUT_MS);
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  clearTimeout(timeout);
  return { port: Number(line.toString().trim()), stop: () => child.stdin!.end() };
}

/** CPU µs per `send` over SEND_OPS sends, SEND_BATCH per event-loop turn (callbacks included). */
async function sendCpu(send: () => void): Promise<number> {
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  for (let i = 0; i < WARMUP_OPS; i++) {
    send();
    if (i % SEND_BATCH === 0) await turn();
  }
  await turn();
  const before = process.cpuUsage();
  for (let i = 0; i < SEND_OPS; i += SEND_BATCH) {
    for (let j = 0; j < SEND_BATCH; j++) send();
    await turn();
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / SEND_OPS;
}

async function sendRows(port: number): Promise<Record<string, number>> {
  // As the daemon's link sockets: an IP literal is its own address, answered at once (src/transport/udp-endpoints.ts).
  const socket = createSocket({ type: 'udp4', sendBufferSize: 4 << 20, lookup: literalLookup });
  const connected: Socket = createSocket({ type: 'udp4', sendBufferSize: 4 << 20, lookup: literalLookup });
  await new Promise<void>((resolve) => socket.bind(0, RECEIVER_ADDRESS, resolve));
  await new Promise<void>((resolve) => connected.connect(port, RECEIVER_ADDRESS, resolve));
  const datagram = Buffer.alloc(ENCRYPTED_HEADER_BYTES + 64 + GCM_TAG_BYTES, 0x5a);
  const parts = [datagram.subarray(0, ENCRYPTED_HEADER_BYTES), datagram.subarray(ENCRYPTED_HEADER_BYTES)];
  let errors = 0;
  const afterSend = (error: Error | null) => {
    if (error) errors++;
  };
  const rows = await interleaved({
    'send: buffer, callback': () => sendCpu(() => socket.send(datagram, port, RECEIVER_ADDRESS, afterSend)),
    'send: buffer, no callback': () => sendCpu(() => socket.send(datagram, port, RECEIVER_ADDRESS)),
    'send: [header, body], callback': () => sendCpu(() => socket.send(parts, port, RECEIVER_ADDRESS, afterSend)),
    'send: connected, callback': () => sendCpu(() => connected.send(datagram, afterSend)),
  });
  socket.close();
  connected.close();
  if (errors > 0) throw new Error(`bench:seal: ${errors} sends failed`);
  return rows;
}

const bySize: { bytes: number; rows: Record<string, number> }[] = [];
for (const bytes of SIZES_BYTES) bySize.push({ bytes, rows: await interleaved(cryptoVariants(bytes)) });
const receiver = await startReceiver();
let sends: Record<string, number>;
try {
  sends = await sendRows(receiver.port);
} finally {
  receiver.stop();
}

const names = [...new Set(bySize.flatMap(({ rows }) => Object.keys(rows)))];
console.log(`${'CPU µs per datagram'.padEnd(LABEL_WIDTH)}${SIZES_BYTES.map((b) => `${b} B`.padStart(9)).join('')}`);
for (const name of names) {
  const cells = bySize.map(({ rows }) => (rows[name] === undefined ? '' : rows[name]!.toFixed(2)).padStart(9));
  console.log(`${name.padEnd(LABEL_WIDTH)}${cells.join('')}`);
}
console.log(`${'(85 B datagram, loopback)'.padEnd(LABEL_WIDTH)}`);
for (const [name, us] of Object.entries(sends)) console.log(`${name.padEnd(LABEL_WIDTH)}${us.toFixed(2).padStart(9)}`);
const key = (name: string) => name.replace(/[^a-zA-Z0-9]+/g, '_').replace(/^_|_$/g, '');
console.log(
  JSON.stringify({
    ...Object.fromEntries(
      bySize.flatMap(({ bytes, rows }) =>
        Object.entries(rows).map(([name, us]) => [`${key(name)}_${bytes}`, Number(us.toFixed(2))]),
      ),
    ),
    ...Object.fromEntries(Object.entries(sends).map(([name, us]) => [key(name), Number(us.toFixed(2))])),
  }),
);
