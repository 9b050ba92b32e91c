// armIp: an `ip` command started ahead and run when fired (the lab's pull for round-trip timing, bench:cut-stall).
// Needs only the `ip` binary (iproute2), no root: `link show lo` reads, never changes anything.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { armIp, onPath } from '../../src/lab/command.ts';

const pidAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('armIp', { skip: onPath('ip') ? false : 'needs the ip command (iproute2)' }, () => {
  test('fired: the command runs and the promise resolves', async () => {
    const armed = armIp(['link', 'show', 'lo']);
    await armed.fire();
    armed.disarm(); // a no-op after firing
  });

  test('a failing command rejects with ip’s own message, naming the command', async () => {
    const armed = armIp(['link', 'show', 'no-such-device-0']);
    await assert.rejects(armed.fire(), /ip link show no-such-device-0: .*(does not exist|Cannot find device)/);
  });

  test('disarmed unfired: the waiting ip process is gone, and firing afterwards rejects', async () => {
    const armed = armIp(['link', 'show', 'lo']);
    const pid = armed.pid;
    assert.ok(pid !== undefined && pidAlive(pid), 'ip waits for its command');
    armed.disarm();
    await assert.rejects(armed.fire(), /ip link show lo/);
    assert.equal(pidAlive(pid), false);
  });
});
