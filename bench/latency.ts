/**
 * `npm run bench:latency`: bench:vs-corosync's self-delivery latency alone, on the same lab (3 hosts × 2 links,
 * netns, `sched_rr: yes` unless BENCH_SCHED_RR=no; root): node 1's client (the ring's representative's) multicasts
 * one message at a time and waits for its own delivery (bench/round-trips.ts). Per size (`BENCH_SIZES=64B,1KiB`,
 * the default, or `64KiB`), BENCH_ROUNDS rounds (default 2) of BENCH_COUNT measured round trips (default 2000) after
 * BENCH_WARMUP unmeasured ones (default 500: vs-corosync measures after its throughput runs, on warm daemons); the
 * sizes alternate round by round. With COROLINK_STAGE_TRACE=<prefix> the daemons and this process stamp each stage
 * (src/base/stage-trace.ts) and `<prefix>.meta.json` names which PID was which node:
 * `node --import tsx bench/stage-report.ts <prefix>` splits the round trips by stage.
 * `BENCH_TOTEM=key=value,…` adds totem {} keys (corolink). `BENCH_PRELOAD=1` first runs bench:vs-corosync's
 * throughput phases (corolink: 64 B, 1 KiB and 64 KiB from n1, then 3 senders × 1 KiB) and pauses as it does, so the
 * rounds meet the daemons' heap as vs-corosync's latency rows do. `BENCH_SAMPLES=<prefix>` keeps each round's round
 * trips (start time, duration) to match against other traces. `BENCH_ENGINE=corosync` measures Corosync 3 the same
 * way (cpgbench, as bench:vs-corosync), for a same-hour reference.
 * Prints one line per round (with each daemon's CPU and this process's main thread's CPU and run-queue wait per
 * round trip: corolink's client is this process, Corosync's is cpgbench; and the round's start and end, epoch ms),
 * then one JSON line.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { labUnavailableReason } from '../src/lab/command.ts';
import { NetnsLab, processCpuSeconds } from '../src/lab/netns-lab.ts';
import { CorosyncHosts } from './corosync-hosts.ts';
import { buildCpgbench, corolinkRoundTrips, corosyncRoundTrips, type RoundTrips } from './round-trips.ts';
import { benchSystemExtra, daemonPolicies, threadSchedulerTimes } from './sched.ts';
import {
  COROLINK_SEND_LIMIT_MS,
  corolinkMultiThroughput,
  corolinkThroughput,
  MULTI_SENDER_RUN,
  SINGLE_SENDER_RUNS,
} from './throughput.ts';
import { benchTotemExtra } from './totem-extra.ts';

const SIZES = [
  { label: '64B', bytes: 64 },
  { label: '1KiB', bytes: 1024 },
  { label: '64KiB', bytes: 64 * 1024 },
].filter((size) => (process.env.BENCH_SIZES ?? '64B,1KiB').split(',').includes(size.label));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const COUNT = Number(process.env.BENCH_COUNT ?? 2_000);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 500);
/** One round's time limit (2,000 round trips take ≈ 1.5 s at 700 µs). */
const ROUND_LIMIT_MS = 30_000;
/** Longest wait for Corosync's ring of 3 (BENCH_ENGINE=corosync). */
const COROSYNC_FORM_TIMEOUT_MS = 20_000;
const noFault = async () => undefined;
/** `BENCH_ENGINE=corosync`: the same measurement with Corosync 3 and ./cpgbench.c, as bench:vs-corosync does. */
const ENGINE = process.env.BENCH_ENGINE ?? 'corolink';
/** BENCH_PRELOAD=1: bench:vs-corosync's throughput runs before the rounds, then its pause (its SETTLE_MS). */
const PRELOAD = process.env.BENCH_PRELOAD === '1';
const PRELOAD_SETTLE_MS = 3_000;
/** BENCH_SAMPLES=<prefix>: each round's round trips as `<prefix>.<round>.<size>.json`, [start epoch ms, µs, µs to queued]. */
const SAMPLES_PREFIX = process.env.BENCH_SAMPLES;
if (ENGINE !== 'corolink' && ENGINE !== 'corosync') throw new Error(`BENCH_ENGINE must be corolink or corosync`);

const reason = labUnavailableReason();
if (reason) {
  console.error(`bench:latency: ${reason}`);
  process.exit(2);
}
const lab = await NetnsLab.up({
  dir: mkdtempSync(join(tmpdir(), 'corolink-latency-')),
  nodes: 3,
  links: 2,
  daemons: ENGINE === 'corolink',
  systemExtra: benchSystemExtra('yes'),
  totemExtra: benchTotemExtra(),
});
const corosync = ENGINE === 'corosync' ? new CorosyncHosts(lab, 'passive') : undefined;
const rows: (RoundTrips & { size: string; load: number })[] = [];
try {
  let roundTrips = (bytes: number) =>
    corolinkRoundTrips(lab, ROUND_LIMIT_MS, 0, noFault, { count: COUNT, warmup: WARMUP, bytes });
  if (corosync) {
    const cpgbench = await buildCpgbench(join(tmpdir(), 'corolink-bench-bin'));
    await Promise.all(lab.nodeids.map((n) => corosync.start(n)));
    await corosyncRing(corosync.logFile(1));
    roundTrips = (bytes) => corosyncRoundTrips(lab, cpgbench, 0, noFault, COUNT, { bytes, warmup: WARMUP });
  }
  const daemonPids = () => lab.nodeids.map((n) => (corosync ? corosync.pid(n) : lab.pid(n))!);
  const prefix = process.env.COROLINK_STAGE_TRACE;
  if (prefix)
    writeFileSync(
      `${prefix}.meta.json`,
      JSON.stringify({ client: process.pid, senderSocket: lab.socket(1), nodes: lab.nodeids.map((n) => lab.pid(n)) }),
    );
  console.log(`${ENGINE}: policy ${daemonPolicies(daemonPids())}`);
  if (PRELOAD && !corosync) {
    for (const { label, bytes, count } of SINGLE_SENDER_RUNS) {
      const t = await corolinkThroughput(lab, bytes, count, COROLINK_SEND_LIMIT_MS);
      console.log(`preload ${label}: ${Math.round(t.msgsPerS)} msgs/s`);
    }
    const { label, bytes, count } = MULTI_SENDER_RUN;
    const m = await corolinkMultiThroughput(lab, bytes, count, COROLINK_SEND_LIMIT_MS);
    console.log(`preload 3 senders × ${label}: ${Math.round(m.msgsPerS)} msgs/s`);
    await new Promise((r) => setTimeout(r, PRELOAD_SETTLE_MS));
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const size of SIZES) {
      const load = loadavg()[0]!;
      const startedAtMs = Date.now();
      const before = threadSchedulerTimes(process.pid, process.pid);
      const daemonsBefore = daemonPids().map(processCpuSeconds);
      const rtt = await roundTrips(size.bytes);
      const perRoundTripUs = (seconds: number) => Math.round((seconds * 1e6) / rtt.total);
      const after = threadSchedulerTimes(process.pid, process.pid);
      const daemonsUs = daemonPids().map((pid, i) => perRoundTripUs(processCpuSeconds(pid) - daemonsBefore[i]!));
      if (rtt.n < COUNT) throw new Error(`${size.label}: ${rtt.n} of ${COUNT} round trips in ${ROUND_LIMIT_MS} ms`);
      rows.push({ ...rtt, samples: undefined, size: size.label, load });
      if (SAMPLES_PREFIX)
        writeFileSync(`${SAMPLES_PREFIX}.${round + 1}.${size.label}.json`, JSON.stringify(rtt.samples));
      console.log(
        `round ${round + 1} ${size.label}: p50 ${Math.round(rtt.p50Us)} µs, p99 ${Math.round(rtt.p99Us)} µs, ` +
          `max ${Math.round(rtt.maxUs)} µs (${rtt.n} round trips, load ${load.toFixed(2)}); daemon CPU per round trip ` +
          `n1/n2/n3 ${daemonsUs.join('/')} µs; this process's main thread per ` +
          `round trip: on CPU ${perRoundTripUs(after.runSeconds - before.runSeconds)} µs, waiting for a CPU ` +
          `${perRoundTripUs(after.waitSeconds - before.waitSeconds)} µs; epoch ms ${startedAtMs}–${Date.now()}`,
      );
    }
  }
} finally {
  await corosync?.stopAll();
  await lab.down();
}
console.log(
  JSON.stringify(
    rows.map((r) => ({ size: r.size, p50Us: Math.round(r.p50Us), p99Us: Math.round(r.p99Us), n: r.n, load: r.load })),
  ),
);

/** Waits until Corosync's log at `log` shows the ring of 3 (bounded). */
async function corosyncRing(log: string): Promise<void> {
  const deadline = Date.now() + COROSYNC_FORM_TIMEOUT_MS;
  while (!(existsSync(log) && readFileSync(log, 'utf8').includes('Members[3]'))) {
    if (Date.now() > deadline) throw new Error(`Corosync formed no ring of 3 in ${COROSYNC_FORM_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
