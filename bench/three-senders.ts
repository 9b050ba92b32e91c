/**
 * `npm run bench:three-senders`: bench:vs-corosync's 3-sender 1 KiB run (./throughput.ts: a client process on every
 * node, ./cpg-node.ts, each sending `count` × 1 KiB) alone, THREE_SENDERS_ROUNDS times on one netns lab (as root), with
 * what each round's CPU went to: each daemon's time on a CPU and run-queue wait (runMs / waitMs: n1…n3's daemons),
 * and each client process's from its `go` on (clients: n1…n3, all threads and the main thread — its event loop).
 * One JSON line per round, with
 * its epoch window for bench/token-trace-report.ts; THREE_SENDERS_LOGS=dir keeps the daemons' logs there
 * (with COROLINK_TOKEN_TRACE=1, the token trace). BENCH_SCHED_RR (default yes, as bench:vs-corosync),
 * THREE_SENDERS_ROUNDS (default 3), THREE_SENDERS_COUNT (default MULTI_SENDER_COUNT).
 */
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetnsLab } from '../src/lab/netns-lab.ts';
import { benchSystemExtra, daemonPolicies, schedulerTimes } from './sched.ts';
import { COROLINK_SEND_LIMIT_MS, corolinkMultiThroughput, MULTI_SENDER_COUNT } from './throughput.ts';

const ROUNDS = Number(process.env.THREE_SENDERS_ROUNDS ?? 3);
const COUNT = Number(process.env.THREE_SENDERS_COUNT ?? MULTI_SENDER_COUNT);
const dir = mkdtempSync(join(tmpdir(), 'corolink-three-senders-'));
const lab = await NetnsLab.up({ dir, nodes: 3, links: 2, systemExtra: benchSystemExtra('yes') });
try {
  await lab.waitFor((s) => s.members.length === 3 && s.quorum.quorate, { timeoutMs: 20_000 });
  console.log(
    `dir ${dir} load ${loadavg()[0]!.toFixed(2)} daemons ${daemonPolicies([1, 2, 3].map((n) => lab.pid(n)))}`,
  );
  const pids = [1, 2, 3].map((n) => lab.pid(n)!);
  for (let round = 0; round < ROUNDS; round++) {
    const times = () => pids.map(schedulerTimes);
    const before = times();
    const from = Date.now();
    const m = await corolinkMultiThroughput(lab, 1024, COUNT, COROLINK_SEND_LIMIT_MS);
    const to = Date.now();
    const after = times();
    const ms = (i: number, k: 'runSeconds' | 'waitSeconds') => Math.round((after[i]![k] - before[i]![k]) * 1000);
    console.log(
      JSON.stringify({
        round,
        from,
        to,
        load: Number(loadavg()[0]!.toFixed(2)),
        msgsPerS: Math.round(m.msgsPerS),
        perSender: m.perSenderMsgsPerS.map(Math.round),
        fairness: Number(m.fairness.toFixed(2)),
        delivered: m.delivered,
        runMs: [0, 1, 2].map((i) => ms(i, 'runSeconds')),
        waitMs: [0, 1, 2].map((i) => ms(i, 'waitSeconds')),
        clients: m.clients,
      }),
    );
  }
} finally {
  const keep = process.env.THREE_SENDERS_LOGS;
  if (keep) {
    mkdirSync(keep, { recursive: true });
    for (const n of [1, 2, 3]) copyFileSync(lab.logFile(n), join(keep, `n${n}.log`));
  }
  await lab.down();
}
