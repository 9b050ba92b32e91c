/**
 * `npm run bench:cut-stall`: the cable-cut run of bench:vs-corosync alone, for corolink — quick to repeat while
 * working on the failover path. Per round: the netns lab (3 hosts × 2 links, passive mode, default timings), n1
 * makes agreed round trips of 64 B for ROUND_TRIP_MS, n3's link0 cable is pulled FAULT_AFTER_MS in; measured are
 * the longest round trip (the stall), when it started relative to the pull, p50/p99, and the bytes every host
 * sent on both links per round trip (veth tx counters), with the load average at the start of the round.
 * `CUT_STALL_HOGS=n` runs n CPU-bound `nice -n 10` processes throughout (bounded in time, killed by PID), the
 * "loaded machine" case of issue 13. The daemons run `system.sched_rr: yes`, as Corosync does (`BENCH_SCHED_RR=no`:
 * the normal scheduler). `BENCH_RUNS` rounds (default 3); a table, then one JSON line. Needs root.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ipIn, labUnavailableReason } from '../src/lab/command.ts';
import { names } from '../src/lab/lab-state.ts';
import { NetnsLab } from '../src/lab/netns-lab.ts';
import { corolinkRoundTrips } from './round-trips.ts';
import { benchSystemExtra, daemonPolicies } from './sched.ts';
import { median } from './stats.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const HOGS = Number(process.env.CUT_STALL_HOGS ?? 0);
/** `CUT_STALL_FAULT=none`: the same run without pulling the cable (the control: what the machine alone costs). */
const PULL = process.env.CUT_STALL_FAULT !== 'none';
/** `CUT_STALL_SPAWN=1`: spawn `ip` at the moment of the pull, in this process (as bench:vs-corosync did). */
const SPAWN = process.env.CUT_STALL_SPAWN === '1';
/** Where to keep each round's daemon logs (the lab directory goes with the lab), or undefined. */
const LOGS = process.env.CUT_STALL_LOGS;
const FAULT_AFTER_MS = 2_000;
const ROUND_TRIP_MS = 5_000;
/** Unmeasured round trips first, as bench:vs-corosync (and cpgbench's -W). */
const WARMUP = 100;
/** Round trips that end within this long after the pull are the ones the failover path can stall (detection ≈ 0.3 s). */
const CUT_WINDOW_MS = 400;
/**
 * The slowest round trips listed per round: when each started relative to the pull, how long it took, and how long
 * until `send()` resolved (the daemon had queued it), all ms.
 */
const SLOWEST = 5;
/** A hog stops by itself after this long even if this process dies before killing it. */
const HOG_LIMIT_MS = 600_000;

/** Bytes every host has sent so far on each link (tx counter of the host end of its cable), summed over hosts. */
async function txBytes(lab: NetnsLab): Promise<number> {
  let sum = 0;
  for (let l = 0; l < lab.links; l++) {
    for (const n of lab.nodeids) {
      const [dev] = JSON.parse(await ipIn(lab.namespace(n), '-s', '-j', 'link', 'show', 'dev', names.hostPort(l))) as {
        stats64: { tx: { bytes: number } };
      }[];
      sum += dev!.stats64.tx.bytes;
    }
  }
  return sum;
}

const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

function startHogs(count: number): ChildProcess[] {
  const loop = `const end = Date.now() + ${HOG_LIMIT_MS}; let x = 0; while (Date.now() < end) x++;`;
  return Array.from({ length: count }, () =>
    spawn('nice', ['-n', '10', process.execPath, '-e', loop], { stdio: 'ignore' }),
  );
}

const reason = labUnavailableReason();
if (reason) {
  console.error(`bench:cut-stall: ${reason}`);
  process.exit(2);
}
const hogs = startHogs(HOGS);
const rows: Record<string, unknown>[] = [];
try {
  for (let run = 0; run < RUNS; run++) {
    const lab = await NetnsLab.up({
      dir: mkdtempSync(join(tmpdir(), 'corolink-cut-')),
      nodes: 3,
      links: 2,
      systemExtra: benchSystemExtra('yes'),
    });
    try {
      const load = loadavg();
      const before = await txBytes(lab);
      const armed = PULL && !SPAWN ? lab.armCut(3, 0) : undefined;
      const fault = () => (armed ? armed.fire() : PULL ? lab.cut(3, 0) : Promise.resolve());
      const rtt = await corolinkRoundTrips(lab, ROUND_TRIP_MS, FAULT_AFTER_MS, fault, { warmup: WARMUP }).finally(() =>
        armed?.disarm(),
      );
      const sent = (await txBytes(lab)) - before;
      const cutAt = rtt.faultAtMs ?? Number.NaN;
      const inWindow = (started: number, us: number) => started + us / 1000 >= cutAt && started < cutAt + CUT_WINDOW_MS;
      const longest = (keep: (started: number, us: number) => boolean) =>
        Math.max(...(rtt.samples ?? []).filter(([started, us]) => keep(started, us)).map(([, us]) => us)) / 1000;
      const row = {
        stallMs: Number((rtt.maxUs / 1000).toFixed(1)),
        cutWindowMaxMs: Number(longest(inWindow).toFixed(1)),
        elsewhereMaxMs: Number(longest((started, us) => !inWindow(started, us)).toFixed(1)),
        slowest: [...(rtt.samples ?? [])]
          .sort((a, b) => b[1] - a[1])
          .slice(0, SLOWEST)
          .map(([started, us, queuedUs]) => [
            started - cutAt,
            Number((us / 1000).toFixed(1)),
            Number((queuedUs / 1000).toFixed(1)),
          ]),
        stallStartedAfterCutMs: (rtt.maxStartedAtMs ?? Number.NaN) - (rtt.faultAtMs ?? Number.NaN),
        p50Us: Math.round(rtt.p50Us),
        p99Us: Math.round(rtt.p99Us),
        roundTrips: rtt.total,
        bytesPerRoundTrip: Math.round(sent / rtt.total),
        loadavg: load,
        policy: daemonPolicies(lab.nodeids.map((n) => lab.pid(n))),
      };
      rows.push(row);
      console.error(`run ${run + 1}/${RUNS}: ${JSON.stringify(row)}`);
      if (LOGS !== undefined) {
        const dir = join(LOGS, `run${run + 1}`);
        mkdirSync(dir, { recursive: true });
        for (const n of lab.nodeids) cpSync(lab.logFile(n), join(dir, `n${n}.log`));
        console.error(`  logs in ${dir}; the cut at epoch ms ${rtt.faultAtMs}`);
      }
    } finally {
      await lab.down();
    }
  }
} finally {
  for (const hog of hogs) if (hog.pid !== undefined) process.kill(hog.pid, 'SIGKILL');
}

console.log(`corolink cut stall, ${rows.length} rounds, ${HOGS} niced CPU hogs${PULL ? '' : ', no cable pulled'}`);
console.log(
  `| stall (ms) | started after the cut (ms) | longest within ${CUT_WINDOW_MS} ms of the cut / elsewhere (ms) | p50 (µs) | p99 (µs) | round trips | B per round trip | loadavg |`,
);
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.stallMs} | ${r.stallStartedAfterCutMs} | ${r.cutWindowMaxMs} / ${r.elsewhereMaxMs} | ${r.p50Us} | ${r.p99Us} | ${r.roundTrips} | ${r.bytesPerRoundTrip} | ${r.loadavg} |`,
  );
}
const stalls = rows.map((r) => r.stallMs as number);
console.log(
  JSON.stringify({
    hogs: HOGS,
    pulled: PULL,
    runs: rows.length,
    stallMsMedian: median(stalls),
    stallMsMax: Math.max(...stalls),
    bytesPerRoundTripMedian: median(rows.map((r) => r.bytesPerRoundTrip as number)),
    rows,
  }),
);
