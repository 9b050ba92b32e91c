// system { sched_rr priority } on real daemons: with sched_rr yes (root) the daemon runs SCHED_RR at priority 99;
// with sched_rr no and priority N its threads have nice N; when the kernel refuses (no CAP_SYS_NICE) the failure is
// one warning in corosync's words and the daemon runs on under the normal scheduler. `corolink cmap
// runtime.scheduler` shows what the kernel says.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { NICE_MIN, SCHED_RR_PRIORITY_MAX } from '../../src/base/limits.ts';
import { CorolinkClient } from '../../src/client/client.ts';
import { readScheduling } from '../../src/daemon/scheduling.ts';
import { daemonArgs, waitForSocket, writeClusterFiles } from '../../src/lab/daemon-process.ts';
import { LocalCluster } from '../../src/lab/local-cluster.ts';

const FIRST_HOST = 121;
const ROOT = process.getuid?.() === 0;

/** The daemon's `runtime.scheduler.*` keys. */
async function schedulerKeys(socket: string): Promise<Record<string, unknown>> {
  const client = await CorolinkClient.connect({ socket, reconnect: false });
  try {
    const { keys } = await client.cmap({ prefix: 'runtime.scheduler.' });
    return Object.fromEntries(keys.map((k) => [k.key.slice('runtime.scheduler.'.length), k.value]));
  } finally {
    client.close();
  }
}

/** Every thread of a process with its scheduling. */
function threads(pid: number) {
  return readdirSync(`/proc/${pid}/task`).map((tid) => readScheduling(`/proc/${pid}/task/${tid}/stat`));
}

async function withNode(
  systemExtra: Record<string, string | number>,
  basePort: number,
  check: (pid: number, socket: string) => Promise<void>,
) {
  const cluster = await LocalCluster.start({ nodes: 1, links: 1, firstHost: FIRST_HOST, basePort, systemExtra });
  try {
    const node = cluster.node(1);
    await check(node.process!.pid!, node.socket);
  } finally {
    await cluster.stop();
  }
}

/**
 * One daemon of a one-node cluster whose file says `sched_rr: yes`, started as `wrapper… node corolink daemon …
 * flags`; `check` gets its socket and its log once it answers.
 */
async function withSpawnedNode(
  wrapper: string[],
  flags: string[],
  basePort: number,
  check: (socket: string, log: string) => Promise<void>,
) {
  const dir = mkdtempSync(join(tmpdir(), 'corolink-sched-'));
  const configPath = join(dir, 'corosync.conf');
  const authkeyPath = join(dir, 'authkey');
  const socket = join(dir, 'n1.sock');
  const logFile = join(dir, 'n1.log');
  writeClusterFiles(
    {
      links: 1,
      basePort,
      nodes: [{ nodeid: 1, name: 'n1', addresses: { 0: `127.0.10.${FIRST_HOST}` } }],
      systemExtra: { sched_rr: 'yes' },
    },
    configPath,
    authkeyPath,
  );
  const args = [
    ...wrapper,
    process.execPath,
    ...daemonArgs({ configPath, authkeyPath, nodeid: 1, socket }),
    ...flags,
    '--exit-with-parent',
  ];
  const log = openSync(logFile, 'a');
  const child = spawn(args[0]!, args.slice(1), { stdio: ['pipe', log, log] });
  closeSync(log);
  try {
    await waitForSocket(socket, 'n1', logFile, () => (child.exitCode === null ? undefined : `exit ${child.exitCode}`));
    await check(socket, readFileSync(logFile, 'utf8'));
  } finally {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('system { sched_rr priority } on a daemon', () => {
  test('sched_rr: yes runs the daemon SCHED_RR at priority 99', {
    skip: ROOT ? false : 'needs root (CAP_SYS_NICE)',
  }, async () => {
    await withNode({ sched_rr: 'yes' }, 47605, async (pid, socket) => {
      assert.deepEqual(
        { ...readScheduling(`/proc/${pid}/stat`), nice: 0 },
        { policy: 'SCHED_RR', rtPriority: SCHED_RR_PRIORITY_MAX, nice: 0 },
        'the event loop',
      );
      const realTime = threads(pid).filter((t) => t.policy === 'SCHED_RR');
      assert.ok(
        realTime.length > 1,
        `the threads that existed at start too (${realTime.length} of ${threads(pid).length})`,
      );
      assert.deepEqual(await schedulerKeys(socket), {
        policy: 'SCHED_RR',
        rt_priority: SCHED_RR_PRIORITY_MAX,
        nice: readScheduling(`/proc/${pid}/stat`).nice,
      });
    });
  });

  test('sched_rr: no with priority 5 gives every thread nice 5', async () => {
    await withNode({ sched_rr: 'no', priority: 5 }, 47615, async (pid, socket) => {
      assert.deepEqual(
        threads(pid).map((t) => [t.policy, t.nice]),
        threads(pid).map(() => ['SCHED_OTHER', 5]),
      );
      assert.deepEqual(await schedulerKeys(socket), { policy: 'SCHED_OTHER', rt_priority: 0, nice: 5 });
    });
  });

  test('refused by the kernel: one warning per attempt, and the daemon runs on', async () => {
    // Root loses CAP_SYS_NICE for the daemon and its children; anyone else never had it.
    const withoutSysNice = ROOT ? ['setpriv', '--bounding-set', '-sys_nice', '--'] : [];
    await withSpawnedNode(withoutSysNice, [], 47625, async (socket, log) => {
      assert.match(
        log,
        new RegExp(
          `warning \\[MAIN  \\] Could not set SCHED_RR at priority ${SCHED_RR_PRIORITY_MAX}: Operation not permitted`,
        ),
      );
      assert.match(log, new RegExp(`warning \\[MAIN  \\] Could not set priority ${NICE_MIN}: permission denied`));
      assert.deepEqual(await schedulerKeys(socket), { policy: 'SCHED_OTHER', rt_priority: 0, nice: 0 });
    });
  });

  test('--no-sched-rr keeps the normal scheduler whatever the file says, without a warning', async () => {
    await withSpawnedNode([], ['--no-sched-rr'], 47635, async (socket, log) => {
      assert.doesNotMatch(log, /Could not set/);
      assert.deepEqual(await schedulerKeys(socket), { policy: 'SCHED_OTHER', rt_priority: 0, nice: 0 });
    });
  });
});
