/**
 * Splits bench:latency's round trips by stage from a COROLINK_STAGE_TRACE run (src/base/stage-trace.ts):
 * `node --import tsx bench/stage-report.ts <prefix>` merges `<prefix>.<pid>` of the client and the three daemons
 * (`<prefix>.meta.json` names them) and, per measured round trip of node 1's client, takes the stages below from
 * the stamps between its write and its read; prints p50 / p99 / mean per stage and message size, in µs, and how
 * the token stood when node 1 queued the message (held there, or away and how far).
 */
import { readFileSync } from 'node:fs';
import { percentile } from './stats.ts';

interface Stamp {
  ns: bigint;
  who: string;
  what: string;
}

const prefix = process.argv[2];
if (!prefix) throw new Error('usage: stage-report.ts <trace prefix>');
const meta = JSON.parse(readFileSync(`${prefix}.meta.json`, 'utf8')) as {
  client: number;
  senderSocket: string;
  nodes: number[];
};
const stamps: Stamp[] = [];
const load = (pid: number, who: string) => {
  for (const line of readFileSync(`${prefix}.${pid}`, 'utf8').split('\n')) {
    const space = line.indexOf(' ');
    if (space > 0) stamps.push({ ns: BigInt(line.slice(0, space)), who, what: line.slice(space + 1) });
  }
};
load(meta.client, 'C');
for (const [i, pid] of meta.nodes.entries()) load(pid, `n${i + 1}`);
stamps.sort((a, b) => (a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : 0));

/** The stages, in order: each ends at the named stamp, the first one found after the previous stage's end. */
const STAGES: { name: string; who: string; what: (w: string) => boolean }[] = [
  { name: 'client send → socket write', who: 'C', what: (w) => w === `client.flush ${meta.senderSocket}` },
  { name: 'socket write → n1 reads the IPC frame', who: 'n1', what: (w) => w === 'ipcRead' },
  { name: 'IPC read → queued in Totem', who: 'n1', what: (w) => w === 'queue' },
  { name: 'queued → MCAST sent by Totem (token wait)', who: 'n1', what: (w) => w === 'tx.mcast all' },
  { name: 'MCAST → first sendmsg', who: 'n1', what: (w) => w.startsWith('sendmsg') },
  { name: 'sendmsg → own delivery', who: 'n1', what: (w) => w === 'deliver 1' },
  { name: 'delivery → IPC write', who: 'n1', what: (w) => w === 'ipcWrite' },
  { name: 'IPC write → client reads the socket', who: 'C', what: (w) => w === `client.data ${meta.senderSocket}` },
  { name: 'client socket read → message event', who: 'C', what: (w) => w === 'client.read' },
];

const bySize = new Map<string, { stages: number[][]; total: number[]; tokenAt: Map<string, number[]> }>();
let skipped = 0;
for (let i = 0; i < stamps.length; i++) {
  const start = stamps[i]!;
  if (start.who !== 'C' || !start.what.startsWith('client.write ') || start.what.endsWith('warmup')) continue;
  const size = start.what.slice('client.write '.length);
  let entry = bySize.get(size);
  if (!entry) {
    entry = { stages: STAGES.map(() => []), total: [], tokenAt: new Map() };
    bySize.set(size, entry);
  }
  // Where the token was when node 1 queued the message: node 1's last token stamp before its `queue`.
  let at = i + 1;
  const ends: bigint[] = [];
  for (const stage of STAGES) {
    while (at < stamps.length && !(stamps[at]!.who === stage.who && stage.what(stamps[at]!.what))) {
      if (stamps[at]!.who === 'C' && stamps[at]!.what.startsWith('client.write ')) break;
      at++;
    }
    if (at >= stamps.length || stamps[at]!.what.startsWith('client.write ')) break;
    ends.push(stamps[at]!.ns);
  }
  if (ends.length < STAGES.length) {
    skipped++;
    continue;
  }
  let previous = start.ns;
  ends.forEach((end, s) => {
    entry.stages[s]!.push(Number(end - previous) / 1000);
    previous = end;
  });
  entry.total.push(Number(ends.at(-1)! - start.ns) / 1000);
  const queuedAt = ends[2]!;
  let last: Stamp | undefined;
  for (let j = i; j >= 0 && j > i - 400; j--) {
    const s = stamps[j]!;
    if (s.who === 'n1' && s.ns < queuedAt && (s.what.startsWith('rx.token') || s.what.startsWith('tx.token'))) {
      last = s;
      break;
    }
  }
  const state = last === undefined ? 'unknown' : last.what.startsWith('rx.token') ? 'held at n1' : 'away';
  const totals = entry.tokenAt.get(state) ?? [];
  totals.push(entry.total.at(-1)!);
  entry.tokenAt.set(state, totals);
}

const fmt = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return `${Math.round(percentile(sorted, 50))} | ${Math.round(percentile(sorted, 99))} | ${Math.round(mean)}`;
};
for (const [size, entry] of bySize) {
  console.log(`\n${size} B: ${entry.total.length} round trips (${skipped} not matched in all sizes)`);
  console.log('| stage | p50 (µs) | p99 (µs) | mean (µs) |\n|---|---|---|---|');
  for (const [s, stage] of STAGES.entries()) console.log(`| ${stage.name} | ${fmt(entry.stages[s]!)} |`);
  console.log(`| **round trip** | ${fmt(entry.total)} |`);
  for (const [state, totals] of entry.tokenAt)
    console.log(`| round trip, token ${state} when queued (${totals.length}) | ${fmt(totals)} |`);
}
