/**
 * `npm run bench:daemon`: resident memory of each daemon of a 3-node loopback cluster (2 links, crypto on), idle
 * after start and after 100,000 CPG messages. Target: ≤ 64 MiB per daemon (Corosync 3: 80.6 MB idle).
 * Prints a table, then one JSON line of the headline figures.
 */
import { readFileSync } from 'node:fs';
import { LocalCluster } from '../src/lab/local-cluster.ts';
import { sendMany } from './cpg-send.ts';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 100_000);
const MESSAGE_BYTES = 64;
const SETTLE_MS = 3000;

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
  const idle = pids.map(rssMiB);
  const clients = await Promise.all(cluster.nodes.map((n) => cluster.client(n.nodeid)));
  const groups = await Promise.all(clients.map((c) => c.cpgJoin('bench')));
  let received = 0;
  groups[0]!.on('message', () => received++);
  const payload = Buffer.alloc(MESSAGE_BYTES, 7);
  const started = performance.now();
  await Promise.all(
    groups.map(async (group, i) => {
      const share = Math.floor(MESSAGES / groups.length) + (i < MESSAGES % groups.length ? 1 : 0);
      await sendMany(group, payload, share);
    }),
  );
  const deadline = Date.now() + 120_000;
  while (received < MESSAGES && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const seconds = (performance.now() - started) / 1000;
  const loaded = pids.map(rssMiB);
  for (const c of clients) c.close();
  console.log('node  RSS idle (MiB)  RSS after messages (MiB)');
  for (const [i, n] of cluster.nodes.entries()) {
    console.log(`${n.name.padEnd(5)} ${idle[i]!.toFixed(1).padStart(14)}  ${loaded[i]!.toFixed(1).padStart(24)}`);
  }
  console.log(`${received} of ${MESSAGES} messages of ${MESSAGE_BYTES} B delivered on n1 in ${seconds.toFixed(1)} s`);
  console.log(
    JSON.stringify({
      rss_idle_mib_max: Number(Math.max(...idle).toFixed(1)),
      rss_loaded_mib_max: Number(Math.max(...loaded).toFixed(1)),
      messages: MESSAGES,
      delivered: received,
      msgs_per_s_via_client: Math.round(received / seconds),
      target_mib: 64,
    }),
  );
} finally {
  await cluster.stop();
}
