// The daemon under systemd's service protocol, with a fake NOTIFY_SOCKET: READY=1 comes only once the admin socket
// answers, STATUS= says quorum and members, WATCHDOG=1 keeps coming at half of WATCHDOG_USEC, STOPPING=1 on SIGTERM.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createSocket, type UnixDgramSocket } from 'unix-dgram';
import { statusLine, watchdogIntervalMs } from '../../src/daemon/systemd.ts';
import { daemonArgs, statusAt, writeClusterFiles } from '../../src/lab/daemon-process.ts';

/** systemd's WatchdogSec= as the daemon sees it (µs): pings every 100 ms. */
const WATCHDOG_USEC = 200_000;
/** Pings to see: over 1 s at the configured pace; the wait allows 30 s on a loaded machine. */
const WATCHDOG_PINGS_MIN = 10;
const WAIT_MS = 30_000;

interface Datagram {
  lines: string[];
  /** Whether the admin socket answered a status call made right when this datagram arrived. */
  adminAnswered?: Promise<boolean>;
}

describe('sd_notify', () => {
  let dir: string;
  let listener: UnixDgramSocket;
  let daemon: ChildProcess;
  let socket: string;
  const received: Datagram[] = [];
  const waiters: (() => void)[] = [];

  /** Resolves once `predicate` holds for the datagrams received so far (bounded). */
  function waitFor(what: string, predicate: () => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${what} within ${WAIT_MS} ms: ${JSON.stringify(received.map((d) => d.lines))}`)),
        WAIT_MS,
      );
      const check = () => {
        if (!predicate()) return waiters.push(check);
        clearTimeout(timer);
        resolve();
      };
      check();
    });
  }
  const count = (line: string) => received.filter((d) => d.lines.includes(line)).length;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'corolink-notify-'));
    const notifySocket = join(dir, 'notify');
    socket = join(dir, 'n1.sock');
    listener = createSocket('unix_dgram', (message) => {
      const lines = message.toString('utf8').split('\n');
      const datagram: Datagram = { lines };
      if (lines.includes('READY=1')) {
        datagram.adminAnswered = statusAt(socket).then(
          () => true,
          () => false,
        );
      }
      received.push(datagram);
      for (const waiter of waiters.splice(0)) waiter();
    });
    listener.bind(notifySocket);
    const configPath = join(dir, 'corosync.conf');
    const authkeyPath = join(dir, 'authkey');
    writeClusterFiles(
      { links: 1, basePort: 37425, nodes: [{ nodeid: 1, name: 'n1', addresses: { 0: '127.0.10.191' } }] },
      configPath,
      authkeyPath,
    );
    daemon = spawn(process.execPath, daemonArgs({ configPath, authkeyPath, nodeid: 1, socket }), {
      stdio: 'ignore',
      env: { ...process.env, NOTIFY_SOCKET: notifySocket, WATCHDOG_USEC: String(WATCHDOG_USEC) },
    });
  });

  after(async () => {
    if (daemon.exitCode === null && daemon.signalCode === null) {
      const exited = new Promise((resolve) => daemon.once('exit', resolve));
      daemon.kill('SIGKILL');
      await exited;
    }
    listener.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('READY=1 comes once the admin socket answers, with a STATUS= line and the daemon pid', async () => {
    await waitFor('READY=1', () => count('READY=1') > 0);
    const ready = received.find((d) => d.lines.includes('READY=1'))!;
    assert.equal(received.indexOf(ready), 0, 'READY=1 is the first message');
    assert.equal(await ready.adminAnswered, true, 'the admin socket answered when READY=1 arrived');
    assert.ok(ready.lines.includes(`MAINPID=${daemon.pid}`));
    assert.match(ready.lines.find((l) => l.startsWith('STATUS='))!, /^STATUS=(NOT )?quorate, /);
    assert.equal(count('READY=1'), 1);
  });

  test('STATUS= says when the node is quorate and who the members are', async () => {
    await waitFor('a quorate STATUS=', () => count(`STATUS=${statusLine(true, [1])}`) > 0);
  });

  test('WATCHDOG=1 keeps coming while the event loop runs', async () => {
    const before = count('WATCHDOG=1');
    await waitFor(`${WATCHDOG_PINGS_MIN} more WATCHDOG=1`, () => count('WATCHDOG=1') >= before + WATCHDOG_PINGS_MIN);
  });

  test('SIGTERM says STOPPING=1 and the daemon exits', async () => {
    const exited = new Promise((resolve) => daemon.once('exit', resolve));
    daemon.kill('SIGTERM');
    await waitFor('STOPPING=1', () => count('STOPPING=1') > 0);
    await exited;
    assert.equal(daemon.exitCode, 0);
  });
});

describe('the watchdog interval systemd asks for', () => {
  test('WATCHDOG_USEC in µs, for this process only', () => {
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '30000000' }, 42), 30_000);
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42' }, 42), 30_000);
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '43' }, 42), undefined);
    assert.equal(watchdogIntervalMs({}, 42), undefined);
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: 'soon' }, 42), undefined);
  });
});
