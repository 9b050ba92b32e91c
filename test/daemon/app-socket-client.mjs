// A client run as another user by test/daemon/app-socket.test.ts (plain JavaScript: that user cannot load tsx's
// cache). Sends JSON-lines requests one after the other, then waits for an event if asked, and prints one JSON
// object: whether it connected, the replies by id, the events, the socket error code and whether the daemon closed.
import { connect } from 'node:net';

const [path, requestsText, untilEvent] = process.argv.slice(2);
const requests = JSON.parse(requestsText);
const out = { connected: false, replies: {}, events: [], error: null, closed: false };
const socket = connect(path);
const finish = () => {
  process.stdout.write(JSON.stringify(out));
  socket.destroy();
  process.exit(0);
};
const timer = setTimeout(finish, 10_000);
let next = 0;
const sendNext = () => {
  if (next < requests.length) {
    socket.write(`${JSON.stringify({ id: next + 1, ...requests[next] })}\n`);
    next++;
  } else if (
    Object.keys(out.replies).length === requests.length &&
    (untilEvent === undefined || out.events.some((e) => e.event === untilEvent))
  ) {
    clearTimeout(timer);
    finish();
  }
};
let text = '';
socket.on('connect', () => {
  out.connected = true;
  sendNext();
});
socket.on('data', (chunk) => {
  text += chunk;
  let end = text.indexOf('\n');
  while (end >= 0) {
    const message = JSON.parse(text.slice(0, end));
    text = text.slice(end + 1);
    end = text.indexOf('\n');
    if ('event' in message) out.events.push(message);
    else out.replies[message.id] = message;
    if (!('event' in message) || next === requests.length) sendNext();
  }
});
socket.on('error', (error) => {
  out.error = error.code ?? error.message;
});
socket.on('close', () => {
  out.closed = true;
  clearTimeout(timer);
  finish();
});
