/**
 * A corolink transport in a child process, driven over stdin/stdout JSON lines (test/udp and bench/transport).
 * Commands: stream, blast, recvStats, resetRecv, markRecv, setLinkEnabled, cut, rawSink, rawBlast, snapshot, exit.
 * Events: ready, linkUp, linkDown, hostUp, hostDown, streamProgress, streamDone, blastDone, recvStats, snapshot.
 */
import { createSocket } from 'node:dgram';
import { createInterface } from 'node:readline';
import { MESSAGE_BYTES_MAX } from '../../src/base/limits.ts';
import { type OpenResult, PacketCrypto } from '../../src/crypto/packet-crypto.ts';
import { Transport } from '../../src/transport/transport.ts';
import { UdpTransport } from '../../src/transport/udp.ts';
import { clusterIdFromName } from '../../src/wire/cluster-id.ts';
import type { PeerCommand, PeerProcessConfig } from './peer-config.ts';
import { ReceiveTally } from './receive-tally.ts';

const FAILBACK_HOLD_MS = 1000;
const KIND_DATA = 1;
const KIND_ACK = 2;
/** Flow control of blasts: "I have received this many distinct messages". */
const KIND_CREDIT = 3;
const WANT_ACK = 1;
const WANT_CREDIT = 2;
/** The receiver of a blast sends a credit every this many distinct messages. */
const CREDIT_EVERY = 64;
/** A blast keeps at most this many bytes unconfirmed by credits. */
const BLAST_WINDOW_BYTES = 1024 * 1024;
/** A blast whose window stayed full this long writes the missing messages off as lost and goes on. */
const BLAST_STALL_MS = 50;
const STREAM_TICK_MS = 5;
const RETRANSMIT_CHECK_MS = 50;
const RETRANSMITS_MAX = 100_000;
/** Bytes queued per event-loop turn while blasting (lets pings, pongs and socket reads interleave). */
const BLAST_BYTES_PER_TURN = 64 * 1024;
/** Progress events are printed every this many messages. */
const PROGRESS_EVERY = 500;

/** PacketCrypto that can drop everything arriving from some addresses — a silent cable cut for the benchmark. */
class CuttableCrypto extends PacketCrypto {
  readonly cutAddresses = new Set<string>();
  override open(
    datagram: Uint8Array,
    sourceAddress: string,
    expectedSender: number | undefined,
    link: number,
  ): OpenResult {
    if (this.cutAddresses.has(sourceAddress)) return { ok: false, reason: 'unlisted_ip' };
    return super.open(datagram, sourceAddress, expectedSender, link);
  }
}

const config = JSON.parse(process.argv[2] ?? '{}') as PeerProcessConfig;
const print = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);

const crypto = new CuttableCrypto({
  localNodeId: config.nodeId,
  clusterName: config.clusterName,
  cipher: 'aes256',
  authkey: Buffer.from(config.authkeyHex, 'hex'),
  nodelist: [
    ...config.endpoints.map(({ address }) => ({ nodeId: config.nodeId, address })),
    ...config.peers.flatMap((peer) => peer.endpoints.map(({ address }) => ({ nodeId: peer.nodeId, address }))),
  ],
});
const core = new Transport(
  {
    localNodeId: config.nodeId,
    clusterId: clusterIdFromName(config.clusterName),
    linkMode: config.linkMode,
    links: config.endpoints.map(({ link }) => ({
      link,
      priority: link === 0 ? 20 : 10,
      pingIntervalMs: config.pingIntervalMs,
      pingTimeoutMs: config.pingTimeoutMs,
      pongCount: config.pongCount,
      mtu: config.maxDatagramBytes - crypto.overheadBytes,
    })),
    peers: config.peers.map((peer) => ({ nodeId: peer.nodeId, links: peer.endpoints.map(({ link }) => link) })),
    failbackHoldMs: FAILBACK_HOLD_MS,
    maxMessageBytes: MESSAGE_BYTES_MAX,
  },
  performance.now(),
);
const transport = await UdpTransport.open({
  core,
  crypto,
  localEndpoints: config.endpoints,
  peers: config.peers,
  maxDatagramBytes: config.maxDatagramBytes,
});
const tally = new ReceiveTally(() => performance.now());
let unacked = new Map<number, { payload: Buffer; sentAt: number }>();

for (const type of ['linkUp', 'linkDown'] as const) {
  transport.on(type, (change) => print({ event: type, ...change }));
}
transport.on('hostUp', (nodeId) => print({ event: 'hostUp', nodeId }));
transport.on('hostDown', (nodeId) => print({ event: 'hostDown', nodeId }));
/** Credits of the running blast (distinct messages the receiver confirmed). */
const credits = { confirmed: 0, wake: (): void => {} };

/** Handles one test message (data, ack or credit); `reply` sends a control message back to its sender. */
function onTestMessage(bytes: Buffer, reply: (payload: Buffer) => void): void {
  if (bytes[0] === KIND_ACK) {
    unacked.delete(bytes.readUInt32BE(1));
    return;
  }
  if (bytes[0] === KIND_CREDIT) {
    credits.confirmed = Math.max(credits.confirmed, bytes.readUInt32BE(1));
    credits.wake();
    return;
  }
  if (bytes[0] !== KIND_DATA) return;
  const seq = bytes.readUInt32BE(1);
  const isNew = tally.record(seq, bytes.length);
  if (bytes[5] === WANT_ACK) reply(controlPayload(KIND_ACK, seq));
  const unique = tally.unique;
  if (bytes[5] === WANT_CREDIT && isNew && unique % CREDIT_EVERY === 0) reply(controlPayload(KIND_CREDIT, unique));
}

transport.on('deliver', (from, payload) =>
  onTestMessage(Buffer.from(payload.buffer, payload.byteOffset, payload.length), (reply) =>
    transport.send(from, reply),
  ),
);

function dataPayload(seq: number, size: number, want: number): Buffer {
  const payload = Buffer.alloc(Math.max(6, size));
  payload[0] = KIND_DATA;
  payload.writeUInt32BE(seq, 1);
  payload[5] = want;
  return payload;
}

function controlPayload(kind: number, value: number): Buffer {
  const payload = Buffer.alloc(5);
  payload[0] = kind;
  payload.writeUInt32BE(value, 1);
  return payload;
}

/** Sends `count` acknowledged messages at `ratePerS`, re-sending any not acknowledged within `retransmitMs`. */
function stream(to: number, count: number, ratePerS: number, size: number, retransmitMs: number): void {
  unacked = new Map();
  const startedAt = performance.now();
  let sent = 0;
  let retransmits = 0;
  const pump = setInterval(() => {
    const due = Math.min(count, Math.floor(((performance.now() - startedAt) * ratePerS) / 1000));
    while (sent < due) {
      const payload = dataPayload(sent, size, WANT_ACK);
      unacked.set(sent, { payload, sentAt: performance.now() });
      transport.send(to, payload);
      sent++;
      if (sent % PROGRESS_EVERY === 0) print({ event: 'streamProgress', sent });
    }
    if (sent === count) clearInterval(pump);
  }, STREAM_TICK_MS);
  const retransmit = setInterval(() => {
    const now = performance.now();
    for (const entry of unacked.values()) {
      if (now - entry.sentAt < retransmitMs || retransmits >= RETRANSMITS_MAX) continue;
      entry.sentAt = now;
      retransmits++;
      transport.send(to, entry.payload);
    }
    if (sent === count && unacked.size === 0) {
      clearInterval(retransmit);
      print({ event: 'streamDone', sent, retransmits, elapsedMs: now - startedAt });
    }
  }, RETRANSMIT_CHECK_MS);
}

/**
 * Sends messages of `size` bytes for `durationMs` as fast as the receiver confirms them: at most
 * BLAST_WINDOW_BYTES unconfirmed; a window stalled for BLAST_STALL_MS is written off as lost.
 */
function blast(to: number, size: number, durationMs: number, send: (payload: Buffer) => void): void {
  const perTurn = Math.max(1, Math.floor(BLAST_BYTES_PER_TURN / size));
  const window = Math.max(CREDIT_EVERY * 2, Math.floor(BLAST_WINDOW_BYTES / size));
  const endAt = performance.now() + durationMs;
  let sent = 0;
  let writtenOff = 0;
  let waiting = false;
  let lastProgressAt = performance.now();
  let lastConfirmed = 0;
  credits.confirmed = 0;
  const stall = setInterval(() => {
    if (waiting && performance.now() - lastProgressAt >= BLAST_STALL_MS) {
      writtenOff = sent - credits.confirmed;
      turn();
    }
  }, BLAST_STALL_MS);
  const turn = () => {
    waiting = false;
    if (credits.confirmed !== lastConfirmed) {
      lastConfirmed = credits.confirmed;
      lastProgressAt = performance.now();
    }
    if (performance.now() >= endAt) {
      clearInterval(stall);
      credits.wake = () => {};
      print({ event: 'blastDone', sent, to });
      return;
    }
    for (let index = 0; index < perTurn && sent - credits.confirmed - writtenOff < window; index++) {
      send(dataPayload(sent++, size, WANT_CREDIT));
    }
    if (sent - credits.confirmed - writtenOff < window) setImmediate(turn);
    else waiting = true;
  };
  credits.wake = () => {
    if (!waiting) return;
    waiting = false;
    setImmediate(turn);
  };
  turn();
}

/** A plain node:dgram socket pair for the raw comparison. */
const raw = createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024, sendBufferSize: 4 * 1024 * 1024 });
raw.on('message', (datagram, remote) =>
  onTestMessage(datagram, (reply) => raw.send(reply, remote.port, remote.address)),
);
raw.on('error', (error) => print({ event: 'error', message: error.message }));

const commands: Record<PeerCommand['cmd'], (command: Required<PeerCommand>) => unknown> = {
  stream: (c) => stream(c.to, c.count, c.ratePerS, c.size, c.retransmitMs),
  blast: (c) => blast(c.to, c.size, c.durationMs, (payload) => transport.send(c.to, payload)),
  recvStats: () => print({ event: 'recvStats', ...tally.summary() }),
  resetRecv: () => tally.reset(),
  markRecv: () => tally.mark(),
  setLinkEnabled: (c) => transport.setLinkEnabled(c.link, c.enabled),
  cut: (c) => {
    for (const peer of config.peers) {
      for (const endpoint of peer.endpoints) if (endpoint.link === c.link) crypto.cutAddresses.add(endpoint.address);
    }
  },
  snapshot: () => print({ event: 'snapshot', ...transport.snapshot() }),
  rawSink: (c) =>
    new Promise<void>((resolve) => raw.bind(c.port, c.address, () => resolve())).then(() =>
      print({ event: 'rawReady' }),
    ),
  rawBlast: (c) => blast(0, c.size, c.durationMs, (payload) => raw.send(payload, c.port, c.address)),
  exit: async () => {
    await transport.close();
    raw.close();
    process.exit(0);
  },
};

createInterface({ input: process.stdin }).on('line', (line) => {
  const command = JSON.parse(line) as Required<PeerCommand>;
  void commands[command.cmd](command);
});
process.stdin.on('end', () => process.exit(0));
print({ event: 'ready', nodeId: config.nodeId });
