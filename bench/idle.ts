/**
 * `npm run bench:idle`: the idle cost of a quiet 3-host × 2-link cluster — CPU seconds per daemon over 30 s
 * (bench/idle-cpu.ts) — for corolink and, when installed, Corosync 3 (passive), on the same netns lab topology as
 * bench:vs-corosync, BENCH_RUNS rounds (default 3) interleaved. Prints a table (median, min–max) and, as the last
 * line, one JSON object. Needs root and iproute2; Corosync rows need `apt-get install corosync`.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labUnavailableReason } from '../src/lab/command.ts';
import { NetnsLab } from '../src/lab/netns-lab.ts';
import { CorosyncHosts } from './corosync-hosts.ts';
import { IDLE_WINDOW_MS, type IdleCpu, idleCpu } from './idle-cpu.ts';
import { median } from './stats.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/**
 * After the membership forms: let start-up work (first store sync) finish before measuring. BENCH_IDLE_SETTLE_MS
 * (default 5 s) measures later: JIT warm-up still costs a corolink daemon CPU for a minute or so (docs/benchmarks.md).
 */
const SETTLE_MS = Number(process.env.BENCH_IDLE_SETTLE_MS ?? 5_000);
const MEMBERSHIP_TIMEOUT_MS = 30_000;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type EngineName = 'corosync' | 'corolink';

/** Waits (bounded) until node 1's log shows the 3-member membership. */
async function membershipOf3(logFile: string): Promise<void> {
  const deadline = Date.now() + MEMBERSHIP_TIMEOUT_MS;
  while (!(existsSync(logFile) && readFileSync(logFile, 'utf8').includes('Members[3]'))) {
    if (Date.now() > deadline) throw new Error(`no Members[3] in ${logFile} within ${MEMBERSHIP_TIMEOUT_MS} ms`);
    await pause(50);
  }
}

async function measure(name: EngineName): Promise<IdleCpu> {
  const lab = await NetnsLab.up({
    dir: mkdtempSync(join(tmpdir(), 'corolink-idle-')),
    nodes: 3,
    links: 2,
    daemons: name === 'corolink',
  });
  const hosts = name === 'corosync' ? new CorosyncHosts(lab, 'passive') : undefined;
  try {
    for (const n of hosts ? lab.nodeids : []) await hosts!.start(n);
    await membershipOf3(hosts ? hosts.logFile(1) : lab.logFile(1));
    await pause(SETTLE_MS);
    const pids = lab.nodeids.map((n) => (hosts ? hosts.pid(n) : lab.pid(n)));
    if (pids.some((pid) => pid === undefined)) throw new Error('a daemon is not running');
    return await idleCpu(pids as number[]);
  } finally {
    await hosts?.stopAll();
    await lab.down();
  }
}

const reason = labUnavailableReason();
if (reason) {
  console.error(`bench:idle: ${reason}`);
  process.exit(2);
}
const engines: EngineName[] = existsSync('/usr/sbin/corosync') ? ['corosync', 'corolink'] : ['corolink'];
if (engines.length === 1) console.error('bench:idle: corosync is not installed; corolink only');
const samples: Record<EngineName, IdleCpu[]> = { corosync: [], corolink: [] };
for (let run = 0; run < RUNS; run++) {
  for (const name of run % 2 ? [...engines].reverse() : engines) {
    const sample = await measure(name);
    samples[name].push(sample);
    console.error(`run ${run + 1}/${RUNS} ${name}: ${JSON.stringify(sample)}`);
  }
}

const windowS = IDLE_WINDOW_MS / 1000;
interface EngineSummary {
  cpuS: number;
  minS: number;
  maxS: number;
  pctOfCore: number;
  mainThreadS: number;
  wakeupsPerS: number;
  udpOutPerS: number;
  udpInPerS: number;
  load1: number[];
}
const summary: Record<string, EngineSummary> = {};
console.log(
  `Idle 3-host × 2-link lab, CPU seconds per daemon over ${windowS} s from ${SETTLE_MS / 1000} s after Members[3]; median (min–max) of ${RUNS} runs.`,
);
console.log('');
console.log(
  '| engine | CPU s per daemon | % of one core | of it, main thread (s) | main-thread wake-ups/s | UDP datagrams out / in per s | load average (1 min) at the end of each run |',
);
console.log('|---|---|---|---|---|---|---|');
for (const name of engines) {
  const perDaemon = samples[name].flatMap((s) => s.perDaemonS);
  const cpuS = median(samples[name].map((s) => s.meanS));
  summary[name] = {
    cpuS: Number(cpuS.toFixed(3)),
    minS: Number(Math.min(...perDaemon).toFixed(3)),
    maxS: Number(Math.max(...perDaemon).toFixed(3)),
    pctOfCore: Number(((100 * cpuS) / windowS).toFixed(2)),
    mainThreadS: Number(median(samples[name].map((s) => s.mainThreadS)).toFixed(3)),
    wakeupsPerS: Number(median(samples[name].map((s) => s.wakeupsPerS)).toFixed(1)),
    udpOutPerS: Number(median(samples[name].map((s) => s.udpOutPerS)).toFixed(1)),
    udpInPerS: Number(median(samples[name].map((s) => s.udpInPerS)).toFixed(1)),
    load1: samples[name].map((s) => Number(s.load1.toFixed(2))),
  };
  const s = summary[name]!;
  console.log(
    `| ${name} | ${s.cpuS.toFixed(2)} (${s.minS.toFixed(2)}–${s.maxS.toFixed(2)}) | ${s.pctOfCore.toFixed(2)} | ${s.mainThreadS.toFixed(2)} | ${s.wakeupsPerS} | ${s.udpOutPerS} / ${s.udpInPerS} | ${s.load1.join(', ')} |`,
  );
}
const ratio = summary.corosync ? Number((summary.corolink!.cpuS / summary.corosync.cpuS).toFixed(2)) : null;
console.log('');
console.log(
  JSON.stringify({ runs: RUNS, windowS, settleS: SETTLE_MS / 1000, date: new Date().toISOString(), ...summary, ratio }),
);
