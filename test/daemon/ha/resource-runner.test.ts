// The HA resource agents with real commands: exec resources in their own process groups (start, monitor, stop,
// timeout kill, output, user), ip resources inside a scratch network namespace (root), systemd where it runs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { EXIT_TIMED_OUT } from '../../../src/daemon/ha/process-group.ts';
import { HA_EXIT_NOT_CONFIGURED, ResourceRunner } from '../../../src/daemon/ha/resource-runner.ts';
import { HA_EXIT_NOT_RUNNING, HA_EXIT_OK, type HaResourceSpec } from '../../../src/ha/contract.ts';
import { alive, groupMembers, sleeperPid, sleeperSpec, waitUntil } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'corolink-ha-runner-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('exec resources', () => {
  const runner = new ResourceRunner();

  test('start leaves its process in a group of its own; monitor sees it; stop ends it; monitor: not running', async () => {
    const spec = sleeperSpec(dir, 'web');
    const started = await runner.run('start', spec);
    assert.equal(started.exitCode, HA_EXIT_OK, started.output);
    const pid = sleeperPid(dir, 'web');
    const [pgid] = runner.processGroups(spec.sid);
    assert.ok(pgid !== undefined && pgid !== process.pid, 'the start recorded its process group');
    assert.deepEqual(groupMembers(pgid), [pid], 'the background sleep is in the start’s group');
    assert.equal((await runner.run('monitor', spec)).exitCode, HA_EXIT_OK);
    const stopped = await runner.run('stop', spec);
    assert.equal(stopped.exitCode, HA_EXIT_OK, stopped.output);
    assert.equal(alive(pid), false);
    assert.deepEqual(runner.processGroups(spec.sid), []);
    assert.equal((await runner.run('monitor', spec)).exitCode, HA_EXIT_NOT_RUNNING);
  });

  test('stop kills what the stop command left of the start’s group', async () => {
    const spec: HaResourceSpec = {
      type: 'exec',
      sid: 'exec:stubborn',
      start: 'sleep 600 & sleep 600 & true',
      stop: 'true',
      monitor: 'exit 7',
      timeoutMs: 5_000,
    };
    assert.equal((await runner.run('start', spec)).exitCode, HA_EXIT_OK);
    const [pgid] = runner.processGroups(spec.sid);
    assert.equal(groupMembers(pgid!).length, 2);
    assert.equal((await runner.run('stop', spec)).exitCode, HA_EXIT_OK);
    assert.deepEqual(groupMembers(pgid!), [], 'no process of the group remains');
  });

  test('a command past its timeout: the whole process group is killed, timedOut, exit 124', async () => {
    const spec: HaResourceSpec = {
      type: 'exec',
      sid: 'exec:hang',
      start: 'sleep 600 & sleep 600',
      stop: 'true',
      monitor: 'true',
      timeoutMs: 200,
    };
    const result = await runner.run('start', spec);
    assert.equal(result.timedOut, true);
    assert.equal(result.exitCode, EXIT_TIMED_OUT);
    const [pgid] = runner.processGroups(spec.sid);
    await waitUntil(() => groupMembers(pgid!).length === 0, 5_000, 'the timed-out group is empty');
  });

  test('exit codes and the tail of stdout and stderr come back', async () => {
    const spec: HaResourceSpec = {
      type: 'exec',
      sid: 'exec:fails',
      start: 'echo starting; echo "no config" >&2; exit 3',
      stop: 'true',
      monitor: 'exit 7',
      timeoutMs: 5_000,
    };
    const result = await runner.run('start', spec);
    assert.deepEqual(result, { exitCode: 3, timedOut: false, output: 'starting\nno config' });
    const long = await runner.run('start', { ...spec, start: 'yes corolink | head -c 99999; exit 0' });
    assert.ok(long.output.length <= 4096 && long.output.endsWith('corolink'), 'only the tail is kept');
  });

  test('runs as the configured user; an unknown user runs nothing', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('switching users needs root');
    const spec: HaResourceSpec = {
      type: 'exec',
      sid: 'exec:asuser',
      start: 'id -u; echo $USER',
      stop: 'true',
      monitor: 'true',
      user: 'nobody',
      timeoutMs: 5_000,
    };
    const uid = execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim();
    assert.equal((await runner.run('start', spec)).output, `${uid}\nnobody`);
    const marker = join(dir, 'ran');
    const missing = await runner.run('start', { ...spec, user: 'no-such-user-x', start: `touch ${marker}` });
    assert.equal(missing.exitCode, HA_EXIT_NOT_CONFIGURED);
    assert.match(missing.output, /exec:asuser.*no user "no-such-user-x"/);
    assert.equal(existsSync(marker), false, 'nothing ran');
  });

  test('bad specs: a clear error naming the resource and field, nothing run', async () => {
    const marker = join(dir, 'bad');
    const good: HaResourceSpec = { ...sleeperSpec(dir, 'bad'), start: `touch ${marker}` };
    const cases: [HaResourceSpec, RegExp][] = [
      [{ ...good, timeoutMs: 0 }, /"exec:bad": timeout must be/],
      [{ ...good, sid: 'web' }, /sid of a exec resource must be "exec:NAME"/],
      [{ ...good, stop: ' ' }, /stop must be a non-empty command line/],
      [{ ...good, user: 'a b' }, /user must be a user name/],
      [{ type: 'systemd', sid: 'systemd:x', unit: '--now', timeoutMs: 1000 }, /unit must be a systemd unit name/],
      [
        { type: 'ip', sid: 'ip:v', address: '198.18.100.300', prefixLength: 24, interface: 'eth0', timeoutMs: 1000 },
        /address must be/,
      ],
      [
        { type: 'ip', sid: 'ip:v', address: '198.18.100.3', prefixLength: 33, interface: 'eth0', timeoutMs: 1000 },
        /prefix length must be 0–32/,
      ],
      [
        { type: 'ip', sid: 'ip:v', address: '198.18.100.3', prefixLength: 24, interface: 'a/b', timeoutMs: 1000 },
        /interface must be/,
      ],
    ];
    for (const [spec, message] of cases) {
      const result = await runner.run('start', spec);
      assert.equal(result.exitCode, HA_EXIT_NOT_CONFIGURED, spec.sid);
      assert.match(result.output, message);
    }
    assert.equal(existsSync(marker), false, 'nothing ran');
  });
});

describe('ip resources in a network namespace', {
  skip: process.getuid?.() !== 0 && 'network namespaces need root',
}, () => {
  const ns = `clha${process.pid}`;
  const ipNs = (...args: string[]) => execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });
  after(() => execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }));

  test('start adds the address (twice: still ok), monitor sees it, stop removes it (twice: still ok)', async () => {
    execFileSync('ip', ['netns', 'add', ns]);
    ipNs('link', 'add', 'svc0', 'type', 'veth', 'peer', 'name', 'svc1');
    ipNs('link', 'set', 'svc0', 'up');
    const runner = new ResourceRunner({ netns: ns });
    const spec: HaResourceSpec = {
      type: 'ip',
      sid: 'ip:vip',
      address: '198.18.100.100',
      prefixLength: 24,
      interface: 'svc0',
      timeoutMs: 5_000,
    };
    assert.equal((await runner.run('monitor', spec)).exitCode, HA_EXIT_NOT_RUNNING);
    for (let i = 0; i < 2; i++) assert.equal((await runner.run('start', spec)).exitCode, HA_EXIT_OK);
    assert.match(ipNs('-o', 'addr', 'show', 'dev', 'svc0'), /inet 198\.18\.100\.100\/24/);
    assert.equal((await runner.run('monitor', spec)).exitCode, HA_EXIT_OK);
    for (let i = 0; i < 2; i++) assert.equal((await runner.run('stop', spec)).exitCode, HA_EXIT_OK);
    assert.doesNotMatch(ipNs('-o', 'addr', 'show', 'dev', 'svc0'), /198\.18\.100\.100/);
    assert.equal((await runner.run('monitor', spec)).exitCode, HA_EXIT_NOT_RUNNING);
    const v6: HaResourceSpec = { ...spec, sid: 'ip:vip6', address: '2001:db8:0:0::64', prefixLength: 64 };
    assert.equal((await runner.run('start', v6)).exitCode, HA_EXIT_OK);
    assert.equal((await runner.run('monitor', v6)).exitCode, HA_EXIT_OK, 'found in its compressed form');
    assert.equal((await runner.run('stop', v6)).exitCode, HA_EXIT_OK);
    const gone: HaResourceSpec = { ...spec, interface: 'nosuchdev' };
    assert.notEqual((await runner.run('start', gone)).exitCode, HA_EXIT_OK, 'no such interface: failed');
  });
});

describe('systemd resources', { skip: !existsSync('/run/systemd/system') && 'systemd is not running here' }, () => {
  test('is-active of a unit that does not run: not running (7)', async () => {
    const runner = new ResourceRunner();
    const spec: HaResourceSpec = {
      type: 'systemd',
      sid: 'systemd:x',
      unit: 'corolink-no-such.service',
      timeoutMs: 5_000,
    };
    assert.equal((await runner.run('monitor', spec)).exitCode, HA_EXIT_NOT_RUNNING);
  });
});
