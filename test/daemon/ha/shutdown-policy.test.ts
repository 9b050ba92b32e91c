import assert from 'node:assert/strict';
import { test } from 'node:test';
import { powersOff, shutdownFreezes } from '../../../src/daemon/ha/shutdown-policy.ts';

const REBOOT = '  812 reboot.target                  start waiting\n  813 systemd-reboot.service start waiting\n';
const POWEROFF = '  901 poweroff.target start waiting\n  902 systemd-poweroff.service start waiting\n';

test('a poweroff or halt job means the host powers off; a reboot or no job does not', () => {
  assert.equal(powersOff(POWEROFF), true);
  assert.equal(powersOff('  77 halt.target start waiting\n'), true);
  assert.equal(powersOff(REBOOT), false);
  assert.equal(powersOff(''), false);
  assert.equal(powersOff('  5 my-poweroff.target start waiting\n'), false, 'the whole unit name');
});

test('conditional: failover when the host powers off, else freeze; freeze and failover as named', async () => {
  assert.deepEqual(await shutdownFreezes('conditional', async () => POWEROFF), {
    freeze: false,
    why: 'policy conditional: the host powers off',
  });
  assert.deepEqual(await shutdownFreezes('conditional', async () => REBOOT), {
    freeze: true,
    why: 'policy conditional: the host does not power off',
  });
  assert.equal((await shutdownFreezes(undefined, async () => '')).freeze, true, 'conditional is the default');
  assert.equal((await shutdownFreezes('failover', async () => REBOOT)).freeze, false);
  assert.equal((await shutdownFreezes('freeze', async () => POWEROFF)).freeze, true);
});
