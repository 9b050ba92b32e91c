/**
 * `npm run bench:daemon`: resident memory of each daemon of a 3-node loopback cluster (2 links, crypto on), idle
 * after start and after each load phase: CPG messages of 64 B, 1 KiB and 64 KiB, sent from every node at once (the
 * sizes of bench:vs-corosync's throughput runs, whose "RSS right after the throughput runs" row this reproduces
 * without the netns lab). Target: ≤ Corosync's 82 MiB after load (docs/daemon.md "Memory").
 * BENCH_MESSAGES sets the 64 B phase's count (the others scale with it). Prints a table, then one JSON line.
 */
import { readFileSync } from 'node:fs';
import { LocalCluster } from '../src/lab/local-cluster.ts';
import { sendMany } from './cpg-send.ts';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 100_000);
const PHASES = [
  { label: '64 B', bytes: 64, count: MESSAGES },
  { label: '1 KiB', bytes: 1024, count: Math.ceil(MESSAGES / 5) },
  { label: '64 KiB', bytes: 64 * 1024, count: Math.ceil(MESSAGES / 100) },
];
const SETTLE_MS = 3000;
/** The last row: this long after the load. */
const QUIET_MS = 15_000;
/** Longest wait for a phase's messages on n1. */
const PHASE_LIMIT_MS = 120_000;

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return kib / 1024;
}

const cluster = await LocalCluster.start({ nodes: 3, links: 2, firstHost: 201, basePort: 25405 });
try {
  await cluster.waitForQuorateMembership(3);
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const pids = cluster.nodes.map((n) => n.process!.pid!);
  const rows: { label: string; rss: number[]; delivered: number; count: number; seconds: number }[] = [
    { label: 'idle', rss: pids.map(rssMiB), delivered: 0, count: 0, seconds: 0 },
  ];
  const clients = await Promise.all(cluster.nodes.map((n) => cluster.client(n.nodeid)));
  // The daemon closes a client that reads its deliveries too slowly (docs/client.md): say so, stop waiting.
  const lost: string[] = [];
  for (const [i, client] of clients.entries())
    client.on('disconnected', (error: Error) => lost.push(`n${i + 1}: ${error.message}`));
  const groups = await Promise.all(clients.map((c) => c.cpgJoin('bench')));
  let received = 0;
  groups[0]!.on('message', () => received++);
  for (const phase of PHASES) {
    received = 0;
    const payload = Buffer.alloc(phase.bytes, 7);
    const started = performance.now();
    await Promise.all(
      groups.map(async (group, i) => {
        const share = Math.floor(phase.count / groups.length) + (i < phase.count % groups.length ? 1 : 0);
        await sendMany(group, payload, share);
      }),
    );
    const deadline = Date.now() + PHASE_LIMIT_MS;
    while (received < phase.count && lost.length === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    if (lost.length > 0) console.error(`${phase.label}: lost connections: ${lost.join('; ')}`);
    const seconds = (performance.now() - started) / 1000;
    rows.push({
      label: `after ${phase.label}`,
      rss: pids.map(rssMiB),
      delivered: received,
      count: phase.count,
      seconds,
    });
  }
  // V8's memory reducer collects the garbage of the load (external buffers held by dead objects) once the
  // daemon has been quiet for a while: the same RSS a little later.
  await new Promise((r) => setTimeout(r, QUIET_MS));
  rows.push({ label: `${QUIET_MS / 1000} s later, quiet`, rss: pids.map(rssMiB), delivered: 0, count: 0, seconds: 0 });
  for (const c of clients) c.close();
  console.log(`| RSS (MiB) | ${cluster.nodes.map((n) => n.name).join(' | ')} | delivered on n1 |`);
  console.log(`|---|${cluster.nodes.map(() => '---|').join('')}---|`);
  for (const row of rows) {
    const got = row.count ? `${row.delivered} of ${row.count} in ${row.seconds.toFixed(1)} s` : '';
    console.log(`| ${row.label} | ${row.rss.map((r) => r.toFixed(1)).join(' | ')} | ${got} |`);
  }
  const loaded = rows.slice(1, -1).flatMap((r) => r.rss);
  console.log(
    JSON.stringify({
      rss_idle_mib_max: Number(Math.max(...rows[0]!.rss).toFixed(1)),
      rss_loaded_mib_max: Number(Math.max(...loaded).toFixed(1)),
      rss_after_mib_max: Number(Math.max(...rows.at(-2)!.rss).toFixed(1)),
      rss_quiet_mib_max: Number(Math.max(...rows.at(-1)!.rss).toFixed(1)),
      phases: rows.slice(1, -1).map((r) => ({ phase: r.label, delivered: r.delivered, of: r.count })),
      target_mib: 82,
    }),
  );
} finally {
  await cluster.stop();
}
