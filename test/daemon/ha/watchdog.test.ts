// The watchdog supervisor as a real process (`corolink ha-watchdog`, the built bundle) fed by the daemon's side
// (SupervisedWatchdog): fed, it does nothing; unfed past the fence timeout, or its daemon killed with SIGKILL, it
// kills the exec resource's whole process group, logs it, and waits for a daemon to connect again.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ResourceRunner } from '../../../src/daemon/ha/resource-runner.ts';
import { SupervisedWatchdog, type WatchdogOptions } from '../../../src/daemon/ha/watchdog.ts';
import type { HaResourceSpec } from '../../../src/ha/contract.ts';
import { BIN } from '../../../src/lab/daemon-process.ts';
import { alive, groupMembers, sleeperPid, sleeperSpec, waitUntil } from './helpers.ts';

const FENCE_TIMEOUT_MS = 400;
/** Bound of every wait for something the supervisor does (a loaded machine included). */
const WAIT_MS = 10_000;

const dir = mkdtempSync(join(tmpdir(), 'corolink-ha-watchdog-'));
const supervisors = new Set<number>();
after(() => {
  // A supervisor a failed test left behind is ended by its pid, as the lab does.
  for (const pid of supervisors) if (alive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Paths and the command of supervisor `name`; its stderr (the log lines) goes to `<name>.log`. */
function supervisorOf(name: string) {
  const log = join(dir, `${name}.log`);
  return {
    socketPath: join(dir, `${name}.sock`),
    pidFile: join(dir, `${name}.pid-file`),
    log,
    command: ['/bin/sh', '-c', `exec "$0" "$@" 2>>${log}`, process.execPath, BIN, 'ha-watchdog'],
  };
}

async function startWatchdog(name: string, runner: ResourceRunner, extra: Partial<WatchdogOptions> = {}) {
  const paths = supervisorOf(name);
  // open: connects in the background, as the daemon's synchronous HA setup does (the feeder uses start).
  const watchdog = SupervisedWatchdog.open({
    ...paths,
    runner,
    timings: { fenceTimeoutMs: FENCE_TIMEOUT_MS, feedIntervalMs: FENCE_TIMEOUT_MS / 4 },
    log: () => {},
    ...extra,
  });
  await waitUntil(() => watchdog.supervisorPid !== undefined, WAIT_MS, 'the supervisor said hello');
  supervisors.add(watchdog.supervisorPid!);
  return { watchdog, ...paths };
}

/** Starts the stand-in daemon (feeder.ts) with `specs`, optionally inside network namespace `netns`. */
async function startFeeder(name: string, specs: HaResourceSpec[], netns?: string) {
  const paths = supervisorOf(name);
  const args = [
    process.execPath,
    '--import',
    'tsx',
    join(import.meta.dirname, 'feeder.ts'),
    JSON.stringify(specs),
    paths.socketPath,
    paths.pidFile,
    JSON.stringify(paths.command),
  ];
  const [file, ...rest] = netns ? ['ip', 'netns', 'exec', netns, ...args] : args;
  const feeder = spawn(file!, rest, { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => feeder.once('exit', resolve));
  const line = await new Promise<string>((resolve, reject) => {
    feeder.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString()));
    feeder.once('exit', (code) => reject(new Error(`the feeder exited (${code})`)));
  });
  const { pgid, supervisorPid } = JSON.parse(line) as { pgid: number; supervisorPid: number };
  supervisors.add(supervisorPid);
  /** SIGKILLs the stand-in daemon and waits until it is gone. */
  const kill = async () => {
    feeder.kill('SIGKILL');
    await exited;
  };
  return { ...paths, pgid, supervisorPid, kill };
}

describe('the watchdog supervisor', () => {
  test('fed: the service keeps running; closed cleanly: the supervisor leaves and removes its pid file', async () => {
    const runner = new ResourceRunner();
    const { watchdog, pidFile } = await startWatchdog('fed', runner);
    const pid = watchdog.supervisorPid!;
    assert.equal(Number(readFileSync(pidFile, 'utf8')), pid);
    const spec = sleeperSpec(dir, 'fed');
    watchdog.setActive([spec]);
    assert.equal((await runner.run('start', spec)).exitCode, 0);
    const service = sleeperPid(dir, 'fed');
    // Fed for three fence timeouts: nothing may happen.
    const until = Date.now() + 3 * FENCE_TIMEOUT_MS;
    while (Date.now() < until) {
      watchdog.feed();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(alive(service), true, 'the fed supervisor left the service alone');
    assert.equal((await runner.run('stop', spec)).exitCode, 0);
    watchdog.setActive([]);
    await watchdog.close();
    await waitUntil(() => !alive(pid), WAIT_MS, 'the supervisor left');
    assert.equal(existsSync(pidFile), false);
  });

  test('unfed past the fence timeout: the whole process group is killed, logged, the daemon told', async () => {
    const runner = new ResourceRunner();
    const fired: number[] = [];
    const { watchdog, log } = await startWatchdog('unfed', runner, { onFired: (n) => fired.push(n) });
    const spec = { ...sleeperSpec(dir, 'unfed'), start: `sleep 600 & sleep 600 & echo $! > ${join(dir, 'unfed.pid')}` };
    watchdog.setActive([spec]);
    watchdog.feed();
    const fed = Date.now();
    assert.equal((await runner.run('start', spec)).exitCode, 0);
    const [pgid] = runner.processGroups(spec.sid);
    assert.equal(groupMembers(pgid!).length, 2);
    await waitUntil(() => !alive(sleeperPid(dir, 'unfed')), WAIT_MS, 'the unfed supervisor killed the service');
    console.log(`# the service died ${Date.now() - fed} ms after the last feed (fence timeout ${FENCE_TIMEOUT_MS} ms)`);
    await waitUntil(() => groupMembers(pgid!).length === 0, WAIT_MS, 'no process of the group remains');
    await waitUntil(() => fired.length > 0, WAIT_MS, 'the daemon side heard of the fence');
    assert.deepEqual(fired, [1]);
    assert.match(readFileSync(log, 'utf8'), /\[HA {4}\] watchdog: fence timeout expired, stopping 1 services/);
    // Fed again after the fence: armed again, and closed cleanly with nothing active it stops nothing.
    watchdog.setActive([]);
    watchdog.feed();
    await watchdog.close();
  });

  test('the daemon killed (SIGKILL): the supervisor stops its services and a new daemon connects to it again', async () => {
    const spec = sleeperSpec(dir, 'killed');
    const { pgid, supervisorPid, kill, log } = await startFeeder('killed', [spec]);
    const service = sleeperPid(dir, 'killed');
    assert.deepEqual(groupMembers(pgid), [service]);
    const killed = Date.now();
    await kill();
    await waitUntil(() => !alive(service), WAIT_MS, 'the supervisor killed the service of the dead daemon');
    console.log(`# the service died ${Date.now() - killed} ms after the daemon's SIGKILL`);
    assert.deepEqual(groupMembers(pgid), []);
    assert.match(readFileSync(log, 'utf8'), /watchdog: the daemon is gone without disarming, stopping 1 services/);
    assert.equal(alive(supervisorPid), true, 'the supervisor waits for the daemon');
    const again = await startWatchdog('killed', new ResourceRunner());
    assert.equal(again.watchdog.supervisorPid, supervisorPid, 'the new daemon found the same supervisor');
    await again.watchdog.close();
    await waitUntil(() => !alive(supervisorPid), WAIT_MS, 'the supervisor left');
  });

  test('the daemon killed in a network namespace: the supervisor removes its floating address', {
    skip: process.getuid?.() !== 0 && 'network namespaces need root',
  }, async () => {
    const ns = `clwd${process.pid}`;
    const ipNs = (...args: string[]) => execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });
    execFileSync('ip', ['netns', 'add', ns]);
    try {
      ipNs('link', 'add', 'svc0', 'type', 'veth', 'peer', 'name', 'svc1');
      ipNs('link', 'set', 'svc0', 'up');
      const vip: HaResourceSpec = {
        type: 'ip',
        sid: 'ip:vip',
        address: '198.18.100.100',
        prefixLength: 24,
        interface: 'svc0',
        timeoutMs: 5_000,
      };
      const { kill, supervisorPid, log } = await startFeeder('netns', [vip], ns);
      assert.match(ipNs('-o', 'addr', 'show', 'dev', 'svc0'), /198\.18\.100\.100\/24/);
      await kill();
      await waitUntil(
        () => !ipNs('-o', 'addr', 'show', 'dev', 'svc0').includes('198.18.100.100'),
        WAIT_MS,
        'the supervisor removed the address',
      );
      await waitUntil(() => /watchdog: ip:vip stopped/.test(readFileSync(log, 'utf8')), WAIT_MS, 'logged');
      process.kill(supervisorPid, 'SIGTERM');
      await waitUntil(() => !alive(supervisorPid), WAIT_MS, 'the supervisor left on SIGTERM');
    } finally {
      execFileSync('ip', ['netns', 'del', ns]);
    }
  });

  test('--exit-with-parent: the parent gone (its stdin pipe closed), it stops what is active and leaves', async () => {
    const paths = supervisorOf('orphan');
    const [file, ...args] = paths.command;
    const child = spawn(
      file!,
      [...args, '--socket', paths.socketPath, '--pid-file', paths.pidFile, '--exit-with-parent'],
      { stdio: ['pipe', 'ignore', 'ignore'] },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    supervisors.add(child.pid!);
    await waitUntil(() => existsSync(paths.pidFile), WAIT_MS, 'the supervisor listens');
    const runner = new ResourceRunner();
    const { watchdog } = await startWatchdog('orphan', runner);
    assert.equal(watchdog.supervisorPid, child.pid, 'the daemon side found the running supervisor');
    const spec = sleeperSpec(dir, 'orphan');
    watchdog.setActive([spec]);
    assert.equal((await runner.run('start', spec)).exitCode, 0);
    const service = sleeperPid(dir, 'orphan');
    await waitUntil(() => readFileSync(paths.log, 'utf8').length > 0, WAIT_MS, 'the supervisor logged its start');
    child.stdin.end();
    assert.equal(await exited, 0);
    assert.equal(alive(service), false, 'the active service was stopped before it left');
    assert.match(readFileSync(paths.log, 'utf8'), /the parent process is gone, stopping 1 services/);
    await watchdog.close();
  });

  test('the supervisor gone while the daemon feeds: the next feeds start a new one', async () => {
    const { watchdog } = await startWatchdog('respawn', new ResourceRunner());
    const first = watchdog.supervisorPid!;
    process.kill(first, 'SIGKILL');
    await waitUntil(() => !alive(first), WAIT_MS, 'the first supervisor is gone');
    const feeding = setInterval(() => watchdog.feed(), 20);
    try {
      await waitUntil(
        () => watchdog.supervisorPid !== first && alive(watchdog.supervisorPid!),
        WAIT_MS,
        'a new supervisor',
      );
    } finally {
      clearInterval(feeding);
    }
    supervisors.add(watchdog.supervisorPid!);
    await watchdog.close();
    await waitUntil(() => !alive(watchdog.supervisorPid!), WAIT_MS, 'the new supervisor left');
  });

  test('bad lines are dropped and logged; a second connection is refused; the supervisor goes on', async () => {
    const runner = new ResourceRunner();
    const { watchdog, socketPath, log } = await startWatchdog('bad', runner);
    const intruder = createConnection(socketPath);
    const refused = new Promise((resolve) => intruder.once('close', resolve));
    intruder.on('error', () => {});
    await refused;
    assert.match(readFileSync(log, 'utf8'), /a second connection refused/);
    // The daemon's own connection: bad lines among good ones.
    (watchdog as unknown as { socket: { write(text: string): void } }).socket.write(
      'nonsense\n{"type":"feed","fenceTimeoutMs":-1}\n{"type":"active","resources":[{"spec":{"type":"ip"},"pgids":[]}]}\n',
    );
    await waitUntil(
      () => (readFileSync(log, 'utf8').match(/dropped/g) ?? []).length === 3,
      WAIT_MS,
      'three lines dropped',
    );
    assert.match(readFileSync(log, 'utf8'), /dropped feed: fenceTimeoutMs must be/);
    await watchdog.close();
    await waitUntil(() => !alive(watchdog.supervisorPid!), WAIT_MS, 'the supervisor left');
  });
});
