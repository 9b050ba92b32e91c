/**
 * `npm run bench:ipc`: the client path of CPG on a 3-node loopback cluster (three real daemons, 2 links,
 * AES-256-GCM), in figures the machine's load distorts little (docs/benchmarks.md, "The client path"):
 * - CPU per message: node 1 sends MESSAGES messages as fast as flow control lets (./cpg-send.ts) while every node's
 *   client reads them; the CPU time (user + system, /proc/PID/stat) of each daemon and of this (client) process over
 *   the phase, divided by the messages; and each daemon's context switches per message (all its threads,
 *   /proc/PID/task/TID/status): how many messages one wake-up of a daemon handles.
 * - Self-delivery round trip on an idle ring, 64 B and 1 KiB, alternating sizes round by round: node 1 multicasts
 *   one message and waits for its own delivery. With IPC_TRACE=1 each round trip is split at the moment the send
 *   resolved (the daemon's answer) and the slowest are listed.
 * `BENCH_SCHED_RR=yes` runs the daemons SCHED_RR (as root; default no, as every LocalCluster).
 * Prints a table, then one JSON line.
 */
import { loadavg } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { LocalCluster } from '../src/lab/local-cluster.ts';
import { processCpuSeconds } from '../src/lab/netns-lab.ts';
import { sendMany } from './cpg-send.ts';
import { benchSystemExtra, contextSwitches, daemonPolicies } from './sched.ts';
import { percentile } from './stats.ts';

const SIZES = [64, 1024];
const MESSAGES = Number(process.env.IPC_MESSAGES ?? 20_000);
const ROUND_TRIPS = Number(process.env.IPC_ROUND_TRIPS ?? 2_000);
const PHASE_TIMEOUT_MS = 60_000;
const TRACE = process.env.IPC_TRACE === '1';
function ownCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

const gcPauses: { at: number; ms: number }[] = [];
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcPauses.push({ at: entry.startTime, ms: entry.duration });
});
gcObserver.observe({ entryTypes: ['gc'] });

const cluster = await LocalCluster.start({
  nodes: 3,
  links: 2,
  firstHost: 221,
  basePort: 45405,
  systemExtra: benchSystemExtra('no'),
  ...(process.env.BENCH_DIR ? { dir: process.env.BENCH_DIR } : {}),
});
try {
  await cluster.waitForQuorateMembership(3);
  const pids = cluster.nodes.map((node) => node.process!.pid!);
  const clients = await Promise.all([1, 2, 3].map((id) => cluster.client(id)));
  const groups = await Promise.all(clients.map((c) => c.cpgJoin('bench-ipc')));
  const cpuRows: { bytes: number; daemonUs: number[]; switches: number[]; clientUs: number; load: number }[] = [];
  for (const bytes of SIZES) {
    let delivered = 0;
    const onMessage = () => void delivered++;
    for (const group of groups) group.on('message', onMessage);
    const before = pids.map(processCpuSeconds);
    const switchesBefore = pids.map(contextSwitches);
    const clientBefore = ownCpuSeconds();
    await sendMany(groups[0]!, Buffer.alloc(bytes, 0x5a), MESSAGES);
    const deadline = Date.now() + PHASE_TIMEOUT_MS;
    while (delivered < 3 * MESSAGES && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const daemonUs = pids.map((pid, i) => ((processCpuSeconds(pid) - before[i]!) * 1e6) / MESSAGES);
    const switches = pids.map((pid, i) => (contextSwitches(pid) - switchesBefore[i]!) / MESSAGES);
    const clientUs = ((ownCpuSeconds() - clientBefore) * 1e6) / MESSAGES;
    for (const group of groups) group.off('message', onMessage);
    if (delivered < 3 * MESSAGES) throw new Error(`${bytes} B: ${delivered} of ${3 * MESSAGES} deliveries`);
    cpuRows.push({ bytes, daemonUs, switches, clientUs, load: loadavg()[0]! });
  }
  // Round trips: sizes alternate so both see the same load.
  const own = groups[0]!;
  const samples = new Map<number, number[]>(SIZES.map((bytes) => [bytes, []]));
  const traces: { bytes: number; started: number; answeredUs: number; deliveredUs: number }[] = [];
  let waiting: { tag: string; done: () => void } | undefined;
  own.on('message', (m) => {
    if (
      waiting &&
      m.nodeid === own.local.nodeid &&
      Buffer.from(m.data).toString('latin1', 0, waiting.tag.length) === waiting.tag
    )
      waiting.done();
  });
  gcPauses.length = 0;
  const latencyLoad = loadavg()[0]!;
  const roundTripsFrom = Date.now();
  for (let i = 0; i < ROUND_TRIPS; i++) {
    for (const bytes of SIZES) {
      const tag = `rt-${i}-${bytes}:`;
      const payload = Buffer.alloc(bytes, 0x2e);
      payload.write(tag, 'latin1');
      const delivered = new Promise<void>((done) => {
        waiting = { tag, done };
      });
      const started = performance.now();
      await own.send(payload);
      const answered = performance.now();
      await delivered;
      const end = performance.now();
      samples.get(bytes)!.push((end - started) * 1000);
      if (TRACE)
        traces.push({ bytes, started, answeredUs: (answered - started) * 1000, deliveredUs: (end - started) * 1000 });
    }
  }
  for (const c of clients) c.close();
  console.log('CPU µs per message (user + system)   n1 (sender)   n2   n3   client process (3 readers)   load');
  for (const r of cpuRows) {
    console.log(
      `${String(r.bytes).padStart(5)} B   ${r.daemonUs.map((us) => us.toFixed(1).padStart(8)).join(' ')}   ${r.clientUs.toFixed(1).padStart(8)}   ${r.load.toFixed(1)}`,
    );
    console.log(`        context switches per message, n1 n2 n3: ${r.switches.map((n) => n.toFixed(2)).join(' ')}`);
  }
  const latency = SIZES.map((bytes) => {
    const sorted = samples.get(bytes)!.sort((a, b) => a - b);
    return {
      bytes,
      p50: Math.round(percentile(sorted, 50)),
      p99: Math.round(percentile(sorted, 99)),
      max: Math.round(sorted.at(-1)!),
    };
  });
  for (const l of latency) {
    console.log(
      `self-delivery ${l.bytes} B (${ROUND_TRIPS} round trips): p50 ${l.p50} µs, p99 ${l.p99} µs, max ${l.max} µs (load ${latencyLoad.toFixed(1)})`,
    );
  }
  const gcMs = gcPauses.reduce((sum, g) => sum + g.ms, 0);
  console.log(`client GC during the round trips: ${gcPauses.length} pauses, ${gcMs.toFixed(1)} ms`);
  if (TRACE) {
    console.log(`round trips from ${roundTripsFrom} to ${Date.now()} (ms since the epoch: match the daemons' logs)`);
    const slow = traces.sort((a, b) => b.deliveredUs - a.deliveredUs).slice(0, 40);
    for (const t of slow) {
      const gc = gcPauses.filter((g) => g.at + g.ms >= t.started && g.at <= t.started + t.deliveredUs / 1000);
      console.log(
        `slow ${t.bytes} B at ${(performance.timeOrigin + t.started).toFixed(3)}: answered ${t.answeredUs.toFixed(0)} µs, delivered ${t.deliveredUs.toFixed(0)} µs${gc.length ? `, client GC ${gc.map((g) => g.ms.toFixed(2)).join('+')} ms` : ''}`,
      );
    }
  }
  console.log(
    JSON.stringify({
      load: latencyLoad,
      policy: daemonPolicies(pids),
      cpu: cpuRows.map((r) => ({
        bytes: r.bytes,
        daemon_us: r.daemonUs.map((us) => Number(us.toFixed(1))),
        daemon_switches: r.switches.map((n) => Number(n.toFixed(2))),
        client_us: Number(r.clientUs.toFixed(1)),
      })),
      latency: latency.map((l) => ({ bytes: l.bytes, p50_us: l.p50, p99_us: l.p99, max_us: l.max })),
    }),
  );
} finally {
  gcObserver.disconnect();
  await cluster.stop();
}
