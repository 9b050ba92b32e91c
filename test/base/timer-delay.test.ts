import assert from 'node:assert/strict';
import { test } from 'node:test';
import { timerDelayMs } from '../../src/base/timer-delay.ts';

const TIMERS = 40;

test('a timer armed with timerDelayMs never fires before its deadline', async () => {
  const early: number[] = [];
  for (let i = 0; i < TIMERS; i++) {
    // Deadlines at fractions of a ms, as a core's are: a plain `deadline − now` delay fires up to a ms early.
    const now = performance.now();
    const deadline = now + 2 + (i % 10) / 10;
    const firedAt = await new Promise<number>((resolve) =>
      setTimeout(() => resolve(performance.now()), timerDelayMs(deadline, now)),
    );
    if (firedAt < deadline) early.push(deadline - firedAt);
  }
  assert.deepEqual(early, []);
});

test('timerDelayMs: a deadline already passed is polled at once after the slack, a far one is capped', () => {
  assert.equal(timerDelayMs(100, 200), 1);
  assert.equal(timerDelayMs(100.2, 100), 2);
  assert.equal(timerDelayMs(Number.MAX_SAFE_INTEGER, 0), 60_000);
});
