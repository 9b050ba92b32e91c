// `corolink ha …` (src/cli/commands/ha.ts): the ha-manager status layout from an HA status document, the
// resources.cfg sections `ha add` and `ha group` build, node names or ids, and the commands end to end against an
// admin socket serving the HA handlers over a recording HaControl (the seam, src/ha/contract.ts).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { resolveNode } from '../../src/cli/commands/ha.ts';
import { ExitCode } from '../../src/cli/exit-codes.ts';
import { haStatusText } from '../../src/cli/format/ha.ts';
import { groupSection, hasGroup, resourceSection } from '../../src/cli/ha-sections.ts';
import { haStatusJson } from '../../src/daemon/handlers/ha.ts';
import type { ConfiguredNode } from '../../src/ipc/schema.ts';
import { haAdminSocket, haSnapshot, RecordingHaControl } from '../ipc/ha-fixtures.ts';

/** Thu Dec  3 18:00:10 2026 local time; the snapshot's daemon clock reads 10 000 ms then. */
const date = new Date(2026, 11, 3, 18, 0, 10);
const status = haStatusJson(haSnapshot, 10_000);

describe('ha status text', () => {
  it("prints ha-manager's layout: quorum, master, lrm per node (by id), service per sid", () => {
    assert.equal(
      haStatusText(status, { date }),
      [
        'quorum OK',
        'master n1 (active, Thu Dec  3 18:00:10 2026)',
        'lrm n1 (active, Thu Dec  3 18:00:09 2026)',
        'lrm n2 (maintenance mode, Thu Dec  3 18:00:09 2026)',
        'lrm n3 (lost, node fence, no report)',
        'service exec:web (n1, started)',
        'service ip:vip (n3, recovery)',
        'service systemd:db (none, error)',
        '',
      ].join('\n'),
    );
  });

  it('--verbose adds requested state, group, counts, the last message, the counters and the manager status', () => {
    const text = haStatusText(status, { date }, true);
    assert.match(text, /\nmanager_status epoch 12 seq 340 \(stored in ha\/manager_status: epoch 12 seq 331\)\n$/);
    assert.match(
      text,
      /service systemd:db \(none, error\)\n {4}requested started, group -, restarts 1, relocations 1\n {4}start failed: exit 1\n/,
    );
    assert.match(
      text,
      /service exec:web \(n1, started\)\n {4}requested started, group web, restarts 0, relocations 0\n/,
    );
    assert.match(text, /counters recoveries 2, restarts 3, relocations 1, fences 1\nmanager_status /);
  });

  it('says when there is no quorum and no manager', () => {
    const text = haStatusText({ ...status, quorate: false, manager: null }, { date });
    assert.match(text, /^quorum No quorum on this node\nmaster none \(no manager elected\)\n/);
  });
});

describe('ha sections', () => {
  it('ha add builds one resources.cfg section per type, settings first', () => {
    assert.equal(
      resourceSection('exec:web', {
        start: '/usr/local/bin/web start',
        stop: '/usr/local/bin/web stop',
        monitor: '/usr/local/bin/web status',
        user: 'www-data',
        maxRestart: '2',
        group: 'web',
      }),
      'exec: web\n\tmax_restart 2\n\tgroup web\n\tstart /usr/local/bin/web start\n\tstop /usr/local/bin/web stop\n\tmonitor /usr/local/bin/web status\n\tuser www-data\n',
    );
    assert.equal(resourceSection('systemd:nginx', { unit: 'nginx.service' }), 'systemd: nginx\n\tunit nginx.service\n');
    assert.equal(
      resourceSection('ip:vip', { address: '198.18.100.100/24', interface: 'eth2', state: 'stopped' }),
      'ip: vip\n\tstate stopped\n\taddress 198.18.100.100/24\n\tinterface eth2\n',
    );
  });

  it('refuses options of another type, missing required ones, unknown types and line breaks', () => {
    assert.throws(() => resourceSection('exec:web', { start: 'a', stop: 'b', monitor: 'c', unit: 'x' }), {
      message: '--unit is for systemd resources, not exec',
    });
    assert.throws(() => resourceSection('systemd:x', { unit: 'x', user: 'root' }), {
      message: '--user is for exec resources, not systemd',
    });
    assert.throws(() => resourceSection('exec:web', { start: 'a' }), {
      message: 'exec resources need --stop, --monitor',
    });
    assert.throws(() => resourceSection('vm:100', {}), { message: /service id 'vm:100' must be TYPE:NAME/ });
    assert.throws(() => resourceSection('systemd:x', { unit: 'x\n\tstate started' }), {
      message: '--unit must be one line',
    });
  });

  it('ha group builds a group section; hasGroup finds it', () => {
    const text = groupSection('web', {
      resources: ['ip:vip', 'exec:web'],
      nodes: ['n1:2', 'n2'],
      restricted: true,
      nofailback: true,
    });
    assert.equal(text, 'group: web\n\tresources ip:vip,exec:web\n\tnodes n1:2,n2\n\trestricted 1\n\tnofailback 1\n');
    assert.equal(hasGroup(text, 'web'), true);
    assert.equal(hasGroup(text, 'we'), false);
    assert.throws(() => groupSection('web', {}), { message: 'a group needs --resources or --nodes' });
  });

  it('resolves a node by name or by nodeid, and names the nodes when it cannot', () => {
    const nodes: ConfiguredNode[] = [
      { nodeid: 1, name: 'n1', votes: 1, member: true },
      { nodeid: 12, name: 'db', votes: 1, member: false },
    ];
    assert.equal(resolveNode(nodes, 'db').nodeid, 12);
    assert.equal(resolveNode(nodes, '12').name, 'db');
    assert.throws(() => resolveNode(nodes, 'n7'), { message: "no node 'n7' in the nodelist (nodes: n1, db)" });
  });
});

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[]): Promise<RunResult> {
  const child = spawn(process.execPath, ['bin/corolink.mjs', ...args], {
    env: { ...process.env, COROLINK_SOCKET: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

describe('corolink ha against the admin socket', () => {
  const ha = new RecordingHaControl();
  let socket: Awaited<ReturnType<typeof haAdminSocket>>;
  let disabled: Awaited<ReturnType<typeof haAdminSocket>>;
  const cli = (...args: string[]) => run(['ha', ...args, '--socket', socket.path]);

  before(async () => {
    socket = await haAdminSocket(ha);
    disabled = await haAdminSocket(undefined);
  });
  after(async () => {
    await socket.close();
    await disabled.close();
  });

  it('status prints the layout; --json the HaStatusV1 document', async () => {
    const text = await cli('status');
    assert.equal(text.code, ExitCode.ok, text.stderr);
    assert.match(text.stdout, /^quorum OK\nmaster n1 \(active, .+\)\nlrm n1 \(active, /);
    assert.match(text.stdout, /\nservice exec:web \(n1, started\)\n/);
    const json = await cli('status', '--json');
    assert.equal(JSON.parse(json.stdout).services[0].sid, 'exec:web');
  });

  it('add, set, migrate (node by name), relocate (by id), maintenance, group add, config', async () => {
    ha.calls.length = 0;
    const results = [
      await cli('add', 'ip:vip', '--address', '198.18.100.100/24', '--interface', 'eth2', '--group', 'web'),
      await cli('set', 'exec:web', '--state', 'disabled', '--max-restart', '3'),
      await cli('migrate', 'exec:web', 'n2'),
      await cli('relocate', 'exec:web', '3', '--json'),
      await cli('node', 'maintenance', 'n2', 'on'),
      await cli('group', 'add', 'db', '--resources', 'systemd:db', '--nodes', '3:5,n1', '--restricted'),
    ];
    for (const result of results) assert.equal(result.code, ExitCode.ok, result.stderr);
    assert.deepEqual(JSON.parse(results[3]!.stdout), { ok: true, sid: 'exec:web', nodeid: 3 });
    assert.deepEqual(ha.calls, [
      ['add', 'ip: vip\n\tgroup web\n\taddress 198.18.100.100/24\n\tinterface eth2\n'],
      ['set', 'exec:web', { state: 'disabled', maxRestart: 3 }],
      ['migrate', 'exec:web', 2],
      ['relocate', 'exec:web', 3],
      ['nodeMaintenance', 2, true],
      ['groupSet', 'group: db\n\tresources systemd:db\n\tnodes n3:5,n1\n\trestricted 1\n'],
    ]);
    assert.equal((await cli('config')).stdout, ha.text);
  });

  it('errors: one corolink: line and the exit code of their kind', async () => {
    const bad = await cli('add', 'exec:web', '--start', 'a', '--stop', 'b', '--monitor', 'bad');
    assert.equal(bad.code, ExitCode.usage);
    assert.equal(bad.stderr, 'corolink: haAdd: resources.cfg 2:2: unknown key bad\n');
    const node = await cli('migrate', 'exec:web', 'n9');
    assert.equal(node.code, ExitCode.usage);
    assert.equal(node.stderr, "corolink: no node 'n9' in the nodelist (nodes: n1, n2, n3)\n");
    const exists = await cli('group', 'add', 'web', '--nodes', 'n1');
    assert.equal(exists.stderr, 'corolink: group web exists: change it with ha group set\n');
    const mode = await cli('node', 'maintenance', 'n1', 'maybe', '--json');
    assert.equal(mode.code, ExitCode.usage);
    assert.deepEqual(JSON.parse(mode.stderr), { error: { code: 64, message: "mode must be on or off, got 'maybe'" } });
    const off = await run(['ha', 'status', '--socket', disabled.path]);
    assert.equal(off.code, ExitCode.invalid);
    assert.equal(off.stderr, 'corolink: haStatus: HA is not enabled on this node\n');
  });
});
