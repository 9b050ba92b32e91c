/**
 * `npm run bench:codec`: CPU per message of the daemon's pure encode + decode chain of one CPG data message, without
 * sockets or crypto — CPG encode and fragments (one copy, the stack's service id in their first byte), Totem MCAST encode, transport frames;
 * then the frames decoded, reassembled, Totem- and CPG-decoded back. The last RETAINED Totem messages stay
 * referenced, as Totem's buffers keep them, so the garbage collector works as in a daemon. One process, so the
 * figure hardly moves with the machine's load (docs/benchmarks.md "CPU per agreed message").
 * Prints a table, then one JSON line.
 */
import { DEFAULT_LINK_MTU } from '../src/config/defaults.ts';
import { createGroupNameCache, decodeCpgMessage, encodeCpgMessage } from '../src/cpg/codec.ts';
import { fragment, Reassembler } from '../src/cpg/fragments.ts';
import { TOTEM_PAYLOAD_BYTES_MAX } from '../src/daemon/limits.ts';
import { decodeMessage, encodeMessage } from '../src/totem/messages.ts';
import { decodePacket, encodeData, encodeFragment, FRAGMENT_HEADER_BYTES, HEADER_BYTES } from '../src/wire/packet.ts';

const SIZES = [
  { label: '64 B', bytes: 64, messages: 300_000 },
  { label: '1 KiB', bytes: 1024, messages: 200_000 },
  { label: '64 KiB', bytes: 64 * 1024, messages: 3_000 },
];
/** The daemon's frame size and largest CPG payload (its largest Totem payload less the service id). */
const FRAME_BYTES = DEFAULT_LINK_MTU;
const CPG_PAYLOAD_BYTES_MAX = TOTEM_PAYLOAD_BYTES_MAX - 1;
const CPG_SERVICE_ID = 2;
const RETAINED = 2048;
const WARMUP_MESSAGES = 2000;
const CLUSTER_ID = 7;

function frames(header: { seq: number }, mcast: Uint8Array): Uint8Array[] {
  const wire = { clusterId: CLUSTER_ID, sourceNodeId: 1, incarnation: 5, link: 0, seq: header.seq, flags: 0 };
  if (HEADER_BYTES + mcast.length <= FRAME_BYTES) return [encodeData(wire, mcast)];
  const chunk = FRAME_BYTES - HEADER_BYTES - FRAGMENT_HEADER_BYTES;
  const count = Math.ceil(mcast.length / chunk);
  const out: Uint8Array[] = [];
  for (let k = 0; k < count; k++) {
    out.push(encodeFragment(wire, mcast, k * chunk, Math.min(chunk, mcast.length - k * chunk), k, count));
  }
  return out;
}

function receive(parts: Uint8Array[], messageBytes: number): Uint8Array {
  if (parts.length === 1) {
    const decoded = decodePacket(parts[0]!, CLUSTER_ID);
    if (!decoded.ok || decoded.packet.type !== 'data') throw new Error('bench:codec: frame did not decode');
    return decoded.packet.payload;
  }
  const whole = new Uint8Array(messageBytes);
  for (const part of parts) {
    const decoded = decodePacket(part, CLUSTER_ID);
    if (!decoded.ok || decoded.packet.type !== 'fragment') throw new Error('bench:codec: fragment did not decode');
    whole.set(decoded.packet.payload, decoded.packet.offset);
  }
  return whole;
}

function run(bytes: number, messages: number): number {
  const payload = new Uint8Array(bytes).fill(0x5a);
  const reassembler = new Reassembler();
  const groupNames = createGroupNameCache();
  const retained: Uint8Array[] = new Array(RETAINED);
  const one = (seq: number) => {
    const cpg = encodeCpgMessage({ type: 'data', group: 'bench-codec', pid: 1234, payload });
    for (const service of fragment(cpg, CPG_PAYLOAD_BYTES_MAX, 1)) {
      service[0] = CPG_SERVICE_ID;
      const ringId = { rep: 1, seq: 4 };
      const mcast = encodeMessage({
        type: 'mcast',
        ringId,
        sender: 1,
        seq,
        guarantee: 'agreed',
        payload: service,
        inner: null,
      });
      retained[seq % RETAINED] = mcast;
      const message = decodeMessage(receive(frames({ seq }, mcast), mcast.length));
      if (message?.type !== 'mcast') throw new Error('bench:codec: Totem message did not decode');
      const result = reassembler.add(1, message.payload.subarray(1));
      if (result.kind === 'malformed') throw new Error(`bench:codec: ${result.reason}`);
      if (result.kind === 'complete' && decodeCpgMessage(result.message, groupNames)?.type !== 'data') {
        throw new Error('bench:codec: CPG message did not decode');
      }
    }
  };
  for (let seq = 0; seq < WARMUP_MESSAGES; seq++) one(seq);
  const before = process.cpuUsage();
  for (let seq = 0; seq < messages; seq++) one(seq);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / messages;
}

const rows = SIZES.map((size) => ({ ...size, cpuUs: run(size.bytes, size.messages) }));
console.log('size     messages  CPU µs/msg (encode + decode chain)');
for (const r of rows)
  console.log(`${r.label.padEnd(7)} ${String(r.messages).padStart(9)}  ${r.cpuUs.toFixed(2).padStart(8)}`);
console.log(
  JSON.stringify(
    Object.fromEntries(rows.map((r) => [`cpu_us_${r.label.replace(' ', '')}`, Number(r.cpuUs.toFixed(2))])),
  ),
);
