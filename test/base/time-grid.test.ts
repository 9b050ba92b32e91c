import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gridInstantAfter, wallClockGridOriginMs } from '../../src/base/time-grid.ts';

test('gridInstantAfter: the first instant origin + k × interval strictly after the given one', () => {
  assert.equal(gridInstantAfter(0, 50), 50, 'an instant on the grid: the next one');
  assert.equal(gridInstantAfter(49.9, 50), 50);
  assert.equal(gridInstantAfter(50, 50), 100);
  assert.equal(gridInstantAfter(-1, 50), 0, 'before the origin');
  assert.equal(gridInstantAfter(10, 50, 3), 53, 'counted from the origin');
  assert.equal(gridInstantAfter(10, 50, -1_000_003), 47);
});

test('gridInstantAfter: never the instant itself, nor more than one interval later, despite float rounding', () => {
  // A wall-clock origin (−performance.timeOrigin) and fractional instants, as the daemon's clocks give them.
  const origin = -1_764_850_000_123.456;
  const interval = 50;
  for (let i = 0; i < 10_000; i++) {
    const at = i * 0.1 + i / 7;
    const next = gridInstantAfter(at, interval, origin);
    assert.ok(next > at && next - at <= interval + 1e-6, `${next} after ${at}`);
    const steps = (next - origin) / interval;
    assert.ok(Math.abs(steps - Math.round(steps)) < 1e-6, `${next} is on the grid`);
  }
});

test("wallClockGridOriginMs: the Unix epoch on performance.now()'s clock, so the grid is the wall clock's", () => {
  const before = Date.now();
  const epochMs = performance.now() - wallClockGridOriginMs();
  const after = Date.now();
  // Date.now() counts whole ms; performance.timeOrigin is fixed at start, so allow the clocks a few ms of drift.
  assert.ok(epochMs >= before - 5 && epochMs <= after + 5, `${epochMs} within [${before}, ${after}]`);
});
