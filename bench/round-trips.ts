/**
 * Agreed round trips (multicast one message, 64 B unless told, wait for its own delivery) on both engines, with a
 * fault injected `faultAfterMs` into the run: the longest round trip is the delivery stall the fault caused, the
 * percentiles are the self-delivery latency (with a no-op fault: on an idle ring). Corosync: ./cpgbench.c (a copy
 * of ../shared/anchors/corosync/cpgbench.c; `-m lat`, libcpg) in the hosts' namespaces; corolink: the client
 * library over the admin sockets. Every wait is bounded.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { STAGE_TRACE_ON, stamp } from '../src/base/stage-trace.ts';
import { CorolinkClient } from '../src/client/client.ts';
import type { NetnsLab } from '../src/lab/netns-lab.ts';
import { wholeGroup } from './cpg-send.ts';

/** Round-trip statistics in microseconds. */
export interface RoundTrips {
  /** Round trips in the statistics. */
  n: number;
  /** Round trips made, warm-up included (what the traffic of the run carried). */
  total: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
  /** corolink only: epoch ms at which the longest round trip started, and at which the fault was injected. */
  maxStartedAtMs?: number;
  faultAtMs?: number;
  /** corolink only: every measured round trip as [epoch ms it started, µs it took, µs until the daemon queued it]. */
  samples?: [number, number, number][];
}

/** The libcpg benchmark program: the Corosync anchors' one with a per-sender summary (its header says what). */
const SOURCE = resolve(dirname(fileURLToPath(import.meta.url)), 'cpgbench.c');
/** Round-trip message size unless told. */
const MESSAGE_BYTES = 64;
/** Corosync round trips per fault run (≈ 5 s at its ≈ 250 µs round trip, plus the stall). */
const COROSYNC_ROUND_TRIPS = 20_000;
/** Warm-up round trips cpgbench makes before it measures (`-W`). */
export const WARMUP = 100;
/** cpgbench's own time limit (`-T`); the process is killed LIMIT_GRACE_S after it. */
const PROCESS_LIMIT_S = 120;
const LIMIT_GRACE_S = 10;
/** Longest corolink round trip before the run is given up. */
const ROUND_TRIP_TIMEOUT_MS = 30_000;

/** Compiles ./cpgbench.c into `dir` (once per version of the source) and returns the binary. */
export async function buildCpgbench(dir: string): Promise<string> {
  const version = createHash('sha256').update(readFileSync(SOURCE)).digest('hex').slice(0, 12);
  const binary = join(dir, `cpgbench-${version}`);
  if (!existsSync(binary)) {
    mkdirSync(dir, { recursive: true });
    await promisify(execFile)('gcc', ['-O2', '-o', binary, SOURCE, '-lcpg'], { timeout: 60_000 });
  }
  return binary;
}

/** One sender's messages as a cpgbench process saw them delivered. */
export interface CpgbenchSender {
  nodeid: number;
  delivered: number;
  /** From the earliest sender's start to this sender's last message delivered here. */
  last_from_send_start_s: number;
}

/** cpgbench's JSON line (the fields read here; the rest as printed). */
export type CpgbenchResult = Record<string, number | string | boolean | CpgbenchSender[]> & {
  per_sender?: CpgbenchSender[];
};

/** What one cpgbench process printed, with its exit code (5: incomplete, its -T limit was reached). */
export interface CpgbenchRun {
  nodeid: number;
  code: number | null;
  /** Its JSON line, or undefined when it printed none (killed, or failed before the end). */
  result: CpgbenchResult | undefined;
}

/**
 * Runs cpgbench with `args` in host `nodeid`'s namespace, in CPG group `group`, with its own time limit
 * `limitS` (`-T`); SIGKILLed `LIMIT_GRACE_S` after that. Never rejects after the spawn.
 */
export function runCpgbench(
  lab: NetnsLab,
  cpgbench: string,
  nodeid: number,
  group: string,
  args: string[],
  limitS = PROCESS_LIMIT_S,
): Promise<CpgbenchRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      'ip',
      ['netns', 'exec', lab.namespace(nodeid), cpgbench, ...args, '-g', group, '-T', String(limitS)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk) => {
      err += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), (limitS + LIMIT_GRACE_S) * 1000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').at(-1) ?? '';
      let result: CpgbenchRun['result'];
      try {
        result = line.startsWith('{') ? JSON.parse(line) : undefined;
      } catch {
        result = undefined;
      }
      if (code !== 0) console.error(`cpgbench ${args.join(' ')} on n${nodeid} exited ${code}: ${err.trim()}`);
      resolvePromise({ nodeid, code, result });
    });
  });
}

function percentiles(rtts: number[], total: number): RoundTrips {
  const sorted = [...rtts].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
  return { n: sorted.length, total, p50Us: at(0.5), p99Us: at(0.99), maxUs: sorted.at(-1)! };
}

/**
 * Corosync: n1 runs `count` round trips (after WARMUP), n2 and n3 are group members; `fault` runs `faultAfterMs`
 * into the run.
 */
export async function corosyncRoundTrips(
  lab: NetnsLab,
  cpgbench: string,
  faultAfterMs: number,
  fault: () => Promise<unknown>,
  count = COROSYNC_ROUND_TRIPS,
  { bytes = MESSAGE_BYTES, warmup = WARMUP }: { bytes?: number; warmup?: number } = {},
): Promise<RoundTrips> {
  const group = `rt${process.pid}${Date.now() % 100000}`;
  const receivers = [2, 3].map((n) => runCpgbench(lab, cpgbench, n, group, ['-m', 'recv', '-S', '1']));
  await new Promise((r) => setTimeout(r, 500));
  const sender = runCpgbench(lab, cpgbench, 1, group, [
    '-m',
    'lat',
    '-s',
    String(bytes),
    '-n',
    String(count),
    '-W',
    String(warmup),
    '-w',
    '3',
  ]);
  await new Promise((r) => setTimeout(r, faultAfterMs));
  await fault();
  const [run, ...others] = await Promise.all([sender, ...receivers]);
  const result = run!.result;
  if (run!.code !== 0 || !result || typeof result.rtt_n !== 'number')
    throw new Error(`cpgbench -m lat on n1 failed (exit ${run!.code})`);
  for (const other of others) if (other.code !== 0) throw new Error(`cpgbench -m recv on n${other.nodeid} failed`);
  return {
    n: result.rtt_n,
    total: result.rtt_n + warmup,
    p50Us: Number(result.rtt_us_p50),
    p99Us: Number(result.rtt_us_p99),
    maxUs: Number(result.rtt_us_max),
  };
}

/**
 * corolink: the same through the client library, for `durationMs` (or until `count` measured round trips, after
 * `warmup` unmeasured ones), with messages of `bytes` bytes.
 */
export async function corolinkRoundTrips(
  lab: NetnsLab,
  durationMs: number,
  faultAfterMs: number,
  fault: () => Promise<unknown>,
  {
    count = Number.POSITIVE_INFINITY,
    warmup = 0,
    bytes = MESSAGE_BYTES,
  }: { count?: number; warmup?: number; bytes?: number } = {},
): Promise<RoundTrips> {
  const clients = await Promise.all(
    [1, 2, 3].map((n) => CorolinkClient.connect({ socket: lab.socket(n), reconnect: false })),
  );
  try {
    // One name for the three: a name made per client could differ by the millisecond between the joins.
    const name = `round-trips-${Date.now() % 100000}`;
    const groups = await Promise.all(clients.map((c) => c.cpgJoin(name)));
    const sender = groups[0]!;
    await wholeGroup(sender, clients.length, 'corolink round trips');
    let waiting: { seq: string; done: () => void } | undefined;
    sender.on('message', (m) => {
      if (waiting && m.nodeid === 1 && Buffer.from(m.data).subarray(0, waiting.seq.length).toString() === waiting.seq) {
        if (STAGE_TRACE_ON) stamp('client.read');
        waiting.done();
      }
    });
    let faultAtMs: number | undefined;
    const faulted = new Promise((r) => setTimeout(r, faultAfterMs)).then(() => {
      faultAtMs = Date.now();
      return fault();
    });
    const rtts: number[] = [];
    const samples: [number, number, number][] = [];
    let maxUs = -1;
    let maxStartedAtMs: number | undefined;
    const end = performance.now() + durationMs;
    let seq = 0;
    for (; performance.now() < end && rtts.length < count; seq++) {
      const text = `${seq}:`.padEnd(bytes, '.');
      const started = performance.now();
      const startedAtMs = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const delivered = new Promise<void>((done, fail) => {
        waiting = { seq: `${seq}:`, done };
        timer = setTimeout(
          () => fail(new Error(`corolink round trip ${seq} not delivered in ${ROUND_TRIP_TIMEOUT_MS} ms`)),
          ROUND_TRIP_TIMEOUT_MS,
        );
      });
      let queuedUs = Number.NaN;
      try {
        if (STAGE_TRACE_ON) stamp(`client.write ${seq < warmup ? 'warmup' : bytes}`);
        await sender.send(text);
        queuedUs = (performance.now() - started) * 1000;
        await delivered;
      } finally {
        clearTimeout(timer);
      }
      const rttUs = (performance.now() - started) * 1000;
      if (seq < warmup) continue;
      rtts.push(rttUs);
      samples.push([startedAtMs, rttUs, queuedUs]);
      if (rttUs > maxUs) {
        maxUs = rttUs;
        maxStartedAtMs = startedAtMs;
      }
    }
    await faulted;
    return { ...percentiles(rtts, seq), maxStartedAtMs, faultAtMs, samples };
  } finally {
    for (const client of clients) client.close();
  }
}
