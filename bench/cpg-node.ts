/**
 * One node's CPG client of the corolink throughput runs (./throughput.ts), in a process of its own as cpgbench is for
 * Corosync: it joins the group on its node's admin socket, reports `ready` once the group has a member on every
 * node, and at `go` sends (if it is a sender: ./cpg-send.ts, the library's flow control, at most `sendLimitMs`),
 * counts each sender's deliveries and the time of the last, and exits once the parent's `expect` is met or
 * `drainMs` passed. Lines on stdin: `go`, then `expect {"<nodeid>": count, …}`; lines on stdout: JSON.
 * Times are epoch milliseconds (performance.timeOrigin + now), comparable between the processes.
 * Usage: node --import tsx bench/cpg-node.ts '{"socket":…,"group":…,"members":3,"drainMs":…,"send":{"bytes":…,"count":…,"limitMs":…}}'
 */
import { createInterface } from 'node:readline';
import { CorolinkClient } from '../src/client/client.ts';
import type { CpgMessage } from '../src/client/cpg-group.ts';
import { sendMany, wholeGroup } from './cpg-send.ts';
import { ownSchedulerTimes } from './sched.ts';

interface Options {
  socket: string;
  group: string;
  members: number;
  /** Longest wait, after `expect`, for every expected message. */
  drainMs: number;
  send?: { bytes: number; count: number; limitMs: number };
}

const epochMs = () => performance.timeOrigin + performance.now();
const say = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

const options = JSON.parse(process.argv[2] ?? '{}') as Options;
const client = await CorolinkClient.connect({ socket: options.socket, reconnect: false });
const lost: string[] = [];
// The daemon closes a client that reads its deliveries too slowly (docs/client.md): say so.
client.on('disconnected', (error) => lost.push(error.message));
const counts = new Map<number, number>();
const last = new Map<number, number>();
const group = await client.cpgJoin(options.group);
group.on('message', (m: CpgMessage) => {
  counts.set(m.nodeid, (counts.get(m.nodeid) ?? 0) + 1);
  last.set(m.nodeid, epochMs());
});
await wholeGroup(group, options.members, 'corolink throughput');
say({ ready: true });

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const next = async () => String((await lines.next()).value ?? '');
if ((await next()) !== 'go') throw new Error('cpg-node: expected go');
const timesAtGo = ownSchedulerTimes();
if (options.send) {
  const start = epochMs();
  const payload = Buffer.alloc(options.send.bytes, 0x5a);
  const sent = await sendMany(group, payload, options.send.count, performance.now() + options.send.limitMs);
  say({ sent, start });
}
const expectLine = await next();
if (!expectLine.startsWith('expect ')) throw new Error('cpg-node: expected expect');
const expected = Object.entries(JSON.parse(expectLine.slice('expect '.length)) as Record<string, number>);
const deadline = Date.now() + options.drainMs;
const behind = () => expected.some(([nodeid, count]) => (counts.get(Number(nodeid)) ?? 0) < count);
while (behind() && lost.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
const ms = (seconds: number) => Math.round(seconds * 1000);
const sched = ownSchedulerTimes().map((now, i) => ({
  runMs: ms(now.runSeconds - timesAtGo[i]!.runSeconds),
  waitMs: ms(now.waitSeconds - timesAtGo[i]!.waitSeconds),
}));
say({ counts: Object.fromEntries(counts), last: Object.fromEntries(last), lost, sched });
client.close();
