import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TokenTrace } from '../../src/daemon/token-trace.ts';
import { encodeMessage } from '../../src/totem/index.ts';

const ringId = { rep: 1, seq: 4 };
function token(tokenSeq: number): Uint8Array {
  return encodeMessage({
    type: 'token',
    ringId,
    tokenSeq,
    seq: 0,
    aru: 0,
    aruAddr: 0,
    fcc: 0,
    backlog: 0,
    install: false,
    rtr: [],
  });
}
const mcast = encodeMessage({
  type: 'mcast',
  ringId,
  sender: 2,
  seq: 1,
  guarantee: 'agreed',
  payload: new Uint8Array([7]),
  inner: null,
});

function traced(): {
  trace: TokenTrace;
  rotations: number[];
  lines: string[];
  setNow: (ms: number) => void;
  setQueued: (count: number) => void;
} {
  let now = 0;
  let queued = 0;
  const rotations: number[] = [];
  const lines: string[] = [];
  const trace = new TokenTrace({
    clock: () => now,
    timeOrigin: 1_000_000,
    onRotation: (seconds) => rotations.push(seconds),
    trace: (line) => lines.push(line),
    loopIdle: () => now / 2,
    queued: () => queued,
  });
  return { trace, rotations, lines, setNow: (ms) => (now = ms), setQueued: (count) => (queued = count) };
}

test('a rotation is the time between two arrivals of newer tokens; copies and other messages are not', () => {
  const { trace, rotations } = traced();
  trace.received(3, token(10), 100);
  trace.received(3, mcast, 101);
  trace.received(3, token(10), 102); // a retransmitted copy
  trace.received(3, token(13), 103.5);
  trace.received(3, token(1), 200); // a new ring starts its token over: no rotation across rings
  trace.received(3, token(4), 202);
  assert.deepEqual(
    rotations.map((s) => Math.round(s * 1e6)),
    [3500, 2000],
  );
});

test('trace mode logs each hop: receive time, step and forward delays, the rotation, the queue it sent from', () => {
  const { trace, lines, setNow, setQueued } = traced();
  setNow(100.25);
  setQueued(40);
  trace.received(3, token(10), 100);
  setNow(100.5);
  trace.received(3, mcast, 101);
  trace.received(3, mcast, 102.5);
  trace.sent('all', mcast);
  setQueued(23);
  trace.sent(2, token(11));
  trace.stepped();
  setNow(103.25);
  trace.received(3, token(13), 103);
  setNow(110);
  trace.stepped(); // held, not forwarded
  trace.stepped(); // nothing open: nothing logged
  assert.deepEqual(lines, [
    'token hop seq=10 from 3 rx=1000100.000 step=+250µs to 2 fwd=+500µs after 0 msgs from -0µs idle=50125µs queued=40→23',
    'token hop seq=13 from 3 rx=1000103.000 step=+250µs held rotation=3.000ms after 2 msgs from -2000µs idle=1500µs ' +
      'queued=23→23',
  ]);
});

test('without trace mode only rotations are measured', () => {
  const rotations: number[] = [];
  const trace = new TokenTrace({
    clock: () => 0,
    timeOrigin: 0,
    onRotation: (s) => rotations.push(s),
    trace: null,
    loopIdle: () => 0,
    queued: () => 0,
  });
  trace.received(2, token(1), 1);
  trace.sent(3, token(2));
  trace.received(2, token(4), 2);
  assert.deepEqual(rotations, [0.001]);
});
