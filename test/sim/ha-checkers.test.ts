import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkAdminKept,
  checkCommandOnce,
  checkExclusive,
  checkRunning,
  type HaSync,
} from '../../src/sim/ha-checkers.ts';

test('ha-exclusive: one node after the other is fine, two at once is not', () => {
  assert.deepEqual(
    checkExclusive([
      { sid: 'a', node: 1, from: 0, to: 10 },
      { sid: 'a', node: 2, from: 10, to: null },
      { sid: 'b', node: 1, from: 5, to: null },
    ]),
    [],
  );
  const found = checkExclusive([
    { sid: 'a', node: 1, from: 0, to: 10 },
    { sid: 'a', node: 2, from: 9, to: null },
  ]);
  assert.equal(found.length, 1);
  assert.equal(found[0]!.invariant, 'ha-exclusive');
  assert.deepEqual(found[0]!.nodes, [1, 2]);
  assert.equal(
    checkExclusive([
      { sid: 'a', node: 1, from: 0, to: null },
      { sid: 'a', node: 2, from: 50, to: 60 },
    ]).length,
    1,
  );
});

test('ha-command-once: a command id twice is found', () => {
  assert.deepEqual(
    checkCommandOnce([
      { id: '8.1/0', node: 1, at: 0 },
      { id: '8.1/1', node: 1, at: 1 },
    ]),
    [],
  );
  const found = checkCommandOnce([
    { id: '8.1/0', node: 1, at: 0 },
    { id: '8.1/0', node: 2, at: 5 },
  ]);
  assert.equal(found.length, 1);
  assert.match(found[0]!.detail, /8\.1\/0 ran twice/);
});

test('ha-liveness: every member of a unit runs on one node', () => {
  const running = [
    { sid: 'ip:vip', node: 2, from: 0, to: null },
    { sid: 'exec:web', node: 2, from: 1, to: null },
    { sid: 'systemd:db', node: 1, from: 0, to: 5 },
  ];
  assert.deepEqual(checkRunning(running, [['ip:vip', 'exec:web']]), []);
  assert.equal(checkRunning(running, [['systemd:db']]).length, 1, 'stopped: not running');
  const split = [...running.slice(0, 1), { sid: 'exec:web', node: 3, from: 1, to: null }];
  assert.equal(checkRunning(split, [['ip:vip', 'exec:web']]).length, 1, 'a group on two nodes');
});

test('ha-admin-kept: every later quorate sync adopts a table that applied the acknowledged request', () => {
  const ack = { node: 1, id: 3, sentAt: 100, ackedAt: 120, ring: 8 };
  const sync = (ring: number, id: number, more: Partial<HaSync> = {}): HaSync => ({
    node: 2,
    at: 200,
    ring,
    members: [2, 3],
    quorate: true,
    admins: [{ node: 1, id }],
    ...more,
  });
  const kept = { acks: [ack], syncs: [sync(8, 2), sync(12, 3), sync(16, 5)], starts: [] };
  assert.deepEqual(checkAdminKept(kept), [], 'its own ring is earlier; later ones hold it or a later request');
  const lost = checkAdminKept({ acks: [ack], syncs: [sync(12, 3), sync(16, 2)], starts: [] });
  assert.equal(lost.length, 1);
  assert.equal(lost[0]!.invariant, 'ha-admin-kept');
  assert.deepEqual(lost[0]!.nodes, [1, 2]);
  assert.match(lost[0]!.detail, /request 3 .* quorate ring 16 \[2,3\]/);
  assert.equal(
    checkAdminKept({ acks: [ack], syncs: [{ ...sync(12, 0), admins: [] }], starts: [] }).length,
    1,
    'no request of the node at all',
  );
  assert.deepEqual(
    checkAdminKept({ acks: [ack], syncs: [sync(12, 2, { quorate: false })], starts: [] }),
    [],
    'an inquorate sync changes nothing',
  );
  assert.deepEqual(
    checkAdminKept({ acks: [ack], syncs: [sync(12, 2)], starts: [{ node: 3, at: 150 }] }),
    [],
    'a member restarted after the request: not judged from that ring on',
  );
  assert.deepEqual(
    checkAdminKept({ acks: [ack], syncs: [sync(12, 2), sync(16, 2, { at: 300 })], starts: [{ node: 3, at: 250 }] }).map(
      (v) => v.detail.match(/ring (\d+) \[/)![1],
    ),
    ['12'],
    'judged below the ring of the first sync with a restarted member',
  );
  assert.equal(
    checkAdminKept({ acks: [ack], syncs: [sync(12, 2)], starts: [{ node: 3, at: 50 }] }).length,
    1,
    'restarted before the request was sent: still judged',
  );
});
