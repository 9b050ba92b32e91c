// One real daemon (in process, loopback) with the HA managers switched on by DaemonOptions.ha: a resource added
// through HaControl is stored in the file store, picked up by the elected manager, started through the injected
// runner with the watchdog fed, and stopped when requested.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startDaemon } from '../../src/daemon/daemon.ts';
import type { HaOp, HaResourceSpec } from '../../src/ha/contract.ts';
import { writeClusterFiles } from '../../src/lab/daemon-process.ts';

const WAIT_MS = 20_000;

async function until(what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('a one-node cluster runs an HA resource added through HaControl', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'corolink-ha-'));
  const configPath = join(dir, 'corosync.conf');
  const authkeyPath = join(dir, 'authkey');
  writeClusterFiles(
    { links: 1, basePort: 5731, nodes: [{ nodeid: 1, name: 'n1', addresses: { 0: '127.0.0.1' } }] },
    configPath,
    authkeyPath,
  );
  const runs: string[] = [];
  let feeds = 0;
  let active: string[] = [];
  const daemon = await startDaemon({
    configPath,
    authkeyPath,
    socketPath: join(dir, 'admin.sock'),
    stateDir: join(dir, 'state'),
    forceStderr: false,
    ha: {
      runner: () => ({
        run: async (op: HaOp, spec: HaResourceSpec) => {
          runs.push(`${op} ${spec.sid}`);
          return { exitCode: 0, timedOut: false, output: '' };
        },
      }),
      watchdog: () => ({
        setActive: (resources) => {
          active = resources.map((r) => r.sid);
        },
        feed: () => {
          feeds++;
        },
        close: async () => {},
      }),
    },
  });
  try {
    const ha = daemon.ha!;
    await until('a quorate HA manager', () => ha.status().manager?.nodeId === 1);
    const events: string[] = [];
    ha.onEvent((event) => events.push(event.message));
    await ha.add('systemd: db\n\tunit db.service\n');
    await until('db started', () => ha.status().services[0]?.state === 'started');
    assert.deepEqual(runs, ['start systemd:db']);
    assert.deepEqual(active, ['systemd:db']);
    assert.ok(feeds > 0, 'the watchdog is fed');
    assert.ok(events.includes('service systemd:db: started on n1'), events.join('\n'));
    await ha.set('systemd:db', { state: 'stopped' });
    await until('db stopped', () => ha.status().services[0]?.state === 'stopped');
    assert.deepEqual(runs, ['start systemd:db', 'stop systemd:db']);
    assert.deepEqual(active, []);
  } finally {
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
