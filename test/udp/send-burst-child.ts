// The child of test/udp/send-burst.test.ts, run inside a network namespace of the test's
// (a slow tbf qdisc on its loopback, or a small MTU): one socket sends `count` numbered datagrams of `bytes` (default
// 1,400) in one turn from a small send buffer, the other counts them. Prints one JSON line: what arrived (in order
// or not), the send errors by code and the sender's socket errors (the driver logs them as warnings).
// Usage: node --import tsx test/udp/send-burst-child.ts native|node-dgram <count> [bytes]
import { type DatagramEngine, NODE_DGRAM_ENGINE, nativeDatagramEngine } from '../../src/transport/datagram-socket.ts';
import type { ResolvedEndpoint } from '../../src/transport/udp-endpoints.ts';
import { waitUntil } from '../wait-until.ts';

const DATAGRAM_BYTES_DEFAULT = 1400;
/** The sender's SO_SNDBUF (the kernel doubles it): a few datagrams, so the qdisc fills it at once. */
const SMALL_BUFFER_BYTES = 16 * 1024;
const RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;
const SETTLE_TIMEOUT_MS = 30_000;

const [engineName, countText, bytesText] = process.argv.slice(2);
const datagramBytes = bytesText === undefined ? DATAGRAM_BYTES_DEFAULT : Number(bytesText);
const native = nativeDatagramEngine();
if (native instanceof Error) throw native;
const engine: DatagramEngine = engineName === 'native' ? native : NODE_DGRAM_ENGINE;
const count = Number(countText);
const to: ResolvedEndpoint = { address: '127.0.0.1', port: 40001, family: 'udp4' };
const received: number[] = [];
const errors: Record<string, number> = {};
const fail = (error: Error) => {
  throw error;
};
const receiver = await engine.open(to, RECEIVE_BUFFER_BYTES, {
  datagram: (bytes) => received.push(bytes.readUInt32BE(0)),
  error: fail,
});
const socketErrors: string[] = [];
const sender = await engine.open({ ...to, port: 40002 }, SMALL_BUFFER_BYTES, {
  datagram: () => {},
  error: (error) => socketErrors.push(error.message),
});
// As the UDP driver does: one buffer for every datagram when the socket is done with each as send returns — so the
// backlog must keep copies (else the held datagrams would all carry the last number).
const reused = sender.sendReturnsDatagram ? Buffer.alloc(datagramBytes) : undefined;
for (let i = 0; i < count; i++) {
  const datagram = reused ?? Buffer.alloc(datagramBytes);
  datagram.writeUInt32BE(i, 0);
  sender.send(to, datagram, (error) => {
    errors[error.code ?? error.message] = (errors[error.code ?? error.message] ?? 0) + 1;
  });
}
const settled = () => received.length + Object.values(errors).reduce((a, b) => a + b, 0) >= count;
await waitUntil(settled, SETTLE_TIMEOUT_MS, 'every datagram delivered or refused');
await Promise.all([sender.close(), receiver.close()]);
const inOrder = received.every((seq, i) => i === 0 || seq > received[i - 1]!);
process.stdout.write(`${JSON.stringify({ received: received.length, inOrder, errors, socketErrors })}\n`);
