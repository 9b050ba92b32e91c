// A flood of silent TCP connections (run as its own process, with a raised `ulimit -n`): opens `count` connections to
// host:port from `source`, `CONCURRENCY` at a time, and never sends a byte. Once every attempt settled it prints one
// JSON line {opened, failed, held}; it then holds what the server kept open until its stdin closes, and exits.
// Usage: node --import tsx test/daemon/silent-flood.ts <host> <port> <count> <source>
import { connect, type Socket } from 'node:net';

const CONCURRENCY = 500;
/** The whole flood is bounded in time: a run that does not settle by then exits with status 2. */
const DEADLINE_MS = 90_000;

const [host, portText, countText, source] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
const held = new Set<Socket>();
let started = 0;
let settled = 0;
let opened = 0;
let failed = 0;

const deadline = setTimeout(() => {
  process.stdout.write(`${JSON.stringify({ error: 'deadline', started, settled, opened, failed })}\n`);
  process.exit(2);
}, DEADLINE_MS);

function attempt(): void {
  if (started >= count) return;
  started++;
  const socket = connect({ host, port, localAddress: source });
  let done = false;
  const settle = (ok: boolean) => {
    if (done) return;
    done = true;
    if (ok) opened++;
    else failed++;
    settled++;
    if (settled === count) {
      clearTimeout(deadline);
      process.stdout.write(`${JSON.stringify({ opened, failed, held: held.size })}\n`);
    }
    attempt();
  };
  // Read (and drop) what the server sends, so its close is seen and the descriptor freed.
  socket.resume();
  socket.on('connect', () => {
    held.add(socket);
    settle(true);
  });
  socket.on('error', () => settle(false));
  socket.on('close', () => {
    held.delete(socket);
    settle(false);
  });
}

for (let i = 0; i < CONCURRENCY; i++) attempt();
process.stdin.resume();
process.stdin.on('end', () => {
  for (const socket of held) socket.destroy();
  process.exit(0);
});
