import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HTTP_REQUESTS_PER_SLICE_MAX, HTTP_SLICE_MS } from '../../src/daemon/limits.ts';
import { RequestSlices } from '../../src/web/request-slices.ts';

/** Work of one request: the CPU for `ms` (a burst of requests is CPU work on the loop). */
function work(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy, as a request being handled
  }
}

/** Admits `count` requests in one turn; resolves with the turn (0 = the admitting one) each ran in, in order. */
async function admitted(count: number, eachMs: number, onTimer?: (ran: number) => void): Promise<number[]> {
  const slices = new RequestSlices();
  const turns: number[] = [];
  let turn = 0;
  const countTurns = (): void => {
    turn++;
    if (turns.length < count) setImmediate(countTurns);
  };
  const all = new Promise<void>((resolve) => {
    for (let i = 0; i < count; i++) {
      slices.admit(() => {
        assert.equal(turns.length, i, 'requests run in arrival order');
        turns.push(turn);
        work(eachMs);
        if (turns.length === count) resolve();
      });
    }
  });
  setImmediate(countTurns);
  if (onTimer) setTimeout(() => onTimer(turns.length), 0);
  await all;
  return turns;
}

test('a burst of requests is admitted at most HTTP_REQUESTS_PER_SLICE_MAX per slice, in arrival order', async () => {
  const count = HTTP_REQUESTS_PER_SLICE_MAX * 5 + 3;
  const turns = await admitted(count, 0);
  assert.equal(turns.length, count);
  const perTurn = new Map<number, number>();
  for (const turn of turns) perTurn.set(turn, (perTurn.get(turn) ?? 0) + 1);
  assert.ok(Math.max(...perTurn.values()) <= HTTP_REQUESTS_PER_SLICE_MAX, `per turn: ${[...perTurn.values()]}`);
  assert.ok(perTurn.size >= 6, `${perTurn.size} turns`);
});

test('slow requests are admitted HTTP_SLICE_MS at a time, and a due timer runs before the burst is over', async () => {
  const count = 40;
  const eachMs = HTTP_SLICE_MS / 2;
  let ranBeforeTimer = -1;
  const turns = await admitted(count, eachMs, (ran) => {
    ranBeforeTimer = ran;
  });
  const perTurn = new Map<number, number>();
  for (const turn of turns) perTurn.set(turn, (perTurn.get(turn) ?? 0) + 1);
  // A slice admits while under HTTP_SLICE_MS: the request that crosses it is the last.
  assert.ok(
    Math.max(...perTurn.values()) <= Math.ceil(HTTP_SLICE_MS / eachMs) + 1,
    `per turn: ${[...perTurn.values()]}`,
  );
  assert.ok(ranBeforeTimer > 0 && ranBeforeTimer < count, `${ranBeforeTimer} of ${count} ran before the timer`);
});
