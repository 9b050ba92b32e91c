/**
 * `npm run bench:totem`: agreed (CPG) throughput and self-delivery latency of a 3-node corolink cluster — three
 * real daemon processes on loopback, 2 links, AES-256-GCM — measured through the client library, as corosync's
 * own figures are measured through libcpg (../shared/anchors/corosync-figures.md).
 * Throughput: node 1 sends as fast as the client library's flow control lets (./cpg-send.ts); msgs/s counted at node 2 from its first to its last delivery. Latency: node 1 multicasts one
 * message and waits for its own delivery, ROUND_TRIPS times on an otherwise idle ring.
 * `BENCH_SCHED_RR=yes` runs the daemons SCHED_RR (as root; default no, as every LocalCluster).
 * `BENCH_TOTEM=max_messages=100,window_size=300` adds totem {} keys; `BENCH_SIZES=64KiB` runs only those phases.
 * `BENCH_SENDER=3` sends (and times the round trips) from node 3 instead of node 1, the ring's representative;
 * throughput is then counted at node 1.
 * Per phase and message: each daemon's CPU, context switches and run-queue wait; this process's (the clients', at
 * the normal scheduler) run-queue wait and CPU, all threads and the main thread.
 * Prints a table, then one JSON line of the headline figures.
 */
import { loadavg } from 'node:os';
import { LocalCluster } from '../src/lab/local-cluster.ts';
import { processCpuSeconds } from '../src/lab/netns-lab.ts';
import { sendMany } from './cpg-send.ts';
import { describeAudit, MESSAGE_NUMBER_BYTES, numbered, PhaseAudit, type ReceiverAudit } from './phase-audit.ts';
import { benchSystemExtra, contextSwitches, daemonPolicies, ownSchedulerTimes, schedulerTimes } from './sched.ts';
import { percentile } from './stats.ts';
import { benchTotemExtra } from './totem-extra.ts';

const ALL_SIZES = [
  { label: '64 B', bytes: 64, messages: 30_000 },
  { label: '1 KiB', bytes: 1024, messages: 20_000 },
  { label: '64 KiB', bytes: 64 * 1024, messages: 1_000 },
];
const SIZES = ALL_SIZES.filter(
  (size) => process.env.BENCH_SIZES?.split(',').includes(size.label.replace(' ', '')) ?? true,
);
const TOTEM_EXTRA = benchTotemExtra();
/** Index of the sending node's group (0 = node 1); the next node counts the throughput. */
const SENDER = Number(process.env.BENCH_SENDER ?? 1) - 1;
const COUNTER = (SENDER + 1) % 3;
const ROUND_TRIPS = 2000;
const PHASE_TIMEOUT_MS = 60_000;
/**
 * A phase ends early once every node still short of messages saw a configuration change and nothing was delivered
 * for this long: its gap is virtual synchrony's (the messages went to a configuration without it), not a delay.
 */
const SETTLED_GAP_MS = 5_000;
/** Longest wait for every group to see all three members before the first phase. */
const JOIN_TIMEOUT_MS = 10_000;

/** `read(pid)`, or NaN when it cannot be read (the daemon is gone). */
function orNaN(read: (pid: number) => number, pid: number | undefined): number {
  try {
    return read(pid!);
  } catch {
    return Number.NaN;
  }
}

const runQueueWaitSeconds = (pid: number) => schedulerTimes(pid).waitSeconds;

const cluster = await LocalCluster.start({
  nodes: 3,
  links: 2,
  firstHost: 221,
  basePort: 45405,
  // /metrics: the drops and retransmissions of each phase (./phase-audit.ts).
  httpBasePort: 45480,
  systemExtra: benchSystemExtra('no'),
  totemExtra: TOTEM_EXTRA,
  ...(process.env.BENCH_DIR ? { dir: process.env.BENCH_DIR } : {}),
});
try {
  await cluster.waitForQuorateMembership(3);
  const clients = await Promise.all([1, 2, 3].map((id) => cluster.client(id)));
  const audit = await PhaseAudit.join(
    clients,
    'bench-totem',
    cluster.nodes.map((n) => n.httpUrl!),
  );
  const groups = audit.groups;
  await audit.waitForFullGroups(JOIN_TIMEOUT_MS);
  const rows: {
    label: string;
    msgsPerS: number;
    mbPerS: number;
    delivered: number;
    cpuUs: number[];
    switches: number[];
    waitUs: number[];
    /** This process's run-queue wait and CPU, all threads / the main thread. */
    clientWaitUs: number[];
    clientCpuUs: number[];
    /** Per receiving node: delivered, configuration changes, drops (./phase-audit.ts). */
    audits: ReceiverAudit[];
  }[] = [];
  const pids = cluster.nodes.map((n) => n.process?.pid);
  for (const size of SIZES) {
    let delivered = 0;
    const cpuBefore = pids.map((pid) => orNaN(processCpuSeconds, pid));
    const switchesBefore = pids.map((pid) => orNaN(contextSwitches, pid));
    const waitBefore = pids.map((pid) => orNaN(runQueueWaitSeconds, pid));
    const clientBefore = ownSchedulerTimes();
    let first = 0;
    let last = 0;
    const onMessage = () => {
      const now = performance.now();
      if (delivered === 0) first = now;
      last = now;
      delivered++;
    };
    groups[COUNTER]!.on('message', onMessage);
    const payload = Buffer.alloc(Math.max(size.bytes, MESSAGE_NUMBER_BYTES), 0x5a);
    await audit.start();
    await sendMany(groups[SENDER]!, (i) => numbered(payload, i), size.messages);
    // Every member delivers every message (or sees a configuration change); the phase's CPU is read then.
    const deadline = Date.now() + PHASE_TIMEOUT_MS;
    let progressAt = Date.now();
    let before = audit.delivered();
    for (;;) {
      const counts = audit.delivered();
      const short = counts.flatMap((d, i) => (d < size.messages ? [i] : []));
      if (counts.some((d, i) => d !== before[i])) progressAt = Date.now();
      before = counts;
      const settled = short.every((i) => audit.sawChange(i)) && Date.now() - progressAt > SETTLED_GAP_MS;
      if (short.length === 0 || settled || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    // Daemon CPU per agreed message (user + system): unlike msgs/s, hardly moved by other load on the machine.
    const usPerMessage = (seconds: number) => Math.round((seconds * 1e6) / size.messages);
    const cpuUs = pids.map((pid, i) => usPerMessage(orNaN(processCpuSeconds, pid) - cpuBefore[i]!));
    // Run-queue wait per message: runnable while other tasks held both CPUs (docs/benchmarks.md).
    const waitUs = pids.map((pid, i) => usPerMessage(orNaN(runQueueWaitSeconds, pid) - waitBefore[i]!));
    const client = ownSchedulerTimes();
    const clientWaitUs = client.map((t, i) => usPerMessage(t.waitSeconds - clientBefore[i]!.waitSeconds));
    const clientCpuUs = client.map((t, i) => usPerMessage(t.runSeconds - clientBefore[i]!.runSeconds));
    // Context switches per message: how many turns of its loop a daemon took per message (docs/benchmarks.md).
    const switchesPerMsg = pids.map((pid, i) =>
      Number(((orNaN(contextSwitches, pid) - switchesBefore[i]!) / size.messages).toFixed(3)),
    );
    groups[COUNTER]!.off('message', onMessage);
    const audits = await audit.finish(size.messages);
    const seconds = Math.max(1e-6, (last - first) / 1000);
    const msgsPerS = Math.round((delivered - 1) / seconds);
    rows.push({
      label: size.label,
      msgsPerS,
      mbPerS: (msgsPerS * size.bytes) / 1e6,
      delivered,
      cpuUs,
      switches: switchesPerMsg,
      waitUs,
      clientWaitUs,
      clientCpuUs,
      audits,
    });
    // Each phase as it ends, so a run the machine's load breaks still shows what it measured.
    // (epoch ms of the phase: `bench/token-trace-report.ts` takes them to summarise the phase's token hops)
    const epoch = (t: number) => (performance.timeOrigin + t).toFixed(0);
    console.error(
      `${size.label}: ${msgsPerS} msgs/s (${delivered} delivered) ${epoch(first)} ${epoch(last)}, ` +
        `CPU µs/msg n1 n2 n3: ${cpuUs.join(' ')}, context switches/msg: ${switchesPerMsg.join(' ')}, ` +
        `run-queue wait µs/msg: ${waitUs.join(' ')}, client wait / CPU µs/msg (all threads, main thread): ` +
        `${clientWaitUs.join(' ')} / ${clientCpuUs.join(' ')}, ` +
        `load ${loadavg()[0]!.toFixed(2)}`,
    );
    for (const line of describeAudit(size.label, audits)) console.error(line);
  }
  const samples: number[] = [];
  const own = groups[SENDER]!;
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const text = `rt-${i}`;
    const started = performance.now();
    const delivered = new Promise<void>((resolve) => {
      const listener = (m: { data: Uint8Array }) => {
        if (Buffer.from(m.data).toString() === text) {
          own.off('message', listener);
          resolve();
        }
      };
      own.on('message', listener);
    });
    await own.send(text);
    await delivered;
    samples.push((performance.now() - started) * 1000);
  }
  samples.sort((a, b) => a - b);
  for (const c of clients) c.close();
  console.log(
    `size     msgs/s      MB/s  delivered  CPU µs/msg n1 / n2 / n3 (sender n${SENDER + 1})  context switches/msg n1 / n2 / n3`,
  );
  for (const r of rows) {
    console.log(
      `${r.label.padEnd(7)} ${String(r.msgsPerS).padStart(7)}  ${r.mbPerS.toFixed(1).padStart(8)}  ` +
        `${String(r.delivered).padStart(9)}  ${r.cpuUs.join(' / ').padEnd(33)}  ${r.switches.join(' / ')}`,
    );
  }
  console.log('size     run-queue wait µs/msg n1 / n2 / n3  client wait µs/msg all / main thread  client CPU µs/msg');
  for (const r of rows) {
    console.log(
      `${r.label.padEnd(7)}  ${r.waitUs.join(' / ').padEnd(34)}  ${r.clientWaitUs.join(' / ').padEnd(35)}  ` +
        r.clientCpuUs.join(' / '),
    );
  }
  console.log('size    node delivered  configuration changes (Totem ring, CPG confchg)  | counters that moved');
  for (const r of rows) for (const line of describeAudit(r.label, r.audits)) console.log(line);
  const bugs = rows.flatMap((r) =>
    r.audits.filter((a) => a.bug !== null).map((a) => `${r.label} n${a.node}: ${a.bug}`),
  );
  for (const bug of bugs) console.log(`*** BUG: ${bug} ***`);
  if (bugs.length > 0) process.exitCode = 1;
  const row = (label: string) => rows.find((r) => r.label === label);
  const mbPerS = (label: string) => {
    const found = row(label);
    return found === undefined ? undefined : Number(found.mbPerS.toFixed(1));
  };
  const p50 = Math.round(percentile(samples, 50));
  const p99 = Math.round(percentile(samples, 99));
  console.log(`self-delivery latency (64 B scale, ${ROUND_TRIPS} round trips): p50 ${p50} µs, p99 ${p99} µs`);
  console.log(
    JSON.stringify({
      policy: daemonPolicies(pids),
      msgs_per_s_64: row('64 B')?.msgsPerS,
      msgs_per_s_1k: row('1 KiB')?.msgsPerS,
      mb_per_s_1k: mbPerS('1 KiB'),
      msgs_per_s_64k: row('64 KiB')?.msgsPerS,
      cpu_us_per_msg: Object.fromEntries(rows.map((r) => [r.label.replace(' ', ''), r.cpuUs])),
      switches_per_msg: Object.fromEntries(rows.map((r) => [r.label.replace(' ', ''), r.switches])),
      run_queue_wait_us_per_msg: Object.fromEntries(rows.map((r) => [r.label.replace(' ', ''), r.waitUs])),
      client_wait_us_per_msg: Object.fromEntries(rows.map((r) => [r.label.replace(' ', ''), r.clientWaitUs])),
      client_cpu_us_per_msg: Object.fromEntries(rows.map((r) => [r.label.replace(' ', ''), r.clientCpuUs])),
      mb_per_s_64k: mbPerS('64 KiB'),
      receivers: Object.fromEntries(rows.map((r) => [r.label.replace(' ', ''), r.audits])),
      bugs,
      latency_p50_us: p50,
      latency_p99_us: p99,
      corosync_msgs_per_s_64: 38600,
      corosync_msgs_per_s_1k: 31100,
      corosync_mb_per_s_64k: 64.4,
      corosync_latency_p50_us: 240,
      corosync_latency_p99_us: 402,
    }),
  );
} finally {
  await cluster.stop();
}
