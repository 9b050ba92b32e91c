/**
 * A formation as a timeline, from the daemons' logs of one bench:scale run (SCALE_KEEP_LOGS=DIR keeps them):
 * `node --import tsx bench/scale-timeline.ts DIR/32`. Second by second from the first daemon's first line: daemons
 * starting and ready, links up and down, hosts with no link left, nodes Totem took out as unreachable, memberships
 * formed, "not scheduled" warnings; then per host when it started, was ready, had its first and all of its links
 * up, and formed its last membership; and when the last host's quorum was complete. Shows where the seconds of a
 * formation go (docs/benchmarks.md § Scale). Prints the tables and, as the last line, one JSON object.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: scale-timeline.ts DIR (the n<id>.log files of one run)');
  process.exit(2);
}

const EVENTS = {
  start: 'starting: node',
  ready: 'ready to provide service',
  linkUp: ' is up',
  linkDown: ' is down',
  noLink: 'has no active links',
  unreachable: 'unreachable on every link',
  membership: 'A new membership',
  notScheduled: 'not scheduled for',
  quorate: 'within the primary component',
} as const;
type Kind = keyof typeof EVENTS;
const KINDS = Object.keys(EVENTS) as Kind[];

const LINE = /^\w{3} \d{2} (\d{2}):(\d{2}):(\d{2})\.(\d{3}) \[\d+\] n(\d+) \S+ \S+\s+(.*)$/;
const LINK = /host: (\d+) link: (\d+) is (up|down)/;

interface Entry {
  atS: number;
  node: number;
  text: string;
}

const entries: Entry[] = [];
for (const file of readdirSync(dir).filter((f) => /^n\d+\.log$/.test(f))) {
  for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
    const m = LINE.exec(line);
    if (m) entries.push({ atS: +m[1]! * 3600 + +m[2]! * 60 + +m[3]! + +m[4]! / 1000, node: +m[5]!, text: m[6]! });
  }
}
if (entries.length === 0) {
  console.error(`scale-timeline: no daemon log lines in ${dir}`);
  process.exit(2);
}
entries.sort((a, b) => a.atS - b.atS);
const t0 = entries[0]!.atS;

const perSecond: Record<Kind, number>[] = [];
interface HostTimes {
  start?: number;
  ready?: number;
  firstUp?: number;
  allUp?: number;
  lastMembership?: number;
  quorate?: number;
}
const hosts = new Map<number, HostTimes>();
const upLinks = new Map<number, Set<string>>();
const nodeCount = new Set(entries.map((e) => e.node)).size;
const linksPerHost = (() => {
  const links = new Set(entries.map((e) => LINK.exec(e.text)?.[2]).filter((l) => l !== undefined));
  return (nodeCount - 1) * links.size;
})();

for (const { atS, node, text } of entries) {
  const t = atS - t0;
  const second = Math.floor(t);
  for (let s = perSecond.length; s <= second; s++)
    perSecond.push(Object.fromEntries(KINDS.map((k) => [k, 0])) as never);
  const host = hosts.get(node) ?? {};
  hosts.set(node, host);
  for (const kind of KINDS) {
    if (!text.includes(EVENTS[kind])) continue;
    perSecond[second]![kind]++;
    if (kind === 'start') host.start ??= t;
    if (kind === 'ready') host.ready ??= t;
    if (kind === 'membership') host.lastMembership = t;
    if (kind === 'quorate') host.quorate = t;
  }
  const link = LINK.exec(text);
  if (link) {
    const up = upLinks.get(node) ?? new Set<string>();
    upLinks.set(node, up);
    if (link[3] === 'up') {
      up.add(`${link[1]}/${link[2]}`);
      host.firstUp ??= t;
      if (up.size === linksPerHost) host.allUp = t;
    } else {
      up.delete(`${link[1]}/${link[2]}`);
    }
  }
}

const fmt = (v: number | undefined) => (v === undefined ? '–' : v.toFixed(1));
console.log(`${nodeCount} daemons, ${linksPerHost} peer links each; seconds from the first log line`);
console.log('');
console.log(`| s | ${KINDS.join(' | ')} |`);
console.log(`|${'---|'.repeat(KINDS.length + 1)}`);
perSecond.forEach((counts, s) => {
  if (KINDS.some((k) => counts[k] > 0)) console.log(`| ${s} | ${KINDS.map((k) => counts[k]).join(' | ')} |`);
});
console.log('');
console.log('| host | start | ready | first link up | all links up | last membership | quorate |');
console.log('|---|---|---|---|---|---|---|');
const ids = [...hosts.keys()].sort((a, b) => a - b);
for (const id of ids) {
  const h = hosts.get(id)!;
  console.log(
    `| n${id} | ${fmt(h.start)} | ${fmt(h.ready)} | ${fmt(h.firstUp)} | ${fmt(h.allUp)} | ${fmt(h.lastMembership)} | ${fmt(h.quorate)} |`,
  );
}
const last = (pick: (h: HostTimes) => number | undefined) => {
  const values = ids.map((id) => pick(hosts.get(id)!));
  return values.some((v) => v === undefined) ? null : Number(Math.max(...(values as number[])).toFixed(1));
};
const totals = Object.fromEntries(KINDS.map((k) => [k, perSecond.reduce((sum, c) => sum + c[k], 0)]));
console.log('');
console.log(
  JSON.stringify({
    nodes: nodeCount,
    lastReadyS: last((h) => h.ready),
    lastAllLinksUpS: last((h) => h.allUp),
    lastMembershipS: last((h) => h.lastMembership),
    lastQuorateS: last((h) => h.quorate),
    totals,
  }),
);
