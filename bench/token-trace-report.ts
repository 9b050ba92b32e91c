/**
 * Summarises the token trace (`logging { debug: trace }` or COROLINK_TOKEN_TRACE=1) of the daemons of one ring:
 * `node --import tsx bench/token-trace-report.ts n1.log n2.log n3.log [fromEpochMs toEpochMs]`.
 * Per hop: step = socket read → core step, fwd = socket read → token handed to the socket (the visit: new
 * messages sent first), gap = the previous node's token send → this node's socket read of it (the kernel, the
 * scheduler, and this node still handling the visit's messages read before the token), reading = the socket read
 * of the first message since the previous token → the token's read, idle = time the node's event loop slept since
 * the previous token. A rotation is the sum of fwd + gap over the ring.
 * Prints p50 / p90 / p99 / mean of each in µs; per node also its queue at the token's arrival (application messages
 * waiting to be sent, `queued=` in the trace) and what each visit sent from it: visits that found it empty are
 * visits its senders left unused (docs/benchmarks.md, "Three senders under real-time scheduling").
 */
import { readFileSync } from 'node:fs';

interface Hop {
  node: number;
  seq: number;
  from: number;
  rx: number;
  step: number;
  fwd: number | null;
  rotation: number | null;
  messages: number;
  /** Socket read of the first message since the previous token → socket read of this token. */
  reading: number;
  /** Time this node's event loop slept since the previous token. */
  idle: number | null;
  /** Messages queued here as the token arrived and as it left (null: a trace without them). */
  queued: { atArrival: number; atForward: number } | null;
}

const LINE =
  /token hop seq=(\d+) from (\d+) rx=([\d.]+) step=\+(\d+)µs (?:to \d+ fwd=\+(\d+)µs|held)(?: rotation=([\d.]+)ms)? after (\d+) msgs from -(\d+)µs(?: idle=(\d+)µs)?(?: queued=(\d+)→(\d+))?/;
const files = process.argv.slice(2).filter((a) => !/^\d+(\.\d+)?$/.test(a));
const [from = 0, to = Number.POSITIVE_INFINITY] = process.argv
  .slice(2)
  .filter((a) => /^\d+(\.\d+)?$/.test(a))
  .map(Number);
const hops: Hop[] = [];
files.forEach((file, index) => {
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const rx = Number(m[3]);
    if (rx < from || rx > to) continue;
    hops.push({
      node: index + 1,
      seq: Number(m[1]),
      from: Number(m[2]),
      rx,
      step: Number(m[4]),
      fwd: m[5] === undefined ? null : Number(m[5]),
      rotation: m[6] === undefined ? null : Number(m[6]) * 1000,
      messages: Number(m[7]),
      reading: Number(m[8]),
      idle: m[9] === undefined ? null : Number(m[9]),
      queued: m[10] === undefined ? null : { atArrival: Number(m[10]), atForward: Number(m[11]) },
    });
  }
});
// The hop that forwarded token seq s - 1 (its sender), to measure the wire + scheduling gap.
const bySeq = new Map<number, Hop>();
for (const hop of hops) bySeq.set(hop.seq, hop);
const gaps: number[] = [];
const gapsByNode = new Map<number, number[]>();
for (const hop of hops) {
  const previous = bySeq.get(hop.seq - 1);
  // (token seqs start over with each ring: a "previous" hop later than this one, or long before, is another ring's)
  if (previous?.fwd == null || previous.rx > hop.rx || hop.rx - previous.rx >= 1000) continue;
  const gap = Math.round((hop.rx - previous.rx) * 1000 - previous.fwd);
  gaps.push(gap);
  gapsByNode.set(hop.node, [...(gapsByNode.get(hop.node) ?? []), gap]);
}
function summary(name: string, values: number[], unit = 'µs'): void {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
  const mean = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length);
  console.log(
    `${name.padEnd(9)} n=${String(sorted.length).padStart(6)}  p50 ${at(50)}  p90 ${at(90)}  p99 ${at(99)}  mean ${Math.round(mean)} ${unit}`,
  );
}
summary(
  'step',
  hops.map((h) => h.step),
);
summary(
  'fwd',
  hops.flatMap((h) => (h.fwd === null ? [] : [h.fwd])),
);
summary('gap', gaps);
summary(
  'reading',
  hops.map((h) => h.reading),
);
summary(
  'messages',
  hops.map((h) => h.messages),
);
summary(
  'rotation',
  hops.flatMap((h) => (h.rotation === null ? [] : [Math.round(h.rotation)])),
);
console.log(`held ${hops.filter((h) => h.fwd === null).length} of ${hops.length} hops`);
for (const [node, nodeGaps] of [...gapsByNode].sort((a, b) => a[0] - b[0])) {
  console.log(`node of ${files[node - 1]}:`);
  summary(
    '  fwd',
    hops.flatMap((h) => (h.node === node && h.fwd !== null ? [h.fwd] : [])),
  );
  summary('  gap', nodeGaps);
  summary(
    '  idle',
    hops.flatMap((h) => (h.node === node && h.idle !== null ? [h.idle] : [])),
  );
  const queued = hops.flatMap((h) => (h.node === node && h.queued !== null ? [h.queued] : []));
  if (queued.length === 0) continue;
  const empty = queued.filter((q) => q.atArrival === 0).length;
  const sent = queued.reduce((sum, q) => sum + Math.max(0, q.atArrival - q.atForward), 0);
  console.log(
    `  queue    ${empty} of ${queued.length} visits found it empty; ${sent} messages sent, ` +
      `${(sent / queued.length).toFixed(1)} per visit`,
  );
  summary(
    '  queued',
    queued.map((q) => q.atArrival),
    'messages',
  );
}
