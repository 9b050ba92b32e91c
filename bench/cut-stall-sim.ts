/**
 * `node --import tsx bench/cut-stall-sim.ts`: the cable-cut run in the deterministic simulator (Totem + transport
 * cores, 3 nodes × 2 links, passive mode, the fast link profile, 0.1 ms one-way latency) — what the cut itself costs,
 * free of the scheduling noise of a shared machine. A sender makes agreed round trips (multicast, wait for its own
 * delivery) for ROUND_TRIP_MS of virtual time; CUT_AFTER_MS in, n3's link0 cable is pulled silently both ways (no send error, as in the lab).
 * Per sender (n1: n3 only receives on the cut cable; n3: its own messages go out on it): the longest round trip,
 * the longest time from a multicast to its delivery on each node, the data frames re-sent by the transport on the
 * standby and by Totem (retransmission requests), and the datagrams per round trip; then, for the message that
 * waited longest, a timeline of its frames and the heartbeats of the cut link. A table, then one JSON line.
 */
import { SimCluster } from '../src/sim/cluster.ts';

const NODES = [1, 2, 3];
const SETTLE_MS = 3_000;
/** `CUT_SHIFT_MS=x` pulls the cable x ms later: the cut's phase against the heartbeat grid sets what it costs. */
const CUT_AFTER_MS = 500 + Number(process.env.CUT_SHIFT_MS ?? 0);
const ROUND_TRIP_MS = 1_500;
const POLL_MS = 0.05;
const ROUND_TRIP_LIMIT_MS = 1_000;
/** Frame header: type at byte 3, link at byte 5, source node id at 12, sequence number at 20 (src/wire/packet.ts). */
const TYPE_NAMES = ['?', 'data', 'fragment', 'ping', 'pong', 'pmtuProbe', 'pmtuReply'];

interface Datagram {
  at: number;
  from: number;
  to: number;
  link: number;
  type: string;
  seq: number;
  bytes: number;
}

function run(sender: number) {
  const cluster = new SimCluster({ seed: 1, nodes: NODES, links: 2 });
  if (!cluster.runUntil(() => cluster.converged(), 10_000)) throw new Error('no ring of 3');
  cluster.runFor(SETTLE_MS);
  const sent: Datagram[] = [];
  const network = cluster.network;
  const send = network.send.bind(network);
  network.send = (from, to, link, bytes) => {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    sent.push({
      at: cluster.scheduler.now(),
      from,
      to,
      link,
      type: TYPE_NAMES[bytes[3]!] ?? '?',
      seq: bytes.length >= 24 ? view.getUint32(20) : -1,
      bytes: bytes.length,
    });
    return send(from, to, link, bytes);
  };
  // When each node delivered each payload id.
  const deliveredAt = new Map<number, Map<number, number>>(NODES.map((n) => [n, new Map()]));
  for (const node of NODES) {
    const entries = cluster.node(node).trace.entries;
    const push = entries.push.bind(entries);
    entries.push = (...items) => {
      for (const item of items) {
        if (item.kind === 'deliver' && item.sender === sender && item.payload.length === 4) {
          deliveredAt
            .get(node)!
            .set(new DataView(item.payload.buffer, item.payload.byteOffset).getUint32(0), cluster.scheduler.now());
        }
      }
      return push(...items);
    };
  }
  const start = cluster.scheduler.now();
  const cutAt = start + CUT_AFTER_MS;
  // As in the lab (the switch end of the cable goes down): silent both ways, n3 gets no send error.
  cluster.scheduler.at(cutAt, () => {
    network.cut(3, 0, 'in');
    for (const peer of NODES) if (peer !== 3) network.blockPair(3, peer, 0);
  });
  const multicastAt: number[] = [];
  const own = deliveredAt.get(sender)!;
  for (let id = 0; cluster.scheduler.now() < start + ROUND_TRIP_MS; id++) {
    const payload = new Uint8Array(4);
    new DataView(payload.buffer).setUint32(0, id);
    multicastAt.push(cluster.scheduler.now());
    if (!cluster.multicast(sender, payload)) throw new Error('multicast refused');
    if (!cluster.runUntil(() => own.has(id), ROUND_TRIP_LIMIT_MS, POLL_MS)) throw new Error(`round trip ${id} lost`);
  }
  cluster.runFor(500);
  const roundTripsMs = multicastAt.map((at, id) => own.get(id)! - at);
  const afterCut = (id: number) => multicastAt[id]! >= cutAt - 50;
  let worst = { node: 0, id: 0, ms: 0 };
  const longest: Record<string, number> = {};
  for (const node of NODES) {
    let max = 0;
    for (let id = 0; id < multicastAt.length; id++) {
      const ms = (deliveredAt.get(node)!.get(id) ?? Number.POSITIVE_INFINITY) - multicastAt[id]!;
      if (afterCut(id)) max = Math.max(max, ms);
      if (afterCut(id) && ms > worst.ms) worst = { node, id, ms };
    }
    longest[`n${node}`] = Number(max.toFixed(2));
  }
  const window = sent.filter((d) => d.at >= start && d.at < start + ROUND_TRIP_MS);
  const before = roundTripsMs.filter((_, id) => !afterCut(id));
  const after = roundTripsMs.filter((_, id) => afterCut(id));
  const snapshot = (node: number) => cluster.node(node).transport.counters();
  const row = {
    sender,
    roundTrips: multicastAt.length,
    longestRoundTripBeforeCutMs: Number(Math.max(...before).toFixed(2)),
    longestRoundTripAfterCutMs: Number(Math.max(...after).toFixed(2)),
    longestDeliveryAfterCutMs: longest,
    suspectResends: NODES.reduce((sum, n) => sum + snapshot(n).suspectResends, 0),
    failoverResends: NODES.reduce((sum, n) => sum + snapshot(n).failoverResends, 0),
    totemRetransmits: NODES.reduce((sum, n) => sum + cluster.snapshot(n).retransmitted, 0),
    datagramsPerRoundTrip: Number((window.length / multicastAt.length).toFixed(2)),
    bytesPerRoundTrip: Number((window.reduce((sum, d) => sum + d.bytes, 0) / multicastAt.length).toFixed(1)),
  };
  // Timeline of the message that waited longest: from its multicast to its delivery on the slowest node.
  const from = multicastAt[worst.id]!;
  const until = from + worst.ms;
  const timeline = sent
    .filter((d) => d.at >= from - 0.01 && d.at <= until + 0.01)
    .filter((d) => (d.type !== 'ping' && d.type !== 'pong' ? true : d.link === 0 && (d.from === 3 || d.to === 3)))
    .map(
      (d) => `${(d.at - cutAt).toFixed(2)} ms: n${d.from}→n${d.to} link${d.link} ${d.type} seq ${d.seq} (${d.bytes} B)`,
    );
  return { row, worst: { ...worst, multicastAfterCutMs: Number((from - cutAt).toFixed(2)) }, timeline };
}

const results = [1, 3].map(run);
console.log(
  '| sender | round trips | longest round trip before / after the cut (ms) | longest delivery after the cut n1 / n2 / n3 (ms) | suspect re-sends | failover re-sends | Totem retransmits | datagrams / B per round trip |',
);
console.log('|---|---|---|---|---|---|---|---|');
for (const { row } of results) {
  const d = row.longestDeliveryAfterCutMs;
  console.log(
    `| n${row.sender} | ${row.roundTrips} | ${row.longestRoundTripBeforeCutMs} / ${row.longestRoundTripAfterCutMs} | ${d.n1} / ${d.n2} / ${d.n3} | ${row.suspectResends} | ${row.failoverResends} | ${row.totemRetransmits} | ${row.datagramsPerRoundTrip} / ${row.bytesPerRoundTrip} |`,
  );
}
for (const { row, worst, timeline } of results) {
  console.log(
    `\nsender n${row.sender}: slowest delivery: message ${worst.id} on n${worst.node}, ${worst.ms.toFixed(2)} ms (multicast ${worst.multicastAfterCutMs} ms after the cut); its datagrams and n3's link0 heartbeats (ms after the cut):`,
  );
  for (const line of timeline.slice(0, 60)) console.log(`  ${line}`);
  if (timeline.length > 60) console.log(`  … ${timeline.length - 60} more`);
}
console.log(JSON.stringify(results.map((r) => ({ ...r.row, worst: r.worst }))));
