// `corolink start` (npm start): its daemons are tied to it, and a stop signal removes the working directory.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { tempDir } from '../client/fake-daemon.ts';
import { waitUntil } from '../wait-until.ts';

/** How long the daemons may take to leave after `start` is gone (a clean leave each). */
const DAEMONS_GONE_MS = 15_000;
const SUMMARY_MS = 60_000;

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startCluster(extra: string[] = []): Started {
  const child = spawn(
    process.execPath,
    ['bin/corolink.mjs', 'start', '--base-port', '47405', '--http-port', '0', ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr!.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => output, exited };
}

/** The daemons' PIDs and the working directory, from the summary `start` prints once they answer. */
async function summary(started: Started): Promise<{ pids: number[]; dir: string }> {
  await waitUntil(() => /\nn3 +\d+ /.test(started.output()), SUMMARY_MS, `the summary table:\n${started.output()}`);
  const dir = /Working directory \(.*\): (\S+)/.exec(started.output())![1]!;
  const pids = [...started.output().matchAll(/\nn\d +(\d+) /g)].map((m) => Number(m[1]));
  return { pids, dir };
}

/** True while the process exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('corolink start', () => {
  const started: Started[] = [];
  const leftovers: number[] = [];
  after(() => {
    // Whatever a failed assertion left behind, by PID.
    for (const s of started) s.child.kill('SIGKILL');
    for (const pid of leftovers.filter(alive)) process.kill(pid, 'SIGKILL');
  });

  test('SIGKILL of start: every daemon leaves within a bounded wait', async () => {
    const start = startCluster();
    started.push(start);
    const { pids, dir } = await summary(start);
    leftovers.push(...pids);
    assert.equal(pids.length, 3);
    assert.ok(pids.every(alive), 'the daemons run');
    start.child.kill('SIGKILL');
    await start.exited;
    await waitUntil(() => !pids.some(alive), DAEMONS_GONE_MS, `daemons ${pids} to leave`);
    // Nobody is left to remove the working directory of a killed start.
    rmSync(dir, { recursive: true, force: true });
  });

  test('--no-wait: the drill runs with the HA demo service on n3 answering throughout, then everything stops', async () => {
    const start = startCluster(['--no-wait']);
    started.push(start);
    const { pids, dir } = await summary(start);
    leftovers.push(...pids);
    const { code } = await start.exited;
    assert.equal(code, 0, start.output());
    assert.match(
      start.output(),
      /HA service: served by n3 before the cable pull and by n3 after it; (\d+) of \1 requests answered \(it answered throughout\)/,
    );
    assert.equal(existsSync(dir), false, `${dir} removed`);
    assert.ok(!pids.some(alive), 'every daemon stopped');
  });

  test('SIGHUP: the daemons stop, the working directory (sockets, authkey) is removed; --keep-logs keeps logs', async () => {
    const logs = tempDir();
    try {
      const start = startCluster(['--keep-logs', logs.path]);
      started.push(start);
      const { pids, dir } = await summary(start);
      leftovers.push(...pids);
      assert.ok(existsSync(join(dir, 'authkey')) && existsSync(join(dir, 'n1.sock')), 'the working directory');
      start.child.kill('SIGHUP');
      const { code } = await start.exited;
      assert.equal(code, 0, start.output());
      assert.equal(existsSync(dir), false, `${dir} removed`);
      assert.ok(!pids.some(alive), 'every daemon stopped');
      assert.deepEqual(readdirSync(logs.path).sort(), ['n1.log', 'n2.log', 'n3.log']);
      assert.match(readFileSync(join(logs.path, 'n1.log'), 'utf8'), /\[MAIN {2}\] corolink 0\.1\.0 starting/);
    } finally {
      logs.cleanup();
    }
  });
});
