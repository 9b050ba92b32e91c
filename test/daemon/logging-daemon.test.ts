// A daemon with `logging { to_syslog: yes; to_logfile: yes }` under a fake journal: native records with the right
// priorities, `<N>`-prefixed stderr lines when stderr is the journal's stream, a warning for what it cannot honour,
// and its log file reopened by SIGHUP and by `corolink logs --reopen` after a logrotate-style rename.
// The journal's socket path is fixed (/run/systemd/journal/socket): the daemon runs in a mount namespace of its own
// whose /run is a test directory holding the listener's socket (root only).
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  closeSync,
  fstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { createSocket, type UnixDgramSocket } from 'unix-dgram';
import { BIN, daemonArgs, waitForSocket, writeClusterFiles } from '../../src/lab/daemon-process.ts';

const run = promisify(execFile);
const WAIT_MS = 30_000;
const isRoot = process.getuid?.() === 0;

describe('a daemon logging to the journal, stderr and a file', {
  skip: isRoot ? false : 'needs root (mount namespace)',
}, () => {
  let dir: string;
  let journal: UnixDgramSocket;
  let daemon: ChildProcess;
  let socket: string;
  let logFile: string;
  let stderrFile: string;
  const records: Record<string, string>[] = [];
  const waiters: (() => void)[] = [];

  function waitForRecord(
    what: string,
    predicate: (r: Record<string, string>) => boolean,
  ): Promise<Record<string, string>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no journal record ${what} in ${WAIT_MS} ms`)), WAIT_MS);
      const check = () => {
        const found = records.find(predicate);
        if (!found) return waiters.push(check);
        clearTimeout(timer);
        resolve(found);
      };
      check();
    });
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'corolink-logd-'));
    const runDir = join(dir, 'run');
    mkdirSync(join(runDir, 'systemd/journal'), { recursive: true });
    journal = createSocket('unix_dgram', (message) => {
      const lines = message.toString('utf8').trimEnd().split('\n');
      records.push(Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])));
      for (const waiter of waiters.splice(0)) waiter();
    });
    journal.bind(join(runDir, 'systemd/journal/socket'));
    socket = join(dir, 'n1.sock');
    logFile = join(dir, 'n1.log');
    stderrFile = join(dir, 'stderr.log');
    const configPath = join(dir, 'corosync.conf');
    const authkeyPath = join(dir, 'authkey');
    writeClusterFiles(
      { links: 1, basePort: 37435, nodes: [{ nodeid: 1, name: 'n1', addresses: { 0: '127.0.10.192' } }] },
      configPath,
      authkeyPath,
    );
    const config = readFileSync(configPath, 'utf8').replace(
      '  to_syslog: no\n',
      `  to_syslog: yes\n  to_logfile: yes\n  logfile: ${logFile}\n  fileline: yes\n`,
    );
    writeFileSync(configPath, config);
    const stderr = openSync(stderrFile, 'a');
    const { dev, ino } = fstatSync(stderr);
    try {
      daemon = spawn(
        'unshare',
        [
          '--mount',
          '--propagation',
          'private',
          '--',
          'sh',
          '-c',
          'mount --bind "$0" /run && exec "$@"',
          runDir,
          process.execPath,
          ...daemonArgs({ configPath, authkeyPath, nodeid: 1, socket }),
        ],
        { stdio: ['ignore', 'ignore', stderr], env: { ...process.env, JOURNAL_STREAM: `${dev}:${ino}` } },
      );
    } finally {
      closeSync(stderr);
    }
    await waitForSocket(socket, 'n1', stderrFile, () =>
      daemon.exitCode === null ? undefined : `exit ${daemon.exitCode}`,
    );
  });

  after(async () => {
    if (daemon && daemon.exitCode === null && daemon.signalCode === null) {
      const exited = new Promise((resolve) => daemon.once('exit', resolve));
      daemon.kill('SIGKILL');
      await exited;
    }
    journal?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('journal records carry priorities, the identifier and the corolink fields', async () => {
    const start = await waitForRecord('for the start', (r) => /corolink .* starting/.test(r.MESSAGE ?? ''));
    assert.equal(start.PRIORITY, '5');
    assert.equal(start.SYSLOG_IDENTIFIER, 'corolink');
    assert.equal(start.COROLINK_NODEID, '1');
    assert.equal(start.COROLINK_SUBSYS, 'MAIN');
    // unshare and sh exec the daemon: the child's pid is the daemon's.
    assert.equal(start.SYSLOG_PID, String(daemon.pid));
    const warning = await waitForRecord('for fileline', (r) => (r.MESSAGE ?? '').includes('logging.fileline'));
    assert.equal(warning.PRIORITY, '4');
    const ready = await waitForRecord('for the ready line', (r) =>
      (r.MESSAGE ?? '').includes('ready to provide service'),
    );
    assert.equal(ready.PRIORITY, '5');
  });

  test('stderr lines carry their <N> priority prefix for the journal', () => {
    const lines = readFileSync(stderrFile, 'utf8').split('\n');
    assert.ok(
      lines.some((l) => /^<5>.* corolink notice {2}\[MAIN {2}\] corolink .* starting/.test(l)),
      lines.join('\n'),
    );
    assert.ok(lines.some((l) => /^<4>.* corolink warning \[MAIN {2}\] logging\.fileline: not supported/.test(l)));
  });

  test('SIGHUP and `corolink logs --reopen` reopen the log file after a rename; no line is lost', async () => {
    const before = readFileSync(logFile, 'utf8');
    assert.match(before, /ready to provide service/);
    renameSync(logFile, `${logFile}.1`);
    daemon.kill('SIGHUP');
    // A file at the path again: the daemon reopened it.
    const deadline = Date.now() + WAIT_MS;
    while (!readFileSyncOrUndefined(logFile)) {
      assert.ok(Date.now() < deadline, 'SIGHUP reopened the log file at its path');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    renameSync(logFile, `${logFile}.2`);
    const reopen = await run(process.execPath, [BIN, 'logs', '--reopen', '--socket', socket]);
    assert.equal(reopen.stdout, 'log file reopened\n');
    const exited = new Promise((resolve) => daemon.once('exit', resolve));
    daemon.kill('SIGTERM');
    await exited;
    assert.equal(daemon.exitCode, 0);
    const after = readFileSync(logFile, 'utf8');
    assert.match(after, /exiting normally/);
    assert.ok(readFileSync(`${logFile}.1`, 'utf8').startsWith(before), 'the renamed file kept every line');
    for (const renamed of [`${logFile}.1`, `${logFile}.2`]) {
      assert.doesNotMatch(
        readFileSync(renamed, 'utf8'),
        /exiting normally/,
        `${renamed} gets no line after its reopen`,
      );
    }
  });
});

function readFileSyncOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8') || 'empty';
  } catch {
    return undefined;
  }
}
