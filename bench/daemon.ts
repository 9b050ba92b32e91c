/**
 * `npm run bench:daemon`: resident memory of each daemon of a 3-node loopback cluster (2 links, crypto on), idle
 * after start and after each load phase, in the order of bench:vs-corosync's throughput runs, whose "RSS right
 * after the throughput runs" row this reproduces without the netns lab: CPG messages from n1 of 64 B, 1 KiB and
 * 64 KiB, then 1 KiB from every node at once. Target: ≤ Corosync's 82 MiB after load (docs/daemon.md "Memory").
 * Each RSS is split as /proc/PID/smaps says: file-backed (node's code), the main malloc arena (`[heap]`) and the
 * other anonymous memory (V8's heap, the other malloc arenas, large mallocs).
 * Also the daemons' CPU time over the load per message delivered (µs, mean of the daemons): what an RSS cut costs.
 * BENCH_SCALE (default 1) multiplies every phase's count (0.25: a quicker run). Prints a table, then one JSON line.
 */
import { readFileSync } from 'node:fs';
import { LocalCluster } from '../src/lab/local-cluster.ts';
import { processCpuSeconds } from '../src/lab/netns-lab.ts';
import { sendMany } from './cpg-send.ts';
import { MULTI_SENDER_RUN, SINGLE_SENDER_RUNS } from './throughput.ts';

const SCALE = Number(process.env.BENCH_SCALE ?? 1);
/** bench:vs-corosync's throughput runs (./throughput.ts): `count` messages from each sender. */
const PHASES = [
  ...SINGLE_SENDER_RUNS.map(({ label, bytes, count }) => ({ label, bytes, count, senders: 1 })),
  {
    label: `3 senders × ${MULTI_SENDER_RUN.label}`,
    bytes: MULTI_SENDER_RUN.bytes,
    count: MULTI_SENDER_RUN.count,
    senders: 3,
  },
].map((p) => ({ ...p, count: Math.ceil(p.count * SCALE) }));
const SETTLE_MS = 3000;
/** The last row: this long after the load. */
const QUIET_MS = 15_000;
/** Longest wait for a phase's messages on n1. */
const PHASE_LIMIT_MS = 120_000;
const KIB_PER_MIB = 1024;

/** RSS of a process and its parts, MiB. */
interface Rss {
  total: number;
  file: number;
  mallocHeap: number;
  otherAnon: number;
}

function rssOf(pid: number): Rss {
  const rss = { total: 0, file: 0, mallocHeap: 0, otherAnon: 0 };
  let kind: keyof Rss = 'otherAnon';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const mapping = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (mapping) {
      const path = mapping[1]!;
      kind = path.startsWith('/') ? 'file' : path === '[heap]' ? 'mallocHeap' : 'otherAnon';
      continue;
    }
    const kib = /^Rss:\s+(\d+) kB/.exec(line);
    if (!kib) continue;
    rss[kind] += Number(kib[1]) / KIB_PER_MIB;
    rss.total += Number(kib[1]) / KIB_PER_MIB;
  }
  return rss;
}

const cluster = await LocalCluster.start({ nodes: 3, links: 2, firstHost: 201, basePort: 25405 });
try {
  await cluster.waitForQuorateMembership(3);
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const pids = cluster.nodes.map((n) => n.process!.pid!);
  const rows: { label: string; rss: Rss[]; delivered: number; count: number; seconds: number }[] = [
    { label: 'idle', rss: pids.map(rssOf), delivered: 0, count: 0, seconds: 0 },
  ];
  const clients = await Promise.all(cluster.nodes.map((n) => cluster.client(n.nodeid)));
  // The daemon closes a client that reads its deliveries too slowly (docs/client.md): say so, stop waiting.
  const lost: string[] = [];
  for (const [i, client] of clients.entries())
    client.on('disconnected', (error: Error) => lost.push(`n${i + 1}: ${error.message}`));
  const groups = await Promise.all(clients.map((c) => c.cpgJoin('bench')));
  let received = 0;
  groups[0]!.on('message', () => received++);
  const cpuBefore = pids.map(processCpuSeconds);
  let delivered = 0;
  for (const phase of PHASES) {
    received = 0;
    const payload = Buffer.alloc(phase.bytes, 7);
    const expected = phase.count * phase.senders;
    const started = performance.now();
    await Promise.all(groups.slice(0, phase.senders).map((group) => sendMany(group, payload, phase.count)));
    const deadline = Date.now() + PHASE_LIMIT_MS;
    while (received < expected && lost.length === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    if (lost.length > 0) console.error(`${phase.label}: lost connections: ${lost.join('; ')}`);
    const seconds = (performance.now() - started) / 1000;
    delivered += received;
    rows.push({ label: `after ${phase.label}`, rss: pids.map(rssOf), delivered: received, count: expected, seconds });
  }
  const cpuUsPerMsg =
    (pids.reduce((a, pid, i) => a + processCpuSeconds(pid) - cpuBefore[i]!, 0) / pids.length / delivered) * 1e6;
  // V8's memory reducer collects the garbage of the load (external buffers held by dead objects) once the
  // daemon has been quiet for a while: the same RSS a little later.
  await new Promise((r) => setTimeout(r, QUIET_MS));
  rows.push({ label: `${QUIET_MS / 1000} s later, quiet`, rss: pids.map(rssOf), delivered: 0, count: 0, seconds: 0 });
  for (const c of clients) c.close();
  const mib = (r: Rss) =>
    `${r.total.toFixed(1)} (${r.file.toFixed(0)} + ${r.mallocHeap.toFixed(0)} + ${r.otherAnon.toFixed(0)})`;
  console.log(
    `| RSS MiB (file + [heap] + other anon) | ${cluster.nodes.map((n) => n.name).join(' | ')} | delivered on n1 |`,
  );
  console.log(`|---|${cluster.nodes.map(() => '---|').join('')}---|`);
  for (const row of rows) {
    const got = row.count ? `${row.delivered} of ${row.count} in ${row.seconds.toFixed(1)} s` : '';
    console.log(`| ${row.label} | ${row.rss.map(mib).join(' | ')} | ${got} |`);
  }
  const mean = (rss: Rss[]) => Number((rss.reduce((a, r) => a + r.total, 0) / rss.length).toFixed(1));
  const max = (rss: Rss[]) => Number(Math.max(...rss.map((r) => r.total)).toFixed(1));
  console.log(
    JSON.stringify({
      rss_idle_mib_mean: mean(rows[0]!.rss),
      // bench:vs-corosync's figure: the mean over the daemons right after the last throughput run.
      rss_after_mib_mean: mean(rows.at(-2)!.rss),
      rss_after_mib_max: max(rows.at(-2)!.rss),
      rss_loaded_mib_max: Math.max(...rows.slice(1, -1).map((r) => max(r.rss))),
      rss_quiet_mib_mean: mean(rows.at(-1)!.rss),
      cpu_us_per_msg: Number(cpuUsPerMsg.toFixed(1)),
      phases: rows.slice(1, -1).map((r) => ({ phase: r.label, delivered: r.delivered, of: r.count })),
      target_mib: 82,
    }),
  );
} finally {
  await cluster.stop();
}
