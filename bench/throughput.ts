/**
 * Agreed (CPG) throughput on a 3-host lab, every host a group member, with one sender on n1 or one sender on every
 * node: messages and MB per second received per node, counted from the (earliest) sender's start to the node's last
 * delivery (cpgbench's `msgs_per_s`, the figure in ../shared/anchors/corosync-figures.md), the median of the 3
 * nodes; with several senders also each sender's rate and the max/min of those (the fairness of the flow control).
 * Corosync: ./cpgbench.c `-m send` / `-m recv` in the hosts' namespaces; corolink: the client library's CPG on the
 * lab daemons' admin sockets, one client process per node (./cpg-node.ts, as cpgbench), sending like bench/totem.ts
 * (./cpg-send.ts: the library's flow control). Each sender
 * sends `count` messages of `bytes` bytes; every run is bounded in time.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { NetnsLab } from '../src/lab/netns-lab.ts';
import { runCpgbench } from './round-trips.ts';
import { median } from './stats.ts';

/** Throughput received per node (median of the nodes), with what each node received. */
export interface Throughput {
  msgsPerS: number;
  mbPerS: number;
  /** Messages the senders got out, all senders together. */
  sent: number;
  /** Messages delivered, per node 1…3. */
  delivered: number[];
}

/** Throughput with a sender on every node. */
export interface MultiThroughput extends Throughput {
  /** Per sender (n1…n3): its messages delivered per second, median of the receiving nodes. */
  perSenderMsgsPerS: number[];
  /** Fastest sender's rate ÷ slowest one's (1 = a fair share each). */
  fairness: number;
}

/** A node's client process from `go` to its end: on a CPU and waiting for one (ms), all threads / the main thread. */
export interface ClientSchedulerMs {
  runMs: number;
  waitMs: number;
}

/** What one node received from one sender. */
interface Received {
  delivered: number;
  /** From the (earliest) sender's start to this sender's last message delivered on the node; 0 if none. */
  seconds: number;
}

/** Messages each of the 3 senders sends (together as many as bench:vs-corosync's 1-sender 1 KiB run). */
export const MULTI_SENDER_COUNT = 20_000;
/** bench:vs-corosync's throughput runs with one sender (a few seconds each at Corosync's anchor rates). */
export const SINGLE_SENDER_RUNS = [
  { key: '64', label: '64 B', bytes: 64, count: 80_000 },
  { key: '1k', label: '1 KiB', bytes: 1024, count: 60_000 },
  { key: '64k', label: '64 KiB', bytes: 64 * 1024, count: 3_000 },
] as const;
/** Its run with a sender on every node: this many messages of this size each. */
export const MULTI_SENDER_RUN = { key: 'Multi1k', label: '1 KiB', bytes: 1024, count: MULTI_SENDER_COUNT } as const;
/** Longest a corolink sender sends in one run (the rest of its `count` is not sent). */
export const COROLINK_SEND_LIMIT_MS = 8_000;
/** Longest wait, after the last send, for every node to deliver everything. */
const DRAIN_TIMEOUT_MS = 15_000;
/** Longest wait for one line of a node's client process beyond its sending and drain: its start and join. */
const NODE_START_TIMEOUT_MS = 15_000;
/** How long a client process that was told to end may take to exit by itself. */
const CLIENT_EXIT_GRACE_MS = 2_000;
const CPG_NODE_SCRIPT = fileURLToPath(new URL('./cpg-node.ts', import.meta.url));
/** Extra node flags for the client processes (e.g. `--cpu-prof --cpu-prof-dir=…`), space-separated. */
const CLIENT_NODE_ARGS = process.env.BENCH_CLIENT_NODE_ARGS?.split(' ').filter((a) => a !== '') ?? [];
const NODES = [1, 2, 3];
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `perNode[node][sender]`: every sender's messages on every node → the node-median rates. */
function summarize(bytes: number, sent: number, perNode: Received[][]): Throughput & { perSender: number[] } {
  const nodeRates = perNode
    .map((senders) => ({
      delivered: senders.reduce((a, r) => a + r.delivered, 0),
      seconds: Math.max(...senders.map((r) => r.seconds)),
    }))
    .filter((r) => r.seconds > 0)
    .map((r) => r.delivered / r.seconds);
  if (nodeRates.length === 0) throw new Error(`throughput ${bytes} B: no node delivered anything`);
  const msgsPerS = median(nodeRates);
  const senders = perNode[0]!.map((_, s) => s);
  const perSender = senders.map((s) =>
    median(perNode.map((node) => node[s]!).map((r) => (r.seconds > 0 ? r.delivered / r.seconds : 0))),
  );
  return {
    msgsPerS,
    mbPerS: (msgsPerS * bytes) / 1e6,
    sent,
    delivered: perNode.map((senders) => senders.reduce((a, r) => a + r.delivered, 0)),
    perSender,
  };
}

function multi(bytes: number, sent: number, perNode: Received[][]): MultiThroughput {
  const { perSender, ...total } = summarize(bytes, sent, perNode);
  const slowest = Math.min(...perSender);
  return {
    ...total,
    perSenderMsgsPerS: perSender,
    fairness: slowest > 0 ? Math.max(...perSender) / slowest : Number.POSITIVE_INFINITY,
  };
}

/** cpgbench on every node, `senders` of them in send mode; what each node received from each sender. */
async function corosyncRun(
  lab: NetnsLab,
  cpgbench: string,
  senders: number[],
  bytes: number,
  count: number,
  limitS: number,
): Promise<Received[][]> {
  const group = `tp${process.pid}${Date.now() % 100000}`;
  const common = ['-S', String(senders.length)];
  const receivers = NODES.filter((n) => !senders.includes(n)).map((n) =>
    runCpgbench(lab, cpgbench, n, group, ['-m', 'recv', ...common], limitS),
  );
  await pause(500);
  const sending = senders.map((n) =>
    runCpgbench(
      lab,
      cpgbench,
      n,
      group,
      ['-m', 'send', '-s', String(bytes), '-n', String(count), ...common, '-w', String(NODES.length)],
      limitS,
    ),
  );
  const runs = await Promise.all([...sending, ...receivers]);
  return NODES.map((n) => {
    const result = runs.find((run) => run.nodeid === n)?.result;
    if (result && result.complete !== true)
      console.error(`cpgbench ${bytes} B on n${n}: incomplete within ${limitS} s`);
    return senders.map((s) => {
      const from = result?.per_sender?.find((p) => p.nodeid === s);
      return from ? { delivered: from.delivered, seconds: from.last_from_send_start_s } : { delivered: 0, seconds: 0 };
    });
  });
}

/** Corosync, one sender (n1): cpgbench sender on n1, receivers on n2 and n3; each stops after `limitS` at the latest. */
export async function corosyncThroughput(
  lab: NetnsLab,
  cpgbench: string,
  bytes: number,
  count: number,
  limitS: number,
): Promise<Throughput> {
  const perNode = await corosyncRun(lab, cpgbench, [1], bytes, count, limitS);
  const { perSender: _, ...t } = summarize(bytes, count, perNode);
  return t;
}

/** Corosync, a cpgbench sender of `count` messages on every node. */
export async function corosyncMultiThroughput(
  lab: NetnsLab,
  cpgbench: string,
  bytes: number,
  count: number,
  limitS: number,
): Promise<MultiThroughput> {
  return multi(bytes, count * NODES.length, await corosyncRun(lab, cpgbench, NODES, bytes, count, limitS));
}

/** One node's client process (./cpg-node.ts) and its lines of output, read in order. */
class NodeProcess {
  private readonly lines: AsyncIterator<string>;
  readonly exited: Promise<number | null>;

  constructor(
    readonly nodeid: number,
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly lineTimeoutMs: number,
  ) {
    this.lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    child.stderr.on('data', (chunk: Buffer) => process.stderr.write(`cpg-node n${nodeid}: ${chunk}`));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** The next JSON line, or an error naming the node once the process ended or `lineTimeoutMs` passed. */
  async next<T>(): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<{ done: true; value: string }>((resolve) => {
      timer = setTimeout(() => resolve({ done: true, value: 'timed out' }), this.lineTimeoutMs);
    });
    const line = await Promise.race([this.lines.next(), timeout]).finally(() => clearTimeout(timer));
    if (line.done) throw new Error(`cpg-node n${this.nodeid}: no answer (${line.value ?? 'exited'})`);
    return JSON.parse(line.value) as T;
  }

  say(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  /** Closes its stdin; a process that has not exited within CLIENT_EXIT_GRACE_MS (it writes its profile on exit) is killed. */
  end(): void {
    this.child.stdin.end();
    if (this.child.exitCode !== null) return;
    const timer = setTimeout(() => this.child.kill(), CLIENT_EXIT_GRACE_MS);
    this.child.once('exit', () => clearTimeout(timer));
  }
}

/**
 * corolink: a client process on every node (./cpg-node.ts, as cpgbench runs on every node for Corosync) joins the
 * group; `senders` each send for at most `sendLimitMs`; every node counts each sender's deliveries. Resolves with
 * what each node received from each sender and the messages sent.
 */
async function corolinkRun(
  lab: NetnsLab,
  senders: number[],
  bytes: number,
  count: number,
  sendLimitMs: number,
): Promise<{ perNode: Received[][]; sent: number; clients: ClientSchedulerMs[][] }> {
  const group = `tp${process.pid}${Date.now() % 100000}`;
  const nodes = NODES.map((n) => {
    const options = {
      socket: lab.socket(n),
      group,
      members: NODES.length,
      drainMs: DRAIN_TIMEOUT_MS,
      ...(senders.includes(n) ? { send: { bytes, count, limitMs: sendLimitMs } } : {}),
    };
    const child = spawn(
      process.execPath,
      [...CLIENT_NODE_ARGS, '--import', 'tsx', CPG_NODE_SCRIPT, JSON.stringify(options)],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    return new NodeProcess(n, child, sendLimitMs + DRAIN_TIMEOUT_MS + NODE_START_TIMEOUT_MS);
  });
  try {
    for (const node of nodes) await node.next<{ ready: true }>();
    for (const node of nodes) node.say('go');
    const sending = await Promise.all(
      senders.map((n) => nodes[NODES.indexOf(n)]!.next<{ sent: number; start: number }>()),
    );
    const start = Math.min(...sending.map((s) => s.start));
    const expected = Object.fromEntries(senders.map((n, i) => [n, sending[i]!.sent]));
    for (const node of nodes) node.say(`expect ${JSON.stringify(expected)}`);
    const results = await Promise.all(
      nodes.map((node) =>
        node.next<{
          counts: Record<string, number>;
          last: Record<string, number>;
          lost: string[];
          sched: ClientSchedulerMs[];
        }>(),
      ),
    );
    const lost = results.flatMap((r, i) => r.lost.map((why) => `n${NODES[i]}: ${why}`));
    const counts = results.map((r) => senders.map((s) => r.counts[s] ?? 0));
    if (counts.some((node) => node.some((c, s) => c < sending[s]!.sent)))
      console.error(
        `corolink throughput ${bytes} B: delivered ${JSON.stringify(counts)} of ${JSON.stringify(expected)}; lost connections: ${lost}`,
      );
    const perNode = results.map((r, i) =>
      senders.map((s, j) => {
        const delivered = counts[i]![j]!;
        return { delivered, seconds: delivered > 0 ? (r.last[s]! - start) / 1000 : 0 };
      }),
    );
    return { perNode, sent: sending.reduce((a, s) => a + s.sent, 0), clients: results.map((r) => r.sched) };
  } finally {
    for (const node of nodes) node.end();
    await Promise.all(nodes.map((node) => node.exited));
  }
}

/** corolink, one sender: the client library on n1 sends for at most `sendLimitMs`; n1…n3 count deliveries. */
export async function corolinkThroughput(
  lab: NetnsLab,
  bytes: number,
  count: number,
  sendLimitMs: number,
): Promise<Throughput> {
  const { perNode, sent } = await corolinkRun(lab, [1], bytes, count, sendLimitMs);
  const { perSender: _, ...t } = summarize(bytes, sent, perNode);
  return t;
}

/** corolink, a sender on every node, each sending `count` messages for at most `sendLimitMs`. */
export async function corolinkMultiThroughput(
  lab: NetnsLab,
  bytes: number,
  count: number,
  sendLimitMs: number,
): Promise<MultiThroughput & { clients: ClientSchedulerMs[][] }> {
  const { perNode, sent, clients } = await corolinkRun(lab, NODES, bytes, count, sendLimitMs);
  return { ...multi(bytes, sent, perNode), clients };
}
