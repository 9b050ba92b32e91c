/**
 * bench:transport — two corolink processes on loopback (link0 127.0.10.x, link1 127.0.20.x), crypto on:
 * throughput for 64 B / 1 KiB / 64 KiB messages, raw node:dgram 1 KiB for comparison, and the longest delivery gap
 * of a 1,000 msg/s stream when link0 is cut silently mid-stream (passive and active link mode).
 * Prints a table, then one JSON line of the headline figures. Bounded: every phase has a duration and a timeout.
 */
import { PONG_TIMEOUT_BACKOFF_START, PONG_TIMEOUT_BACKOFF_STEP_MS } from '../src/transport/limits.ts';
import type { LinkMode } from '../src/transport/types.ts';
import { testAuthkey } from '../test/crypto/helpers.ts';
import {
  ETHERNET_DATAGRAM_BYTES,
  LOOPBACK_DATAGRAM_BYTES,
  loopbackAddress,
  pairConfigs,
} from '../test/udp/peer-config.ts';
import { freePorts, type PeerEvent, PeerProcess } from '../test/udp/peer-process.ts';
import type { ReceiveSummary } from '../test/udp/receive-tally.ts';

const BLAST_MS = 3000;
const SIZES_BYTES = [64, 1024, 64 * 1024] as const;
const RAW_SIZE_BYTES = 1024;
const STREAM_RATE_PER_S = 1000;
const STREAM_MESSAGES = 3000;
const STREAM_MESSAGE_BYTES = 100;
const CUT_AFTER_MESSAGES = 1000;
const STREAM_RETRANSMIT_MS = 1000;
/** knet's pong-timeout backoff (×10 after a link comes up, −1 per second) must have decayed before the cut. */
const BACKOFF_DECAY_MS = PONG_TIMEOUT_BACKOFF_START * PONG_TIMEOUT_BACKOFF_STEP_MS + 500;
const STARTUP_TIMEOUT_MS = 20_000;
const PHASE_TIMEOUT_MS = 20_000;
const REPLY_TIMEOUT_MS = 5000;
/** After a blast, the receiver is polled until its count stops growing (in-flight datagrams drained). */
const DRAIN_POLL_MS = 250;
const DRAIN_POLLS_MAX = 20;
const BYTES_PER_MB = 1e6;

interface Row {
  test: string;
  sent: number;
  delivered: number;
  msgsPerS: number;
  mbPerS: number;
  lossPct: number;
}

const running: PeerProcess[] = [];

async function startPair(
  linkMode: LinkMode,
  maxDatagramBytes = ETHERNET_DATAGRAM_BYTES,
): Promise<{ peers: PeerProcess[]; upAt: number }> {
  const addresses = [1, 2].flatMap((nodeId) => [0, 1].map((link) => loopbackAddress(nodeId, link)));
  const ports = await freePorts(addresses);
  const configs = pairConfigs(
    linkMode,
    [ports.slice(0, 2), ports.slice(2, 4)],
    testAuthkey().toString('hex'),
    maxDatagramBytes,
  );
  const peers = configs.map((config) => PeerProcess.spawn(config));
  running.push(...peers);
  for (const [index, peer] of peers.entries()) {
    for (const link of [0, 1]) {
      await peer.waitFor(
        (event) => event.event === 'linkUp' && event.nodeId === 2 - index && event.link === link,
        STARTUP_TIMEOUT_MS,
        `node ${index + 1} link ${link} up`,
      );
    }
  }
  return { peers, upAt: performance.now() };
}

async function receiverStats(receiver: PeerProcess): Promise<ReceiveSummary> {
  let last = -1;
  let stats = (await receiver.request({ cmd: 'recvStats' }, 'recvStats', REPLY_TIMEOUT_MS)) as PeerEvent &
    ReceiveSummary;
  for (let poll = 0; poll < DRAIN_POLLS_MAX && stats.delivered !== last; poll++) {
    last = stats.delivered;
    await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    stats = (await receiver.request({ cmd: 'recvStats' }, 'recvStats', REPLY_TIMEOUT_MS)) as PeerEvent & ReceiveSummary;
  }
  return stats;
}

async function throughput(
  sender: PeerProcess,
  receiver: PeerProcess,
  test: string,
  cmd: 'blast' | 'rawBlast',
  size: number,
  target: { address: string; port: number } | null,
): Promise<Row> {
  receiver.send({ cmd: 'resetRecv' });
  const done = await sender.request(
    { cmd, to: 2, size, durationMs: BLAST_MS, ...(target ?? {}) },
    'blastDone',
    BLAST_MS + PHASE_TIMEOUT_MS,
  );
  const stats = await receiverStats(receiver);
  const seconds = Math.max(stats.spanMs, 1) / 1000;
  const sent = done.sent as number;
  return {
    test,
    sent,
    delivered: stats.unique,
    msgsPerS: Math.round(stats.unique / seconds),
    mbPerS: Math.round((stats.bytes / seconds / BYTES_PER_MB) * 10) / 10,
    lossPct: Math.round((1 - stats.unique / sent) * 1000) / 10,
  };
}

async function measureGap(sender: PeerProcess, receiver: PeerProcess, peers: PeerProcess[]) {
  receiver.send({ cmd: 'resetRecv' });
  const from = sender.events.length;
  sender.send({
    cmd: 'stream',
    to: 2,
    count: STREAM_MESSAGES,
    ratePerS: STREAM_RATE_PER_S,
    size: STREAM_MESSAGE_BYTES,
    retransmitMs: STREAM_RETRANSMIT_MS,
  });
  await sender.waitFor(
    (event) => event.event === 'streamProgress' && (event.sent as number) >= CUT_AFTER_MESSAGES,
    PHASE_TIMEOUT_MS,
    'stream progress',
    from,
  );
  receiver.send({ cmd: 'markRecv' });
  for (const peer of peers) peer.send({ cmd: 'cut', link: 0 });
  await sender.waitFor((event) => event.event === 'streamDone', PHASE_TIMEOUT_MS, 'stream done', from);
  const stats = await receiverStats(receiver);
  const linkDownSeen = sender.events.slice(from).some((event) => event.event === 'linkDown' && event.link === 0);
  await Promise.all(peers.map((peer) => peer.stop()));
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return { gapMs: round(stats.maxGapMs), baselineGapMs: round(stats.maxGapBeforeMarkMs), stats, linkDownSeen };
}

async function throughputRows(peers: PeerProcess[], label: string): Promise<Row[]> {
  const [sender, receiver] = peers as [PeerProcess, PeerProcess];
  const rows: Row[] = [];
  for (const size of SIZES_BYTES) {
    rows.push(await throughput(sender, receiver, `corolink aes256 ${label} ${size} B`, 'blast', size, null));
  }
  return rows;
}

const waitForBackoffDecay = (upAt: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, upAt + BACKOFF_DECAY_MS - performance.now())));

async function main(): Promise<void> {
  const ethernet = await startPair('passive');
  const [sender, receiver] = ethernet.peers as [PeerProcess, PeerProcess];
  const rows = await throughputRows(ethernet.peers, 'dgram≤1472');
  const [rawPort] = await freePorts([loopbackAddress(2, 0)]);
  const rawTarget = { address: loopbackAddress(2, 0), port: rawPort! };
  await receiver.request({ cmd: 'rawSink', ...rawTarget }, 'rawReady', REPLY_TIMEOUT_MS);
  rows.push(
    await throughput(sender, receiver, `raw node:dgram ${RAW_SIZE_BYTES} B`, 'rawBlast', RAW_SIZE_BYTES, rawTarget),
  );
  const flaps = ethernet.peers.flatMap((peer) => peer.events.filter((event) => event.event === 'linkDown'));
  await waitForBackoffDecay(ethernet.upAt);
  const passive = await measureGap(sender, receiver, ethernet.peers);

  const loopback = await startPair('passive', LOOPBACK_DATAGRAM_BYTES);
  rows.push(...(await throughputRows(loopback.peers, 'dgram≤65507')));
  await Promise.all(loopback.peers.map((peer) => peer.stop()));

  const activePair = await startPair('active');
  await waitForBackoffDecay(activePair.upAt);
  const [activeSender, activeReceiver] = activePair.peers as [PeerProcess, PeerProcess];
  const active = await measureGap(activeSender, activeReceiver, activePair.peers);

  console.log('| test | sent | delivered | msgs/s | MB/s | loss % |');
  console.log('|---|---|---|---|---|---|');
  for (const row of rows) {
    console.log(`| ${row.test} | ${row.sent} | ${row.delivered} | ${row.msgsPerS} | ${row.mbPerS} | ${row.lossPct} |`);
  }
  console.log(`link flaps during the dgram≤1472 throughput runs: ${flaps.length}`);
  for (const [mode, result] of [
    ['passive', passive],
    ['active', active],
  ] as const) {
    console.log(
      `failover ${mode}: link0 cut silently (both directions) after ${CUT_AFTER_MESSAGES} of ${STREAM_MESSAGES} msgs ` +
        `at ${STREAM_RATE_PER_S}/s → longest delivery gap after the cut ${result.gapMs} ms ` +
        `(before the cut: ${result.baselineGapMs} ms); unique ${result.stats.unique}/${STREAM_MESSAGES}, ` +
        `late (app-retransmitted) ${result.stats.outOfOrder}, duplicates ${result.stats.duplicates}, ` +
        `sender saw link0 down: ${result.linkDownSeen}`,
    );
  }
  const row = (test: string) => rows.find((candidate) => candidate.test === test)!;
  const headline = {
    msgs_per_s_64: row('corolink aes256 dgram≤1472 64 B').msgsPerS,
    msgs_per_s_1k: row('corolink aes256 dgram≤1472 1024 B').msgsPerS,
    mb_per_s_1k: row('corolink aes256 dgram≤1472 1024 B').mbPerS,
    msgs_per_s_64k: row('corolink aes256 dgram≤1472 65536 B').msgsPerS,
    mb_per_s_64k: row('corolink aes256 dgram≤1472 65536 B').mbPerS,
    raw_dgram_msgs_per_s_1k: row(`raw node:dgram ${RAW_SIZE_BYTES} B`).msgsPerS,
    gap_ms_active: active.gapMs,
    gap_ms_passive: passive.gapMs,
    msgs_per_s_1k_lo_mtu: row('corolink aes256 dgram≤65507 1024 B').msgsPerS,
    mb_per_s_64k_lo_mtu: row('corolink aes256 dgram≤65507 65536 B').mbPerS,
  };
  console.log(JSON.stringify(headline));
}

try {
  await main();
} finally {
  await Promise.all(running.map((peer) => peer.stop()));
}
