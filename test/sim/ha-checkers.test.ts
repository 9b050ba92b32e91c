import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkCommandOnce, checkExclusive, checkRunning } from '../../src/sim/ha-checkers.ts';

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
