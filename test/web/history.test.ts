// The dashboard history kept in the daemon: one sample per second per peer × link, downsampled into 10 s and
// 1 min rows, each tier bounded; saved to a 0600 file and restored; events recorded in order and bounded;
// config_version changes noticed. Driven with mocked timers and clock and a stand-in engine (the real one is
// covered by http-api.test.ts).
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import type { NodeEngine } from '../../src/daemon/engine.ts';
import { ClusterHistory, EVENTS_KEPT, type LiveItem } from '../../src/web/history.ts';
import { HISTORY_SAVE_INTERVAL_MS, historyFilePath } from '../../src/web/history-file.ts';
import {
  downsample,
  HISTORY_RANGES_MS,
  HISTORY_TIERS,
  type SampleRow,
  SampleTiers,
} from '../../src/web/history-tiers.ts';

/** 2026-12-03 00:00:00 UTC: a whole minute, so steps start on the row times below. */
const T0 = Date.UTC(2026, 11, 3);

/** The parts of NodeEngine the history reads. */
class FakeEngine extends EventEmitter {
  checked = { effective: { totem: { configVersion: 4 } } };
  connected = true;
  transportSnapshot() {
    return {
      peerLinks: [
        { nodeId: 2, link: 0, connected: this.connected, latency: { avgMs: 0.1234567 } },
        { nodeId: 2, link: 1, connected: true, latency: null },
      ],
    };
  }
  stackSnapshot() {
    return {
      quorum: {
        quorate: true,
        expectedVotes: 3,
        highestExpected: 3,
        totalVotes: 3,
        quorum: 2,
        flags: ['Quorate'],
        device: null,
      },
    };
  }
}

let engine: FakeEngine;
let history: ClusterHistory;

/** The injected wall clock, moved with the mocked timers by `advance`. */
let clock = T0;
const now = () => clock;
/** Moves the clock and the timers by `ms`, one second at a time (each sample sees its own time). */
function advance(ms: number): void {
  for (let left = ms; left > 0; left -= 1000) {
    clock += Math.min(1000, left);
    mock.timers.tick(Math.min(1000, left));
  }
}

beforeEach(() => {
  mock.timers.enable({ apis: ['setInterval'] });
  clock = T0;
  engine = new FakeEngine();
  history = new ClusterHistory(engine as unknown as NodeEngine, { now });
});
afterEach(() => {
  history.close();
  mock.timers.reset();
});

test('samples every peer × link once a second; the 5 min range has 300 rows at 1 s, 1 h its rows at 10 s', () => {
  assert.equal(history.samples('5m').rows.length, 1);
  advance(1000);
  const [first] = history.samples('5m').rows.at(-1)!.samples;
  assert.deepEqual(first, { nodeid: 2, link: 0, up: true, latency_ms: 0.123 });
  assert.equal(history.samples('5m').rows.at(-1)!.samples[1]!.latency_ms, null);
  engine.connected = false;
  advance(1000 * 350);
  const recent = history.samples('5m');
  assert.equal(recent.stepMs, 1000);
  assert.equal(recent.rows.length, 300);
  assert.equal(recent.rows.at(-1)!.samples[0]!.up, false);
  const hour = history.samples('1h');
  assert.equal(hour.stepMs, 10_000);
  // 351 s of samples: 35 closed 10 s steps and the open one.
  assert.equal(hour.rows.length, 36);
  assert.deepEqual(
    hour.rows.slice(0, 2).map((r) => r.time),
    [T0, T0 + 10_000],
  );
});

test('records link, regular membership, quorum and config events in order, bounded, and streams them', () => {
  const live: LiveItem[] = [];
  const unsubscribe = history.subscribe((item) => live.push(item));
  engine.emit('link', { nodeid: 2, link: 0, state: 'DOWN', reason: 'no pong for 250 ms' });
  engine.emit('membership', { kind: 'transitional', members: [1], left: [2], joined: [], ring_id: '1.8' });
  engine.emit('membership', { kind: 'regular', members: [1], left: [2], joined: [], ring_id: '1.8' });
  engine.emit('quorum', { quorate: true, changed: false, members: [1] });
  engine.checked.effective.totem.configVersion = 5;
  advance(1000);
  const events = history.recentEvents();
  assert.deepEqual(
    events.map((e) => e.type),
    ['link', 'membership', 'quorum', 'config'],
  );
  assert.deepEqual(
    events.map((e) => e.seq),
    [1, 2, 3, 4],
  );
  assert.deepEqual(events[3]!.data, { config_version: 5, previous: 4 });
  assert.equal(events[2]!.data.expected_votes, 3);
  assert.deepEqual(
    live.map((item) => (item.kind === 'event' ? item.event.type : 'sample')),
    ['link', 'membership', 'quorum', 'config', 'sample'],
  );
  unsubscribe();
  for (let i = 0; i < EVENTS_KEPT + 10; i++) engine.emit('link', { nodeid: 2, link: 1, state: 'UP', reason: null });
  assert.equal(history.recentEvents().length, EVENTS_KEPT);
  assert.equal(history.recentEvents(2).length, 2);
  assert.equal(live.length, 5);
});

test('close stops sampling and listening', () => {
  history.close();
  engine.emit('link', { nodeid: 2, link: 0, state: 'DOWN', reason: null });
  advance(5000);
  assert.equal(history.samples('5m').rows.length, 1);
  assert.equal(history.recentEvents().length, 0);
});

describe('downsampling (pure, times given)', () => {
  const row = (time: number, up: boolean, latency: number | null): SampleRow => ({
    time,
    samples: [{ nodeid: 2, link: 0, up, latency_ms: latency }],
  });

  test('a step is up only if up in every sample; its latency is the mean of the up samples', () => {
    assert.deepEqual(downsample([row(T0, true, 1), row(T0 + 1000, true, 2), row(T0 + 2000, true, 4)], T0), {
      time: T0,
      samples: [{ nodeid: 2, link: 0, up: true, latency_ms: 2.333 }],
    });
    assert.deepEqual(downsample([row(T0, true, 1), row(T0 + 1000, false, null)], T0).samples[0], {
      nodeid: 2,
      link: 0,
      up: false,
      latency_ms: 1,
    });
    assert.equal(downsample([row(T0, false, null)], T0).samples[0]!.latency_ms, null);
  });

  test('50 hours of 1 s rows: every tier within its row bound and window; 24 h comes at 1 min', () => {
    const tiers = new SampleTiers();
    const seconds = 50 * 3600;
    for (let i = 0; i < seconds; i++) tiers.add(row(T0 + i * 1000, i % 600 !== 0, (i % 60) + 1));
    const now = T0 + (seconds - 1) * 1000;
    for (const [range, ms] of Object.entries(HISTORY_RANGES_MS)) {
      const { stepMs, rows } = tiers.range(ms, now);
      const tier = HISTORY_TIERS.find((t) => t.stepMs === stepMs)!;
      assert.ok(tier.keepMs >= ms, `${range} comes from a tier that keeps it`);
      assert.ok(rows.length <= ms / stepMs + 1, `${range}: ${rows.length} rows`);
      assert.ok(rows[0]!.time > now - ms - stepMs, `${range} starts within the range`);
      assert.ok(
        rows.every((r, i) => i === 0 || r.time - rows[i - 1]!.time === stepMs),
        `${range}: one row a step`,
      );
    }
    const day = tiers.range(HISTORY_RANGES_MS['24h'], now);
    assert.equal(day.stepMs, 60_000);
    assert.equal(day.rows.length, 24 * 60);
    // Each minute holds i % 60 + 1 = 1…60: mean 30.5; the minute with a down second (every 10 min) is down.
    assert.equal(day.rows.at(-2)!.samples[0]!.latency_ms, 30.5);
    assert.equal(day.rows.filter((r) => !r.samples[0]!.up).length, 24 * 6);
    const stored = tiers.stored();
    stored.tiers.forEach((rows, i) => {
      const tier = HISTORY_TIERS[i]!;
      assert.ok(rows.length <= tier.keepMs / tier.stepMs, `tier ${i} holds ${rows.length} rows`);
      assert.ok(rows[0]!.time > now - tier.keepMs);
    });
  });
});

describe('the history file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'corolink-history-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('is written every minute with mode 0600 and restored by the next daemon', async () => {
    const file = historyFilePath(dir, 1);
    const saved = new ClusterHistory(engine as unknown as NodeEngine, { file, now });
    advance(HISTORY_SAVE_INTERVAL_MS);
    // The periodic write runs in the background (libuv's pool): wait for it, bounded.
    for (const deadline = Date.now() + 5000; !existsSync(file); ) {
      assert.ok(Date.now() < deadline, 'the history file is written within 5 s of the minute');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const written = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(written.tiers[0].length, 61, 'the samples of the first minute');
    advance(10_000);
    await saved.close();
    const warnings: string[] = [];
    const restored = new ClusterHistory(engine as unknown as NodeEngine, { file, now, warn: (m) => warnings.push(m) });
    try {
      assert.deepEqual(warnings, []);
      // 71 rows saved and one new sample of the restarted history.
      assert.equal(restored.samples('5m').rows.length, 72);
      assert.equal(restored.samples('1h').rows.length, 8, 'seven closed 10 s steps and the open one');
    } finally {
      restored.close();
    }
  });

  test('closed while a periodic save is still being written: close resolves once the last samples are on disk', async () => {
    const file = historyFilePath(dir, 1);
    const saved = new ClusterHistory(engine as unknown as NodeEngine, { file, now });
    advance(HISTORY_SAVE_INTERVAL_MS); // the periodic save starts in the background (libuv's pool)…
    advance(10_000);
    await saved.close(); // …and is still going: close waits for it, then writes the last 10 s
    const restored = new ClusterHistory(engine as unknown as NodeEngine, { file, now });
    try {
      assert.equal(restored.samples('5m').rows.length, 72, '71 rows saved and one new sample');
    } finally {
      await restored.close();
    }
  });

  test('a malformed file is ignored with its path and the field named; the history starts empty', () => {
    const file = historyFilePath(dir, 1);
    writeFileSync(file, JSON.stringify({ version: 1, tiers: [[[T0, [[0, 0, 1, null]]]]] }));
    const warnings: string[] = [];
    const restored = new ClusterHistory(engine as unknown as NodeEngine, { file, now, warn: (m) => warnings.push(m) });
    try {
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, new RegExp(`dashboard history not restored: ${file}: /tiers/0/0/1/0/0 `));
      assert.equal(restored.samples('5m').rows.length, 1, 'only the new sample');
    } finally {
      restored.close();
    }
  });
});
