import { type RejectReason as CryptoRejectReason, PacketCrypto } from '../../src/crypto/packet-crypto.ts';
import { DATAGRAM_BYTES_MAX, ENCRYPTED_HEADER_BYTES } from '../../src/crypto/packet-format.ts';
import { Rng } from '../../src/sim/rng.ts';
import { Transport } from '../../src/transport/transport.ts';
import { PendingBundle, splitBundle } from '../../src/transport/udp-bundle.ts';
import { clusterIdFromName } from '../../src/wire/cluster-id.ts';
import {
  REJECT_REASONS as DECODER_REASONS,
  decodePacket,
  encodeData,
  encodeFragment,
  encodePingPong,
  encodePmtuProbe,
  encodePmtuReply,
  type FrameHeader,
} from '../../src/wire/packet.ts';
import { TEST_NODELIST, testAuthkey } from './helpers.ts';

/** What the fuzzer feeds: each kind is a way a datagram can be wrong (or `fresh`: valid, carrying a garbage frame). */
export const FUZZ_KINDS = [
  'random',
  'truncated',
  'bitflip',
  'wrong_key',
  'wrong_cluster',
  'replayed',
  'oversized',
  'unlisted',
  'spoofed',
  'spliced',
  'fresh',
] as const;
/** One fuzz kind. */
export type FuzzKind = (typeof FUZZ_KINDS)[number];

/** Receives every frame that crypto accepted (the transport core's receive path). */
export type FrameSink = (frame: Uint8Array) => void;

/** Outcome of a fuzz run. */
export interface FuzzReport {
  datagrams: number;
  byKind: Record<FuzzKind, number>;
  exceptions: string[];
  cryptoAccepted: number;
  cryptoRejected: Record<CryptoRejectReason, number>;
  /** Accepted datagrams whose bundle structure was malformed (dropped whole). */
  malformedBundles: number;
  /** Frames out of the accepted datagrams (a bundle carries several). */
  frames: number;
  wireDecoded: number;
  wireRejected: Record<string, number>;
}

const CLUSTER = 'lab';
const SENDER = 1;
const RECEIVER = 2;
const SENDER_ADDRESS = '127.0.10.1';
const SPOOFED_ADDRESS = '127.0.10.3';
const UNLISTED_ADDRESS = '127.0.99.99';
const VALID_POOL_SIZE = 256;
const REPLAY_POOL_SIZE = 256;
const RANDOM_BYTES_MAX = 1600;
const FLIPPED_BITS_MAX = 8;
const FRAME_PAYLOAD_BYTES_MAX = 1400;
const BUNDLED_FRAMES_MAX = 5;
const CORE_CLOCK_STEP_MS = 0.5;
/** The wall clock every PacketCrypto of a fuzz run starts its counter from (2026-01-01T00:00:00Z). */
const FUZZ_WALL_CLOCK_MS = Date.UTC(2026, 0, 1);
const CORE_TICK_EVERY_FRAMES = 64;
const REPORTED_EXCEPTIONS_MAX = 10;

/** A random plaintext frame: a valid frame of any type, then possibly mutated (an insider's garbage). */
function randomFrame(rng: Rng): Uint8Array {
  const header: FrameHeader = {
    clusterId: rng.chance(0.9) ? clusterIdFromName(CLUSTER) : rng.int(0, 0xffffffff),
    sourceNodeId: rng.chance(0.9) ? SENDER : rng.int(1, 0xffffffff),
    incarnation: rng.int(0, 3),
    link: rng.int(0, 7),
    seq: rng.int(0, 0xffffffff),
    flags: rng.int(0, 255),
  };
  const payload = randomBytes(rng, rng.int(1, FRAME_PAYLOAD_BYTES_MAX));
  const frame = validFrame(rng, header, payload);
  return rng.chance(0.5) ? mutate(rng, frame) : frame;
}

/** Several random frames in a bundle (as the UDP driver packs them), then possibly mutated. */
function randomBundle(rng: Rng): Uint8Array {
  const bundle = new PendingBundle(0, RECEIVER);
  for (let count = rng.int(2, BUNDLED_FRAMES_MAX); count > 0; count--) bundle.add(randomFrame(rng));
  const plaintext = bundle.take();
  return rng.chance(0.5) ? mutate(rng, plaintext) : plaintext;
}

function validFrame(rng: Rng, header: FrameHeader, payload: Uint8Array): Uint8Array {
  switch (rng.int(0, 4)) {
    case 0:
      return encodeData(header, payload);
    case 1: {
      const count = rng.int(1, 8);
      const message = randomBytes(rng, payload.length * count);
      const index = rng.int(0, count - 1);
      return encodeFragment(header, message, index * payload.length, payload.length, index, count);
    }
    case 2:
      return encodePingPong(rng.chance(0.5) ? 'ping' : 'pong', header, rng.int(0, 0xffffffff), rng.next() * 1e6);
    case 3:
      return encodePmtuProbe(header, rng.int(0, 0xffffffff), rng.int(28, 1500));
    default:
      return encodePmtuReply(header, rng.int(0, 0xffffffff), rng.int(0, 0xffffffff));
  }
}

function mutate(rng: Rng, bytes: Uint8Array): Uint8Array {
  const copy = Uint8Array.from(bytes);
  switch (rng.int(0, 2)) {
    case 0:
      return copy.subarray(0, rng.int(0, copy.length));
    case 1: {
      for (let flips = rng.int(1, FLIPPED_BITS_MAX); flips > 0 && copy.length > 0; flips--) {
        copy[rng.int(0, copy.length - 1)]! ^= 1 << rng.int(0, 7);
      }
      return copy;
    }
    default: {
      const longer = new Uint8Array(copy.length + rng.int(1, 64));
      longer.set(copy);
      return longer;
    }
  }
}

const ENTROPY_POOL_BYTES = 1 << 17;
const entropyPools = new WeakMap<Rng, Uint8Array>();

/** `length` pseudo-random bytes: a random slice of a per-Rng pool (filled once from the Rng), copied. */
function randomBytes(rng: Rng, length: number): Uint8Array {
  let pool = entropyPools.get(rng);
  if (pool === undefined) {
    pool = new Uint8Array(ENTROPY_POOL_BYTES);
    for (let index = 0; index < pool.length; index++) pool[index] = rng.int(0, 255);
    entropyPools.set(rng, pool);
  }
  const bytes = new Uint8Array(length);
  for (let filled = 0; filled < length; ) {
    const start = rng.int(0, pool.length - 1);
    const chunk = Math.min(length - filled, pool.length - start);
    bytes.set(pool.subarray(start, start + chunk), filled);
    filled += chunk;
  }
  return bytes;
}

/**
 * Feeds `datagrams` hostile datagrams (deterministic from `seed`) to PacketCrypto.open as node 2, splits every
 * accepted one like the UDP driver (bundles), and gives each frame to decodePacket and to `sink` (the transport
 * core's receive path). Exceptions are caught and reported.
 */
export function runWireFuzz(seed: number, datagrams: number, sink?: FrameSink): FuzzReport {
  const rng = new Rng(seed);
  const crypto = (name: string, key: Buffer, nodeId = SENDER) =>
    new PacketCrypto({
      localNodeId: nodeId,
      clusterName: name,
      cipher: 'aes256',
      authkey: key,
      nodelist: TEST_NODELIST,
      // Session ids and counters from the seed too, so a failing seed replays the same bytes.
      wallClockMs: () => FUZZ_WALL_CLOCK_MS,
      randomBytes: (size) => Buffer.from(randomBytes(rng, size)),
    });
  const sender = crypto(CLUSTER, testAuthkey());
  const receiver = crypto(CLUSTER, testAuthkey(), RECEIVER);
  const strangers = [crypto(CLUSTER, testAuthkey(99)), crypto('other-cluster', testAuthkey())];
  const validPool = Array.from({ length: VALID_POOL_SIZE }, () => sender.seal(randomFrame(rng)));
  const replayPool: Buffer[] = [];
  const report: FuzzReport = {
    datagrams,
    byKind: Object.fromEntries(FUZZ_KINDS.map((kind) => [kind, 0])) as Record<FuzzKind, number>,
    exceptions: [],
    cryptoAccepted: 0,
    cryptoRejected: receiver.stats().rejected,
    malformedBundles: 0,
    frames: 0,
    wireDecoded: 0,
    wireRejected: {},
  };
  const clusterId = clusterIdFromName(CLUSTER);
  for (let index = 0; index < datagrams; index++) {
    const kind = rng.pick(FUZZ_KINDS);
    report.byKind[kind]++;
    try {
      const { bytes, source } = hostileDatagram(kind);
      const opened = receiver.open(bytes, source, undefined, 0);
      if (!opened.ok) continue;
      if (replayPool.length < REPLAY_POOL_SIZE) replayPool.push(Buffer.from(bytes));
      else replayPool[rng.int(0, REPLAY_POOL_SIZE - 1)] = Buffer.from(bytes);
      const frames = splitBundle(opened.frame);
      if (frames === null) report.malformedBundles++;
      for (const frame of frames ?? []) {
        report.frames++;
        const decoded = decodePacket(frame, clusterId);
        if (decoded.ok) report.wireDecoded++;
        else report.wireRejected[decoded.reason] = (report.wireRejected[decoded.reason] ?? 0) + 1;
        sink?.(frame);
      }
    } catch (error) {
      report.exceptions.push(`${kind}: ${(error as Error).stack ?? String(error)}`);
    }
  }
  const stats = receiver.stats();
  report.cryptoAccepted = stats.opened;
  report.cryptoRejected = stats.rejected;
  return report;

  function hostileDatagram(kind: FuzzKind): { bytes: Uint8Array; source: string } {
    const valid = () => rng.pick(validPool);
    switch (kind) {
      case 'random':
        return { bytes: randomBytes(rng, rng.int(0, RANDOM_BYTES_MAX)), source: SENDER_ADDRESS };
      case 'truncated': {
        const packet = valid();
        return { bytes: packet.subarray(0, rng.int(0, packet.length - 1)), source: SENDER_ADDRESS };
      }
      case 'bitflip':
        return { bytes: flipBits(valid()), source: SENDER_ADDRESS };
      case 'wrong_key':
      case 'wrong_cluster':
        return { bytes: strangers[kind === 'wrong_key' ? 0 : 1]!.seal(randomFrame(rng)), source: SENDER_ADDRESS };
      case 'replayed':
        return { bytes: replayPool.length > 0 ? rng.pick(replayPool) : flipBits(valid()), source: SENDER_ADDRESS };
      case 'oversized':
        return { bytes: randomBytes(rng, DATAGRAM_BYTES_MAX + rng.int(1, 64)), source: SENDER_ADDRESS };
      case 'unlisted':
        return { bytes: sender.seal(randomFrame(rng)), source: UNLISTED_ADDRESS };
      case 'spoofed':
        return { bytes: sender.seal(randomFrame(rng)), source: SPOOFED_ADDRESS };
      case 'spliced': {
        const headIndex = rng.int(0, VALID_POOL_SIZE - 1);
        const head = validPool[headIndex]!;
        const tail = validPool[(headIndex + rng.int(1, VALID_POOL_SIZE - 1)) % VALID_POOL_SIZE]!;
        // Header (counter) of one packet, body of another: the pool's packets share everything before the counter.
        const cut = rng.int(ENCRYPTED_HEADER_BYTES, Math.min(head.length, tail.length) - 1);
        return { bytes: Buffer.concat([head.subarray(0, cut), tail.subarray(cut)]), source: SENDER_ADDRESS };
      }
      case 'fresh':
        return { bytes: sender.seal(rng.chance(0.3) ? randomBundle(rng) : randomFrame(rng)), source: SENDER_ADDRESS };
    }
  }

  function flipBits(packet: Buffer): Buffer {
    const copy = Buffer.from(packet);
    for (let flips = rng.int(1, FLIPPED_BITS_MAX); flips > 0; flips--)
      copy[rng.int(0, copy.length - 1)]! ^= 1 << rng.int(0, 7);
    if (copy.equals(packet)) copy[copy.length - 1]! ^= 1; // the flips cancelled out
    return copy;
  }
}

/** A transport core (node 2, peer 1 on links 0 and 1) and the sink that feeds it frames, ticking now and then. */
export function fuzzCore(): { core: Transport; sink: FrameSink; frames: () => number } {
  let now = 0;
  let frames = 0;
  const link = { priority: 1, pingIntervalMs: 20, pingTimeoutMs: 250, pongCount: 2, mtu: 1435 };
  const core = new Transport(
    {
      localNodeId: RECEIVER,
      clusterId: clusterIdFromName(CLUSTER),
      linkMode: 'active',
      links: [0, 1].map((number) => ({ ...link, link: number })),
      peers: [{ nodeId: SENDER, links: [0, 1] }],
      failbackHoldMs: 1000,
      maxMessageBytes: 1024 * 1024,
    },
    now,
  );
  const sink = (frame: Uint8Array) => {
    now += CORE_CLOCK_STEP_MS;
    core.step({ type: 'receive', link: frames % 2, bytes: frame }, now);
    if (++frames % CORE_TICK_EVERY_FRAMES === 0) core.step({ type: 'tick' }, now);
  };
  return { core, sink, frames: () => frames };
}

const sum = (counts: Record<string, number>) => Object.values(counts).reduce((total, count) => total + count, 0);

/** Broken invariants of a fuzz run fed into `fuzzCore` (empty when all hold): everything counted, nothing escaped. */
export function fuzzProblems(report: FuzzReport, core: Transport, coreFrames: number): string[] {
  const problems = report.exceptions.slice(0, REPORTED_EXCEPTIONS_MAX);
  const check = (ok: boolean, what: string) => {
    if (!ok) problems.push(what);
  };
  check(report.cryptoAccepted === report.byKind.fresh, 'only fresh valid datagrams pass crypto');
  check(sum(report.cryptoRejected) === report.datagrams - report.byKind.fresh, 'every hostile datagram is counted');
  for (const reason of [
    'too_short',
    'too_long',
    'unlisted_ip',
    'sender_mismatch',
    'replayed',
    'auth_failed',
  ] as const) {
    check(report.cryptoRejected[reason] > 0, `fuzz reached crypto reason ${reason}`);
  }
  check(report.malformedBundles > 0 && report.frames > report.cryptoAccepted, 'good and bad bundles were split');
  check(report.wireDecoded + sum(report.wireRejected) === report.frames, 'every frame decoded or rejected');
  check(sum(report.wireRejected) > 0 && report.wireDecoded > 0, 'the decoder saw good and bad frames');
  check(coreFrames === report.frames, 'the core received every frame');
  const coreRejected = core.counters().rejected;
  for (const reason of DECODER_REASONS) {
    check((coreRejected[reason] ?? 0) === (report.wireRejected[reason] ?? 0), `core counts decoder reason ${reason}`);
  }
  check((coreRejected.unknown_node ?? 0) + (coreRejected.link_mismatch ?? 0) > 0, 'core-level checks reached');
  return problems;
}
