/**
 * `npm run bench:vs-corosync`: the same netns lab topology (3 hosts × 2 links, src/lab) run with real Corosync 3
 * (Debian's package) and with corolink, both at their default timings, rounds interleaved. Measured from log
 * timestamps of node 1 (both engines log the same lines): link-down detection after a pulled cable, crash →
 * new membership, partition heal → merged membership; the longest agreed round trip (the delivery stall) while
 * link0 of node 3 is pulled, with the round-trip p50/p99; and resident memory per daemon when idle. Prints a table
 * (median, min–max of BENCH_RUNS rounds, default 5) and, as the last line, one JSON object.
 * Needs root, iproute2 and `apt-get install corosync libcpg-dev` (gcc builds ../shared/anchors/corosync/cpgbench.c).
 */
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labUnavailableReason } from '../src/lab/command.ts';
import { NetnsLab } from '../src/lab/netns-lab.ts';
import { CorosyncHosts } from './corosync-hosts.ts';
import { buildCpgbench, corolinkRoundTrips, corosyncRoundTrips, type RoundTrips } from './round-trips.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
/** Round-trip runs: the cable is pulled this far in; corolink's run lasts ROUND_TRIP_MS. */
const FAULT_AFTER_MS = 2_000;
const ROUND_TRIP_MS = 8_000;
const EVENT_TIMEOUT_MS = 30_000;
const SETTLE_MS = 3_000;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One engine on a lab: start/crash daemons, where each logs, which PID it has. */
interface Engine {
  name: string;
  lab: NetnsLab;
  logFile(nodeid: number): string;
  start(nodeid: number): Promise<void>;
  crash(nodeid: number): Promise<void>;
  pid(nodeid: number): number | undefined;
  /** Agreed round trips from n1 with `fault` injected FAULT_AFTER_MS into the run. */
  roundTrips(fault: () => Promise<unknown>): Promise<RoundTrips>;
  stop(): Promise<void>;
}

async function corolinkEngine(): Promise<Engine> {
  const lab = await NetnsLab.up({ dir: mkdtempSync(join(tmpdir(), 'corolink-bench-')), nodes: 3, links: 2 });
  return {
    name: 'corolink',
    lab,
    logFile: (n) => lab.logFile(n),
    start: (n) => lab.start(n),
    crash: (n) => lab.crash(n),
    pid: (n) => lab.pid(n),
    roundTrips: (fault) => corolinkRoundTrips(lab, ROUND_TRIP_MS, FAULT_AFTER_MS, fault),
    stop: () => lab.down(),
  };
}

async function corosyncEngine(cpgbench: string): Promise<Engine> {
  const lab = await NetnsLab.up({
    dir: mkdtempSync(join(tmpdir(), 'corolink-bench-')),
    nodes: 3,
    links: 2,
    daemons: false,
  });
  const hosts = new CorosyncHosts(lab);
  try {
    for (const n of lab.nodeids) await hosts.start(n);
  } catch (error) {
    await hosts.stopAll();
    await lab.down();
    throw error;
  }
  return {
    name: 'corosync',
    lab,
    logFile: (n) => hosts.logFile(n),
    start: (n) => hosts.start(n),
    crash: (n) => hosts.stop(n, 'SIGKILL'),
    pid: (n) => hosts.pid(n),
    roundTrips: (fault) => corosyncRoundTrips(lab, cpgbench, FAULT_AFTER_MS, fault),
    stop: async () => {
      await hosts.stopAll();
      await lab.down();
    },
  };
}

/** Epoch ms of a log line's "Nov 24 23:28:32.723" timestamp (the machine runs in UTC). */
function lineTime(line: string): number | undefined {
  const m = /^(\w{3}) +(\d+) (\d\d):(\d\d):(\d\d)\.(\d{3})/.exec(line);
  if (!m) return undefined;
  const year = new Date().getUTCFullYear();
  return Date.UTC(year, MONTHS.indexOf(m[1]!), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

const size = (path: string) => (existsSync(path) ? statSync(path).size : 0);

/** Waits for the first line matching `pattern` written to `path` after byte `from`; resolves with its time. */
async function lineAfter(path: string, from: number, pattern: RegExp): Promise<number> {
  const deadline = Date.now() + EVENT_TIMEOUT_MS;
  for (;;) {
    const text = existsSync(path) ? readFileSync(path).subarray(from).toString() : '';
    for (const line of text.split('\n')) {
      const at = pattern.test(line) ? lineTime(line) : undefined;
      if (at !== undefined) return at;
    }
    if (Date.now() > deadline) throw new Error(`no line matching ${pattern} in ${path} within ${EVENT_TIMEOUT_MS} ms`);
    await pause(20);
  }
}

/** Seconds from the fault to the first matching line on node 1. */
async function timeTo(engine: Engine, pattern: RegExp, fault: () => Promise<unknown>): Promise<number> {
  const from = size(engine.logFile(1));
  const t0 = Date.now();
  await fault();
  return ((await lineAfter(engine.logFile(1), from, pattern)) - t0) / 1000;
}

function rssMiB(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
}

type Sample = Record<string, number>;

async function round(make: () => Promise<Engine>): Promise<Sample> {
  const engine = await make();
  try {
    const { lab } = engine;
    await lineAfter(engine.logFile(1), 0, /Members\[3\]/);
    await pause(SETTLE_MS);
    const rss = lab.nodeids.map((n) => rssMiB(engine.pid(n)));
    const linkDownS = await timeTo(engine, /link: host: 3 link: 0 is down/, () => lab.cut(3, 0));
    await timeTo(engine, /host: 3 link: 0 is up/, () => lab.restore(3, 0));
    await pause(SETTLE_MS);
    const rtt = await engine.roundTrips(() => lab.cut(3, 0));
    await timeTo(engine, /host: 3 link: 0 is up/, () => lab.restore(3, 0));
    await pause(SETTLE_MS);
    const crashS = await timeTo(engine, /A new membership/, () => engine.crash(3));
    await timeTo(engine, /Members\[3\]/, () => engine.start(3));
    await pause(SETTLE_MS);
    await timeTo(engine, /Members\[2\]/, () => lab.partition([[1, 2], [3]]));
    await pause(SETTLE_MS);
    const healS = await timeTo(engine, /Members\[3\]/, () => lab.heal());
    return {
      linkDownS,
      cutStallS: rtt.maxUs / 1e6,
      rttP50Us: rtt.p50Us,
      rttP99Us: rtt.p99Us,
      crashS,
      healS,
      rssIdleMiB: rss.reduce((a, b) => a + b, 0) / rss.length,
    };
  } finally {
    await engine.stop();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const reason = labUnavailableReason();
if (reason) {
  console.error(`bench:vs-corosync: ${reason}`);
  process.exit(2);
}
if (!existsSync('/usr/sbin/corosync')) {
  console.error('bench:vs-corosync: corosync is not installed (apt-get install corosync)');
  process.exit(2);
}

const cpgbench = await buildCpgbench(join(tmpdir(), 'corolink-bench-bin'));
const samples: Record<string, Sample[]> = { corosync: [], corolink: [] };
for (let run = 0; run < RUNS; run++) {
  for (const [name, make] of [
    ['corosync', () => corosyncEngine(cpgbench)],
    ['corolink', corolinkEngine],
  ] as const) {
    const sample = await round(make);
    samples[name]!.push(sample);
    console.error(`run ${run + 1}/${RUNS} ${name}: ${JSON.stringify(sample)}`);
  }
}

const metrics = ['linkDownS', 'cutStallS', 'rttP50Us', 'rttP99Us', 'crashS', 'healS', 'rssIdleMiB'];
const summary: Record<string, Record<string, number>> = {};
console.log(`| metric | corosync 3.1.7 median (min–max) | corolink median (min–max) |  (${RUNS} interleaved runs)`);
console.log('|---|---|---|');
for (const metric of metrics) {
  const cells = (['corosync', 'corolink'] as const).map((name) => {
    const values = samples[name]!.map((s) => s[metric]!);
    summary[name] = { ...summary[name], [metric]: Number(median(values).toFixed(3)) };
    const digits = metric.endsWith('Us') ? 0 : 2;
    return `${median(values).toFixed(digits)} (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)})`;
  });
  console.log(`| ${metric} | ${cells.join(' | ')} |`);
}
console.log(JSON.stringify({ runs: RUNS, date: new Date().toISOString(), ...summary }));
