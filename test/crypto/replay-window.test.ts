import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REPLAY_WINDOW_PACKETS, ReplayWindow } from '../../src/crypto/replay-window.ts';

const START = 5_000_000;

test('window edges: 1023 behind is accepted once, 1024 behind is not', () => {
  const window = new ReplayWindow();
  window.commit(START);
  assert.equal(window.check(START), false);
  assert.equal(window.check(START - (REPLAY_WINDOW_PACKETS - 1)), true);
  assert.equal(window.check(START - REPLAY_WINDOW_PACKETS), false);
  window.commit(START - (REPLAY_WINDOW_PACKETS - 1));
  assert.equal(window.check(START - (REPLAY_WINDOW_PACKETS - 1)), false);
});

test('check does not record; only commit does', () => {
  const window = new ReplayWindow();
  assert.equal(window.check(START), true);
  assert.equal(window.check(START), true);
  window.commit(START);
  assert.equal(window.check(START), false);
});

test('sliding forward forgets slots that left the window (small and large jumps)', () => {
  const window = new ReplayWindow();
  for (let counter = START; counter < START + 10; counter++) window.commit(counter);
  window.commit(START + REPLAY_WINDOW_PACKETS + 3);
  // START + 1024 + k reuses the slot of START + k: it must read as unseen.
  assert.equal(window.check(START + REPLAY_WINDOW_PACKETS + 2), true);
  assert.equal(window.check(START + REPLAY_WINDOW_PACKETS + 3), false);
  assert.equal(window.check(START + 9), false, 'now too old');
  window.commit(START + 100 * REPLAY_WINDOW_PACKETS);
  assert.equal(window.check(START + 100 * REPLAY_WINDOW_PACKETS - 1), true);
  assert.equal(window.check(START + 100 * REPLAY_WINDOW_PACKETS + 1), true);
});
