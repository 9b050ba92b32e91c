/**
 * Agreed (CPG) throughput on a 3-host lab, one sender on n1, every host a group member: messages and MB per
 * second received per node, counted from the sender's start to the node's last delivery (cpgbench's
 * `msgs_per_s`, the figure in ../shared/anchors/corosync-figures.md), the median of the 3 nodes. Corosync:
 * ../shared/anchors/corosync/cpgbench.c `-m send` / `-m recv` in the hosts' namespaces; corolink: the client
 * library's CPG on the lab daemons' admin sockets, sending like bench/totem.ts (./cpg-send.ts: the library's
 * flow control). Both send `count` messages of `bytes` bytes; every run is bounded in time.
 */
import { CorolinkClient } from '../src/client/client.ts';
import type { CpgConfchg, CpgGroup } from '../src/client/cpg-group.ts';
import type { NetnsLab } from '../src/lab/netns-lab.ts';
import { sendMany } from './cpg-send.ts';
import { runCpgbench } from './round-trips.ts';

/** Throughput received per node (median of the nodes), with what each node received. */
export interface Throughput {
  msgsPerS: number;
  mbPerS: number;
  /** Messages the sender got out. */
  sent: number;
  /** Messages delivered, per node 1…3. */
  delivered: number[];
}

/** Longest wait for the 3-member group. */
const JOIN_TIMEOUT_MS = 10_000;
/** Longest wait, after the last send, for every node to deliver everything. */
const DRAIN_TIMEOUT_MS = 15_000;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function summarize(bytes: number, sent: number, perNode: { delivered: number; seconds: number }[]): Throughput {
  const rates = perNode.filter((r) => r.seconds > 0).map((r) => r.delivered / r.seconds);
  if (rates.length === 0) throw new Error(`throughput ${bytes} B: no node delivered anything`);
  const msgsPerS = median(rates);
  return { msgsPerS, mbPerS: (msgsPerS * bytes) / 1e6, sent, delivered: perNode.map((r) => r.delivered) };
}

/** Corosync: cpgbench sender on n1, receivers on n2 and n3; each stops after `limitS` (-T) at the latest. */
export async function corosyncThroughput(
  lab: NetnsLab,
  cpgbench: string,
  bytes: number,
  count: number,
  limitS: number,
): Promise<Throughput> {
  const group = `tp${process.pid}${Date.now() % 100000}`;
  const receivers = [2, 3].map((n) => runCpgbench(lab, cpgbench, n, group, ['-m', 'recv', '-S', '1'], limitS));
  await pause(500);
  const sender = runCpgbench(
    lab,
    cpgbench,
    1,
    group,
    ['-m', 'send', '-s', String(bytes), '-n', String(count), '-S', '1', '-w', '3'],
    limitS,
  );
  const runs = await Promise.all([sender, ...receivers]);
  const perNode = runs.map((run) => {
    if (!run.result) return { delivered: 0, seconds: 0 };
    if (run.result.complete !== true)
      console.error(`cpgbench ${bytes} B on n${run.nodeid}: incomplete within ${limitS} s`);
    return { delivered: Number(run.result.delivered), seconds: Number(run.result.elapsed_from_send_start_s) };
  });
  return summarize(bytes, runs[0]!.result ? count : Number.NaN, perNode);
}

/** corolink: the client library on n1 sends for at most `sendLimitMs`; n1…n3 count deliveries. */
export async function corolinkThroughput(
  lab: NetnsLab,
  bytes: number,
  count: number,
  sendLimitMs: number,
): Promise<Throughput> {
  const name = `tp${process.pid}${Date.now() % 100000}`;
  const clients: CorolinkClient[] = [];
  try {
    const lost: string[] = [];
    for (const n of [1, 2, 3]) {
      const client = await CorolinkClient.connect({ socket: lab.socket(n), reconnect: false });
      // The daemon closes a client that reads its deliveries too slowly (docs/client.md): say so.
      client.on('disconnected', (error) => lost.push(`n${n}: ${error.message}`));
      clients.push(client);
    }
    const counts = [0, 0, 0];
    const last = [0, 0, 0];
    let members = 0;
    const groups: CpgGroup[] = [];
    for (const [i, client] of clients.entries()) {
      const group = await client.cpgJoin(name);
      // Attached right after the join: its events are held until then.
      if (i === 0) group.on('confchg', (c: CpgConfchg) => (members = c.members.length));
      group.on('message', () => {
        counts[i]!++;
        last[i] = performance.now();
      });
      groups.push(group);
    }
    const joinDeadline = Date.now() + JOIN_TIMEOUT_MS;
    while (members < 3) {
      if (Date.now() > joinDeadline) throw new Error(`corolink throughput: only ${members} group members`);
      await pause(10);
    }
    const payload = Buffer.alloc(bytes, 0x5a);
    const start = performance.now();
    const stopAt = start + sendLimitMs;
    const sent = await sendMany(groups[0]!, payload, count, stopAt);
    const drainDeadline = Date.now() + DRAIN_TIMEOUT_MS;
    while (counts.some((c) => c < sent) && lost.length === 0 && Date.now() < drainDeadline) await pause(10);
    if (counts.some((c) => c < sent))
      console.error(`corolink throughput ${bytes} B: delivered ${counts} of ${sent}; lost connections: ${lost}`);
    return summarize(
      bytes,
      sent,
      counts.map((delivered, i) => ({ delivered, seconds: delivered > 0 ? (last[i]! - start) / 1000 : 0 })),
    );
  } finally {
    for (const client of clients) client.close();
  }
}
