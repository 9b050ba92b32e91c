// The dashboard history kept in the daemon: one sample per second per peer × link, bounded to five minutes;
// events recorded in order and bounded; config_version changes noticed. Driven with mocked timers and a stand-in
// engine (the real one is covered by http-api.test.ts).
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, mock, test } from 'node:test';
import type { NodeEngine } from '../../src/daemon/engine.ts';
import { ClusterHistory, EVENTS_KEPT, type LiveItem, SAMPLES_KEPT } from '../../src/web/history.ts';

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

beforeEach(() => {
  mock.timers.enable({ apis: ['setInterval'] });
  engine = new FakeEngine();
  history = new ClusterHistory(engine as unknown as NodeEngine);
});
afterEach(() => {
  history.close();
  mock.timers.reset();
});

test('samples every peer × link once a second and keeps five minutes', () => {
  assert.equal(history.samples().length, 1);
  mock.timers.tick(1000);
  const [first] = history.samples().at(-1)!.samples;
  assert.deepEqual(first, { nodeid: 2, link: 0, up: true, latency_ms: 0.123 });
  assert.equal(history.samples().at(-1)!.samples[1]!.latency_ms, null);
  engine.connected = false;
  mock.timers.tick(1000 * (SAMPLES_KEPT + 50));
  assert.equal(history.samples().length, SAMPLES_KEPT);
  assert.equal(history.samples().at(-1)!.samples[0]!.up, false);
});

test('records link, regular membership, quorum and config events in order, bounded, and streams them', () => {
  const live: LiveItem[] = [];
  const unsubscribe = history.subscribe((item) => live.push(item));
  engine.emit('link', { nodeid: 2, link: 0, state: 'DOWN', reason: 'no pong for 250 ms' });
  engine.emit('membership', { kind: 'transitional', members: [1], left: [2], joined: [], ring_id: '1.8' });
  engine.emit('membership', { kind: 'regular', members: [1], left: [2], joined: [], ring_id: '1.8' });
  engine.emit('quorum', { quorate: true, changed: false, members: [1] });
  engine.checked.effective.totem.configVersion = 5;
  mock.timers.tick(1000);
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
  mock.timers.tick(5000);
  assert.equal(history.samples().length, 1);
  assert.equal(history.recentEvents().length, 0);
});
