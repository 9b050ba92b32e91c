/**
 * `npm run bench:vs-corosync`: the same netns lab topology (3 hosts × 2 links, src/lab) run with real Corosync 3
 * (Debian's package) and with corolink, both at their default timings and link mode (passive), plus Corosync in
 * active link mode (every packet on every link) as a second reference for the cable cut; rounds interleaved, the
 * engine order rotating from run to run. Measured:
 * - from log timestamps of node 1 (both engines log the same lines): cold start (3 daemons started at once →
 *   Members[3] and quorate), link-down detection after a pulled cable, crash → new membership, restart of the
 *   crashed daemon → rejoined (Members[3]), partition heal → merged membership;
 * - the longest agreed round trip (the delivery stall) while link0 of node 3 is pulled, with the round-trip
 *   p50/p99 and the bytes every host sent on each link during that run (veth tx counters);
 * - agreed throughput, one sender on node 1, received per node, for 64 B, 1 KiB and 64 KiB, and with a sender on
 *   every node, 1 KiB: each sender's rate, the total and the fastest/slowest sender ratio (bench/throughput.ts);
 *   then the 1 KiB single-sender run once more, once corolink's daemons have compiled their data path;
 * - resident memory per daemon when idle and right after the throughput runs;
 * - idle cost: CPU seconds per daemon over 30 s of a quiet cluster (bench/idle-cpu.ts; also `npm run bench:idle`);
 * - self-delivery latency on an idle ring once the daemons are warm (after the throughput runs): p50/p99 of 2000
 *   round trips of 64 B and of 1 KiB (500 of 64 KiB) after unmeasured ones, as Corosync's anchor figures.
 * Prints a table (median, min–max of BENCH_RUNS rounds, default 5, and the ratio corolink/corosync) and, as the
 * last line, one JSON object with every figure and ratio. Every wait is bounded; a measurement that fails is
 * reported (in the table's footer and the JSON's `failures`) and the round goes on without it.
 * corolink runs `system.sched_rr: yes` (SCHED_RR at priority 99), as Corosync does by default (`BENCH_SCHED_RR=no`:
 * the normal scheduler). Needs root, iproute2 and `apt-get install corosync libcpg-dev` (gcc builds ./cpgbench.c).
 */
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ipIn, labUnavailableReason } from '../src/lab/command.ts';
import { names } from '../src/lab/lab-state.ts';
import { NetnsLab } from '../src/lab/netns-lab.ts';
import { CorosyncHosts } from './corosync-hosts.ts';
import { idleCpu } from './idle-cpu.ts';
import { buildCpgbench, corolinkRoundTrips, corosyncRoundTrips, type RoundTrips, WARMUP } from './round-trips.ts';
import { benchSystemExtra } from './sched.ts';
import { median } from './stats.ts';
import {
  COROLINK_SEND_LIMIT_MS,
  corolinkMultiThroughput,
  corolinkThroughput,
  corosyncMultiThroughput,
  corosyncThroughput,
  MULTI_SENDER_RUN as MULTI,
  type MultiThroughput,
  SINGLE_SENDER_RUNS as SIZES,
  type Throughput,
} from './throughput.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
/** Round-trip runs: the cable is pulled this far in; corolink's run lasts ROUND_TRIP_MS. */
const FAULT_AFTER_MS = 2_000;
const ROUND_TRIP_MS = 8_000;
/** Idle-ring latency: measured round trips after warm-up ones (as the anchors: 2000, cpgbench's default 100). */
const LATENCIES = [
  { key: 'lat', label: '64 B', bytes: 64, count: 2_000, warmup: 100 },
  { key: 'lat1k', label: '1 KiB', bytes: 1024, count: 2_000, warmup: 100 },
  { key: 'lat64k', label: '64 KiB', bytes: 64 * 1024, count: 500, warmup: 50 },
] as const;
const LATENCY_LIMIT_MS = 30_000;
/** The single-sender run repeated after the throughput runs (its row beside the first run's). */
const AGAIN = SIZES.find((s) => s.key === '1k')!;
const COROSYNC_THROUGHPUT_LIMIT_S = 20;
const EVENT_TIMEOUT_MS = 30_000;
const SETTLE_MS = 3_000;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

type EngineName = 'corosync' | 'corosync-active' | 'corolink';
const ENGINES: EngineName[] = ['corosync', 'corosync-active', 'corolink'];

/** One engine on a lab: start/crash daemons, where each logs, which PID it has, the client-side benchmarks. */
interface Engine {
  name: EngineName;
  lab: NetnsLab;
  logFile(nodeid: number): string;
  start(nodeid: number): Promise<void>;
  crash(nodeid: number): Promise<void>;
  pid(nodeid: number): number | undefined;
  /** Agreed round trips from n1 with `fault` injected FAULT_AFTER_MS into the run. */
  roundTrips(fault: () => Promise<unknown>): Promise<RoundTrips>;
  /** Self-delivery latency on an idle ring: `count` round trips of `bytes` bytes after `warmup` ones. */
  latency(bytes: number, count: number, warmup: number): Promise<RoundTrips>;
  /** Agreed throughput of `count` messages of `bytes` bytes from n1. */
  throughput(bytes: number, count: number): Promise<Throughput>;
  /** Agreed throughput of `count` messages of `bytes` bytes from every node at once. */
  multiThroughput(bytes: number, count: number): Promise<MultiThroughput>;
  stop(): Promise<void>;
}

const noFault = async () => undefined;

/** An engine on a fresh lab, its daemons not started (the round times their cold start). */
async function corolinkEngine(): Promise<Engine> {
  const lab = await NetnsLab.up({
    dir: mkdtempSync(join(tmpdir(), 'corolink-bench-')),
    nodes: 3,
    links: 2,
    daemons: false,
    systemExtra: benchSystemExtra('yes'),
  });
  return {
    name: 'corolink',
    lab,
    logFile: (n) => lab.logFile(n),
    start: (n) => lab.start(n),
    crash: (n) => lab.crash(n),
    pid: (n) => lab.pid(n),
    // The same warm-up as cpgbench's (-W 100): the first round trips of a fresh client include the JIT's work.
    roundTrips: (fault) => corolinkRoundTrips(lab, ROUND_TRIP_MS, FAULT_AFTER_MS, fault, { warmup: WARMUP }),
    latency: (bytes, count, warmup) => corolinkRoundTrips(lab, LATENCY_LIMIT_MS, 0, noFault, { count, warmup, bytes }),
    throughput: (bytes, count) => corolinkThroughput(lab, bytes, count, COROLINK_SEND_LIMIT_MS),
    multiThroughput: (bytes, count) => corolinkMultiThroughput(lab, bytes, count, COROLINK_SEND_LIMIT_MS),
    stop: () => lab.down(),
  };
}

async function corosyncEngine(cpgbench: string, mode: 'passive' | 'active'): Promise<Engine> {
  const lab = await NetnsLab.up({
    dir: mkdtempSync(join(tmpdir(), 'corolink-bench-')),
    nodes: 3,
    links: 2,
    daemons: false,
  });
  const hosts = new CorosyncHosts(lab, mode);
  return {
    name: mode === 'active' ? 'corosync-active' : 'corosync',
    lab,
    logFile: (n) => hosts.logFile(n),
    start: (n) => hosts.start(n),
    crash: (n) => hosts.stop(n, 'SIGKILL'),
    pid: (n) => hosts.pid(n),
    roundTrips: (fault) => corosyncRoundTrips(lab, cpgbench, FAULT_AFTER_MS, fault),
    latency: (bytes, count, warmup) => corosyncRoundTrips(lab, cpgbench, 0, noFault, count, { bytes, warmup }),
    throughput: (bytes, count) => corosyncThroughput(lab, cpgbench, bytes, count, COROSYNC_THROUGHPUT_LIMIT_S),
    multiThroughput: (bytes, count) =>
      corosyncMultiThroughput(lab, cpgbench, bytes, count, COROSYNC_THROUGHPUT_LIMIT_S),
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

/** Mean resident memory of the engine's daemons, MiB. */
function meanRssMiB(engine: Engine): number {
  const rss = engine.lab.nodeids.map((n) => rssMiB(engine.pid(n)));
  return rss.reduce((a, b) => a + b, 0) / rss.length;
}

/** Bytes every host has sent so far on each link (tx counter of the host end of its cable), summed over hosts. */
async function txBytesPerLink(lab: NetnsLab): Promise<number[]> {
  const perLink: number[] = [];
  for (let l = 0; l < lab.links; l++) {
    let sum = 0;
    for (const n of lab.nodeids) {
      const [dev] = JSON.parse(await ipIn(lab.namespace(n), '-s', '-j', 'link', 'show', 'dev', names.hostPort(l))) as {
        stats64: { tx: { bytes: number } };
      }[];
      sum += dev!.stats64.tx.bytes;
    }
    perLink.push(sum);
  }
  return perLink;
}

type Sample = Record<string, number>;

/** Agreed round trips while n3's link0 is pulled FAULT_AFTER_MS in, with the bytes sent per link meanwhile. */
async function cutStall(engine: Engine): Promise<Sample> {
  const { lab } = engine;
  const before = await txBytesPerLink(lab);
  // Armed beforehand: spawning `ip` at the pull would block this process — corolink's round-trip client — for
  // milliseconds on a busy machine (cpgbench runs in its own process and never paid that).
  const pull = lab.armCut(3, 0);
  const rtt = await engine.roundTrips(() => pull.fire()).finally(() => pull.disarm());
  const after = await txBytesPerLink(lab);
  const sent = after.map((b, l) => b - before[l]!);
  return {
    cutStallS: rtt.maxUs / 1e6,
    rttP50Us: rtt.p50Us,
    rttP99Us: rtt.p99Us,
    cutTxLink0MB: sent[0]! / 1e6,
    cutTxLink1MB: sent[1]! / 1e6,
    cutTxPerRtB: sent.reduce((a, b) => a + b, 0) / rtt.total,
  };
}

/** Reports a measurement that failed (the round goes on without it). */
type Fail = (what: string, error: unknown) => void;

/** Runs one measurement; a failure is reported through `fail` and leaves `undefined`. */
async function attempt<T>(what: string, fail: Fail, measure: () => Promise<T>): Promise<T | undefined> {
  try {
    return await measure();
  } catch (error) {
    fail(what, error);
    return undefined;
  }
}

/** Cold start: the 3 daemons started at once → n1 logs Members[3] and its quorum (both, the later one), seconds. */
async function coldStart(engine: Engine): Promise<number> {
  const log = engine.logFile(1);
  const from = size(log);
  const t0 = Date.now();
  await Promise.all(engine.lab.nodeids.map((n) => engine.start(n)));
  const members = await lineAfter(log, from, /Members\[3\]/);
  const quorate = await lineAfter(log, from, /within the primary component/);
  return (Math.max(members, quorate) - t0) / 1000;
}

/** Throughput, 1 sender per size, then a sender on every node; RSS right after; memberships the load caused. */
async function throughputs(engine: Engine, fail: Fail): Promise<Sample> {
  const tput: Sample = {};
  const logFrom = size(engine.logFile(1));
  for (const s of SIZES) {
    const t = await attempt(`throughput ${s.label}`, fail, () => engine.throughput(s.bytes, s.count));
    if (!t) continue;
    tput[`tput${s.key}MsgsPerS`] = t.msgsPerS;
    tput[`tput${s.key}MBPerS`] = t.mbPerS;
    console.error(
      `  ${engine.name} ${s.label}: ${Math.round(t.msgsPerS)} msgs/s, sent ${t.sent}, delivered ${t.delivered}`,
    );
  }
  const m = await attempt(`throughput 3 senders × ${MULTI.label}`, fail, () =>
    engine.multiThroughput(MULTI.bytes, MULTI.count),
  );
  if (m) {
    tput[`tput${MULTI.key}MsgsPerS`] = m.msgsPerS;
    tput[`tput${MULTI.key}MBPerS`] = m.mbPerS;
    for (const [i, rate] of m.perSenderMsgsPerS.entries()) tput[`tput${MULTI.key}N${i + 1}MsgsPerS`] = rate;
    tput[`tput${MULTI.key}Fairness`] = m.fairness;
    console.error(
      `  ${engine.name} 3 senders × ${MULTI.label}: ${Math.round(m.msgsPerS)} msgs/s, per sender ` +
        `${m.perSenderMsgsPerS.map(Math.round)}, sent ${m.sent}, delivered ${m.delivered}`,
    );
  }
  tput.rssLoadedMiB = meanRssMiB(engine);
  // Membership changes the load caused (token lost while a daemon was starved): they cut into the throughput.
  tput.tputNewMemberships = readFileSync(engine.logFile(1))
    .subarray(logFrom)
    .toString()
    .split('\n')
    .filter((line) => /A new membership/.test(line)).length;
  // The 1 KiB run once more, after all the others: its first run comes in corolink's daemons' first seconds of traffic,
  // when V8 is still compiling the data path (docs/benchmarks.md "the first seconds of traffic: V8 compiling");
  // Corosync's C daemons have no such phase. The two rows side by side show how much of a ratio is that warm-up.
  const again = await attempt(`throughput ${AGAIN.label} again`, fail, () =>
    engine.throughput(AGAIN.bytes, AGAIN.count),
  );
  if (again) {
    tput[`tput${AGAIN.key}AgainMsgsPerS`] = again.msgsPerS;
    console.error(`  ${engine.name} ${AGAIN.label} again: ${Math.round(again.msgsPerS)} msgs/s, sent ${again.sent}`);
  }
  return tput;
}

/** The faults in order, each undoing the previous one; the first that fails ends the sequence (state unknown). */
async function faults(engine: Engine, sample: Sample): Promise<void> {
  const { lab } = engine;
  sample.linkDownS = await timeTo(engine, /link: host: 3 link: 0 is down/, () => lab.cut(3, 0));
  await timeTo(engine, /host: 3 link: 0 is up/, () => lab.restore(3, 0));
  await pause(SETTLE_MS);
  Object.assign(sample, await cutStall(engine));
  await timeTo(engine, /host: 3 link: 0 is up/, () => lab.restore(3, 0));
  await pause(SETTLE_MS);
  sample.crashS = await timeTo(engine, /A new membership/, () => engine.crash(3));
  sample.rejoinS = await timeTo(engine, /Members\[3\]/, () => engine.start(3));
  await pause(SETTLE_MS);
  await timeTo(engine, /Members\[2\]/, () => lab.partition([[1, 2], [3]]));
  await pause(SETTLE_MS);
  sample.healS = await timeTo(engine, /Members\[3\]/, () => lab.heal());
}

/** Every measurement, on one freshly built lab; a failed one is reported through `fail`, the rest go on. */
async function fullRound(engine: Engine, fail: Fail): Promise<Sample> {
  const { lab } = engine;
  const sample: Sample = { coldStartS: await coldStart(engine) };
  await pause(SETTLE_MS);
  sample.rssIdleMiB = meanRssMiB(engine);
  sample.idleCpuS = (await idleCpu(lab.nodeids.map((n) => engine.pid(n) ?? Number.NaN))).meanS;
  Object.assign(sample, await throughputs(engine, fail));
  // Latency once the daemons are warm (corolink's JIT has compiled the paths), on an idle ring again.
  for (const l of LATENCIES) {
    await pause(SETTLE_MS);
    const lat = await attempt(`latency ${l.label}`, fail, () => engine.latency(l.bytes, l.count, l.warmup));
    if (!lat) continue;
    sample[`${l.key}P50Us`] = lat.p50Us;
    sample[`${l.key}P99Us`] = lat.p99Us;
  }
  await pause(SETTLE_MS);
  await attempt('faults', fail, () => faults(engine, sample));
  return sample;
}

/** The second reference (Corosync in active link mode): only the cut stall and its bytes per link. */
async function cutRound(engine: Engine): Promise<Sample> {
  await Promise.all(engine.lab.nodeids.map((n) => engine.start(n)));
  await lineAfter(engine.logFile(1), 0, /Members\[3\]/);
  await pause(SETTLE_MS);
  return cutStall(engine);
}

/** The table's rows: JSON key, label, decimals. */
const METRICS: { key: string; label: string; digits: number }[] = [
  {
    key: 'coldStartS',
    label: 'cold start: 3 daemons started at once → n1 logs Members[3] and quorate (s)',
    digits: 2,
  },
  { key: 'linkDownS', label: 'link-down detection: n3 link0 pulled → n1 logs it down (s)', digits: 2 },
  { key: 'cutStallS', label: 'cut stall: longest agreed round trip while n3 link0 is pulled (s)', digits: 3 },
  { key: 'rttP50Us', label: 'round trip p50 in the cut run (µs)', digits: 0 },
  { key: 'rttP99Us', label: 'round trip p99 in the cut run (µs)', digits: 0 },
  { key: 'cutTxLink0MB', label: 'sent on link0 in the cut run, all hosts (MB)', digits: 2 },
  { key: 'cutTxLink1MB', label: 'sent on link1 in the cut run, all hosts (MB)', digits: 2 },
  { key: 'cutTxPerRtB', label: 'sent on both links per round trip in the cut run (B)', digits: 0 },
  { key: 'crashS', label: 'crash: kill -9 n3 → n1 logs a new membership (s)', digits: 2 },
  { key: 'rejoinS', label: 'restart: crashed n3 started again → n1 logs Members[3] (s)', digits: 2 },
  { key: 'healS', label: 'partition {1,2} / {3} healed → n1 logs Members[3] (s)', digits: 2 },
  ...LATENCIES.flatMap((l) => [
    { key: `${l.key}P50Us`, label: `self-delivery latency p50, idle ring, ${l.label} (µs)`, digits: 0 },
    { key: `${l.key}P99Us`, label: `self-delivery latency p99, idle ring, ${l.label} (µs)`, digits: 0 },
  ]),
  ...SIZES.flatMap((s) => [
    { key: `tput${s.key}MsgsPerS`, label: `agreed throughput ${s.label}, 1 sender, per node (msgs/s)`, digits: 0 },
    { key: `tput${s.key}MBPerS`, label: `agreed throughput ${s.label}, 1 sender, per node (MB/s)`, digits: 2 },
  ]),
  {
    key: `tput${MULTI.key}MsgsPerS`,
    label: `agreed throughput ${MULTI.label}, 3 senders, all senders per node (msgs/s)`,
    digits: 0,
  },
  {
    key: `tput${MULTI.key}MBPerS`,
    label: `agreed throughput ${MULTI.label}, 3 senders, all senders per node (MB/s)`,
    digits: 2,
  },
  ...[1, 2, 3].map((n) => ({
    key: `tput${MULTI.key}N${n}MsgsPerS`,
    label: `agreed throughput ${MULTI.label}, 3 senders: n${n}'s messages per node (msgs/s)`,
    digits: 0,
  })),
  {
    key: `tput${MULTI.key}Fairness`,
    label: `3 senders × ${MULTI.label}: fastest sender's rate ÷ slowest's`,
    digits: 2,
  },
  {
    key: `tput${AGAIN.key}AgainMsgsPerS`,
    label: `agreed throughput ${AGAIN.label}, 1 sender, again after the runs above and the RSS (msgs/s)`,
    digits: 0,
  },
  { key: 'tputNewMemberships', label: 'new memberships n1 logged during the throughput runs (count)', digits: 0 },
  { key: 'rssIdleMiB', label: 'RSS per daemon, idle (MiB)', digits: 1 },
  { key: 'idleCpuS', label: 'CPU per daemon over 30 s idle (s)', digits: 2 },
  { key: 'rssLoadedMiB', label: 'RSS per daemon, right after the throughput runs (MiB)', digits: 1 },
];

const ratio = (a: number | undefined, b: number | undefined) =>
  a !== undefined && b !== undefined && Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : undefined;
const showRatio = (r: number | undefined) =>
  r === undefined ? '' : r >= 10 ? r.toFixed(1) : r >= 0.1 ? r.toFixed(2) : r.toPrecision(2);

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
const makers: Record<EngineName, () => Promise<Engine>> = {
  corosync: () => corosyncEngine(cpgbench, 'passive'),
  'corosync-active': () => corosyncEngine(cpgbench, 'active'),
  corolink: corolinkEngine,
};
const rounds: Record<EngineName, (engine: Engine, fail: Fail) => Promise<Sample>> = {
  corosync: fullRound,
  'corosync-active': cutRound,
  corolink: fullRound,
};
const samples: Record<EngineName, Sample[]> = { corosync: [], 'corosync-active': [], corolink: [] };
const failures: string[] = [];
const started = Date.now();
for (let run = 0; run < RUNS; run++) {
  // Interleaved, the order rotating: no engine always runs first (or right after another one).
  const order = ENGINES.map((_, i) => ENGINES[(i + run) % ENGINES.length]!);
  for (const name of order) {
    const t0 = Date.now();
    try {
      const engine = await makers[name]();
      try {
        const sample = await rounds[name](engine, (what, error) => {
          failures.push(`run ${run + 1} ${name} ${what}: ${(error as Error).message}`);
          console.error(`run ${run + 1}/${RUNS} ${name}: ${what} FAILED:`, error);
        });
        samples[name].push(sample);
        console.error(
          `run ${run + 1}/${RUNS} ${name} (${((Date.now() - t0) / 1000).toFixed(0)} s): ${JSON.stringify(sample)}`,
        );
      } finally {
        await engine.stop();
      }
    } catch (error) {
      failures.push(`run ${run + 1} ${name}: ${(error as Error).message}`);
      console.error(`run ${run + 1}/${RUNS} ${name} FAILED after ${((Date.now() - t0) / 1000).toFixed(0)} s:`, error);
    }
  }
}

const summary: Record<string, Record<string, number>> = {};
const range: Record<string, Record<string, [number, number]>> = {};
const ratios: Record<string, number> = {};
const ratiosVsActive: Record<string, number> = {};
const round3 = (x: number) => Number(x.toFixed(3));
const cellOf = (name: EngineName, key: string, digits: number): string => {
  const values = samples[name].map((s) => s[key]).filter((v): v is number => v !== undefined && Number.isFinite(v));
  if (values.length === 0) return '–';
  const mid = median(values);
  summary[name] = { ...summary[name], [key]: round3(mid) };
  range[name] = { ...range[name], [key]: [round3(Math.min(...values)), round3(Math.max(...values))] };
  return `${mid.toFixed(digits)} (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)})`;
};
const counts = ENGINES.map((name) => `${name} ${samples[name].length}`).join(', ');
console.log(`Median (min–max) of ${RUNS} interleaved runs (rounds that completed: ${counts}).`);
console.log('');
console.log(
  '| metric | Corosync 3.1.7 (passive) | Corosync active | corolink (passive) | corolink / Corosync | corolink / Corosync active |',
);
console.log('|---|---|---|---|---|---|');
for (const { key, label, digits } of METRICS) {
  const cells = ENGINES.map((name) => cellOf(name, key, digits));
  const r = ratio(summary.corolink?.[key], summary.corosync?.[key]);
  const ra = ratio(summary.corolink?.[key], summary['corosync-active']?.[key]);
  if (r !== undefined) ratios[key] = Number(r.toPrecision(3));
  if (ra !== undefined) ratiosVsActive[key] = Number(ra.toPrecision(3));
  console.log(`| ${label} | ${cells.join(' | ')} | ${showRatio(r)} | ${showRatio(ra)} |`);
}
const minutes = (Date.now() - started) / 60_000;
console.log('');
console.log(`${failures.length} failed rounds; ${minutes.toFixed(1)} min in all.`);
for (const failure of failures) console.log(`- ${failure}`);
console.log(
  JSON.stringify({
    runs: RUNS,
    date: new Date().toISOString(),
    minutes: Number(minutes.toFixed(1)),
    completed: Object.fromEntries(ENGINES.map((name) => [name, samples[name].length])),
    failures,
    ...Object.fromEntries(ENGINES.map((name) => [name, summary[name] ?? {}])),
    ratio: ratios,
    ratioVsActive: ratiosVsActive,
    range: Object.fromEntries(ENGINES.map((name) => [name, range[name] ?? {}])),
  }),
);
if (ENGINES.some((name) => samples[name].length === 0)) process.exitCode = 1;
