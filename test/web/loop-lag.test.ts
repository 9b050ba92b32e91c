import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LOOP_LAG_INTERVAL_MS, LoopLag } from '../../src/web/loop-lag.ts';

const BLOCK_MS = 200;

/** Resolves once `lags` holds `count` observations (bounded). */
async function observations(lags: number[], count: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (lags.length < count) {
    assert.ok(Date.now() < deadline, 'the lag timer keeps firing');
    await new Promise((resolve) => setTimeout(resolve, LOOP_LAG_INTERVAL_MS / 2));
  }
}

test('a blocked event loop shows as one lag of the main thread at least the block minus the interval', async () => {
  const lags: number[] = [];
  const lag = new LoopLag((seconds) => lags.push(seconds));
  try {
    assert.equal(lag.thread, 'main');
    await observations(lags, 2);
    const before = lags.length;
    const until = performance.now() + BLOCK_MS;
    while (performance.now() < until) {
      // blocked: the lag timer cannot fire
    }
    await observations(lags, before + 1);
    const longest = Math.max(...lags.slice(before));
    assert.ok(longest >= (BLOCK_MS - LOOP_LAG_INTERVAL_MS) / 1000, `longest lag ${longest} s`);
    assert.ok(lags.every((seconds) => seconds >= 0));
  } finally {
    lag.close();
  }
  const closedAt = lags.length;
  await new Promise((resolve) => setTimeout(resolve, 3 * LOOP_LAG_INTERVAL_MS));
  assert.equal(lags.length, closedAt, 'no sample after close');
});
