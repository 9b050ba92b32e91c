/**
 * Agreed round trips (multicast one 64-byte message, wait for its own delivery) on both engines, with a fault
 * injected `faultAfterMs` into the run: the longest round trip is the delivery stall the fault caused, the
 * percentiles are the self-delivery latency. Corosync: ../shared/anchors/corosync/cpgbench.c (`-m lat`, libcpg) in the hosts'
 * namespaces; corolink: the client library over the admin sockets.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CorolinkClient } from '../src/client/client.ts';
import type { NetnsLab } from '../src/lab/netns-lab.ts';

/** Round-trip statistics in microseconds. */
export interface RoundTrips {
  n: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
}

/** The libcpg benchmark program provided with the Corosync anchors (../shared beside the checkout). */
const SOURCE = resolve(dirname(fileURLToPath(import.meta.url)), '../../shared/anchors/corosync/cpgbench.c');
const MESSAGE_BYTES = 64;
/** Corosync round trips per run (≈ 5 s at its ≈ 250 µs round trip, plus the stall). */
const COROSYNC_ROUND_TRIPS = 20_000;
const PROCESS_LIMIT_S = 120;

/** Compiles the anchors' cpgbench.c into `dir` (once) and returns the binary. */
export async function buildCpgbench(dir: string): Promise<string> {
  const binary = join(dir, 'cpgbench');
  if (!existsSync(binary)) {
    mkdirSync(dir, { recursive: true });
    await promisify(execFile)('gcc', ['-O2', '-o', binary, SOURCE, '-lcpg'], { timeout: 60_000 });
  }
  return binary;
}

function percentiles(rtts: number[]): RoundTrips {
  const sorted = [...rtts].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
  return { n: sorted.length, p50Us: at(0.5), p99Us: at(0.99), maxUs: sorted.at(-1)! };
}

/** Corosync: n1 runs round trips, n2 and n3 are group members; `fault` runs `faultAfterMs` into the run. */
export async function corosyncRoundTrips(
  lab: NetnsLab,
  cpgbench: string,
  faultAfterMs: number,
  fault: () => Promise<unknown>,
): Promise<RoundTrips> {
  const group = `rt${process.pid}${Date.now() % 100000}`;
  const run = (nodeid: number, args: string[]) =>
    new Promise<string>((resolvePromise, reject) => {
      const child = spawn('ip', [
        'netns',
        'exec',
        lab.namespace(nodeid),
        cpgbench,
        ...args,
        '-g',
        group,
        '-T',
        String(PROCESS_LIMIT_S),
      ]);
      let out = '';
      child.stdout.on('data', (chunk) => {
        out += chunk;
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), (PROCESS_LIMIT_S + 10) * 1000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        if (code === 0) resolvePromise(out);
        else reject(new Error(`cpgbench on n${nodeid} exited ${code}`));
      });
    });
  const receivers = [2, 3].map((n) => run(n, ['-m', 'recv', '-S', '1']));
  await new Promise((r) => setTimeout(r, 500));
  const sender = run(1, [
    '-m',
    'lat',
    '-s',
    String(MESSAGE_BYTES),
    '-n',
    String(COROSYNC_ROUND_TRIPS),
    '-W',
    '100',
    '-w',
    '3',
  ]);
  await new Promise((r) => setTimeout(r, faultAfterMs));
  await fault();
  const result = JSON.parse((await sender).trim().split('\n').at(-1)!) as Record<string, number>;
  await Promise.all(receivers);
  return { n: result.rtt_n!, p50Us: result.rtt_us_p50!, p99Us: result.rtt_us_p99!, maxUs: result.rtt_us_max! };
}

/** corolink: the same through the client library, for `durationMs`. */
export async function corolinkRoundTrips(
  lab: NetnsLab,
  durationMs: number,
  faultAfterMs: number,
  fault: () => Promise<unknown>,
): Promise<RoundTrips> {
  const clients = await Promise.all(
    [1, 2, 3].map((n) => CorolinkClient.connect({ socket: lab.socket(n), reconnect: false })),
  );
  try {
    const groups = await Promise.all(clients.map((c) => c.cpgJoin('round-trips')));
    const sender = groups[0]!;
    let waiting: { seq: string; done: () => void } | undefined;
    sender.on('message', (m) => {
      if (waiting && m.nodeid === 1 && Buffer.from(m.data).subarray(0, waiting.seq.length).toString() === waiting.seq)
        waiting.done();
    });
    const faulted = new Promise((r) => setTimeout(r, faultAfterMs)).then(fault);
    const rtts: number[] = [];
    const end = performance.now() + durationMs;
    for (let seq = 0; performance.now() < end; seq++) {
      const text = `${seq}:`.padEnd(MESSAGE_BYTES, '.');
      const started = performance.now();
      const delivered = new Promise<void>((done) => {
        waiting = { seq: `${seq}:`, done };
      });
      await sender.send(text);
      await delivered;
      rtts.push((performance.now() - started) * 1000);
    }
    await faulted;
    return percentiles(rtts);
  } finally {
    for (const client of clients) client.close();
  }
}
