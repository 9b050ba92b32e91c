// HaManager without sockets: a fake node engine host, an in-memory store, a recording runner and watchdog.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CfsResult } from '../../src/cfs/core.ts';
import { haTimings } from '../../src/config/defaults.ts';
import { HA_SERVICE_ID, type HaEngineOutput } from '../../src/daemon/ha-engine.ts';
import { HA_MANAGER_STATUS_PATH, HA_RESOURCES_PATH, HaManager } from '../../src/daemon/ha-manager.ts';
import type { HaOp, HaResourceSpec } from '../../src/ha/contract.ts';
import { emptyTable } from '../../src/ha/crm.ts';

function setup(files = new Map<string, Uint8Array>()) {
  const logs: string[] = [];
  const changes: (() => void)[] = [];
  const requests: unknown[] = [];
  const runs: string[] = [];
  const watchdog = { active: [] as string[], feeds: 0, closed: false };
  let output: ((service: number, output: unknown) => void) | undefined;
  const manager = new HaManager({
    localNodeId: 1,
    nodes: [
      { nodeId: 1, name: 'n1' },
      { nodeId: 2, name: 'n2' },
    ],
    timings: haTimings({ tokenMs: 1000 }),
    runner: {
      run: async (op: HaOp, spec: HaResourceSpec) => {
        runs.push(`${op} ${spec.sid}`);
        return { exitCode: 0, timedOut: false, output: '' };
      },
    },
    watchdog: {
      setActive: (resources) => {
        watchdog.active = resources.map((r) => r.sid);
      },
      feed: () => {
        watchdog.feeds++;
      },
      close: async () => {
        watchdog.closed = true;
      },
    },
    store: {
      get: (path) => (files.has(path) ? { data: files.get(path)! } : undefined),
      write: async (write): Promise<CfsResult> => {
        files.set(write.path, write.data);
        for (const listener of changes) listener();
        return { ok: true, version: 1 };
      },
      onChange: (listener) => changes.push(listener),
    },
    log: (level, message) => logs.push(`${level} ${message}`),
  });
  manager.attach({
    serviceRequest: (service, request) => {
      assert.equal(service, HA_SERVICE_ID);
      requests.push(request);
    },
    on: (_event, listener) => {
      output = listener;
    },
  });
  const emit = (value: HaEngineOutput) => output!(HA_SERVICE_ID, value);
  return { manager, files, requests, runs, watchdog, emit, logs };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

test('resources.cfg edits are validated and written to the store', async () => {
  const { manager, requests } = setup();
  await manager.add('systemd: db\n\tunit db.service\n');
  await manager.add('ip: vip\n\taddress 198.18.100.100/24\n\tinterface eth1\n');
  assert.ok(
    requests.some((r) => (r as { type: string }).type === 'configChanged'),
    'the engine hears of it',
  );
  await assert.rejects(manager.add('systemd: db\n\tunit other\n'), /ha\/resources\.cfg:1:1: systemd:db exists already/);
  await assert.rejects(manager.add('ip: x\n\taddress nope\n\tinterface eth1\n'), /ha\/resources\.cfg:2:10: address/);
  await manager.groupSet('group: g\n\tresources ip:vip,systemd:db\n\tnodes n1:2\n');
  await manager.set('systemd:db', { state: 'disabled' });
  assert.equal(
    manager.resourcesText(),
    'systemd: db\n\tunit db.service\n\tstate disabled\n\tgroup g\n\n' +
      'ip: vip\n\taddress 198.18.100.100/24\n\tinterface eth1\n\tgroup g\n\n' +
      'group: g\n\tresources ip:vip,systemd:db\n\tnodes n1:2\n',
  );
  await manager.groupRemove('g');
  await manager.remove('ip:vip');
  assert.equal(manager.resourcesText(), 'systemd: db\n\tunit db.service\n\tstate disabled\n');
  await assert.rejects(manager.remove('ip:vip'), /no resource ip:vip/);
});

test('commands run once through the runner, the watchdog learns active resources, stopAll stops them', async () => {
  const { manager, requests, runs, watchdog, emit, files } = setup();
  const spec: HaResourceSpec = { type: 'systemd', sid: 'systemd:db', unit: 'db.service', timeoutMs: 1000 };
  emit({ type: 'feed' });
  emit({ type: 'run', id: '8.1/0', op: 'start', spec });
  await settle();
  await settle();
  assert.deepEqual(runs, ['start systemd:db']);
  assert.deepEqual(watchdog.active, ['systemd:db']);
  assert.equal(watchdog.feeds, 1);
  assert.deepEqual(requests.at(-1), {
    type: 'runResult',
    id: '8.1/0',
    result: { exitCode: 0, timedOut: false, output: '' },
  });
  emit({ type: 'stopAll' });
  await settle();
  await settle();
  assert.deepEqual(runs, ['start systemd:db', 'stop systemd:db']);
  assert.deepEqual(watchdog.active, []);
  const migrated = manager.migrate('systemd:db', 2);
  const admin = requests.at(-1) as { type: string; id: number; request: unknown };
  assert.deepEqual(admin.request, { op: 'migrate', unit: 'systemd:db', node: 2 });
  emit({ type: 'adminDone', id: admin.id, error: 'service systemd:db is stopped, not started' });
  await assert.rejects(migrated, /is stopped, not started/);
  void files.get(HA_RESOURCES_PATH);
  await manager.close();
  assert.ok(watchdog.closed);
});

test('the manager status goes to ha/manager_status; a manager on a store holding one starts from it', async () => {
  const first = setup();
  const table = { ...emptyTable(), epoch: 7, seq: 42, uidCounter: 3, fenced: [2], nodes: [1, 2] };
  table.counters.fences = 1;
  first.emit({ type: 'persist', table });
  first.emit({ type: 'persist', table: { ...table, seq: 43 } });
  await settle();
  await settle();
  const stored = JSON.parse(new TextDecoder().decode(first.files.get(HA_MANAGER_STATUS_PATH)!));
  assert.deepEqual(stored, { ...table, seq: 43 }, 'the newest one asked for');
  const second = setup(first.files);
  second.manager.services({ payloadBytesMax: undefined, quorate: () => false });
  const status = second.manager.status();
  assert.deepEqual(status.managerStatus, { epoch: 7, seq: 43, stored: { epoch: 7, seq: 43 } });
  assert.equal(status.counters.fences, 1);
  assert.equal(status.nodes.find((n) => n.nodeId === 2)!.state, 'fence');
  const broken = setup(new Map([[HA_MANAGER_STATUS_PATH, new TextEncoder().encode('{"epoch": "x"}')]]));
  broken.manager.services({ payloadBytesMax: undefined, quorate: () => false });
  assert.deepEqual(broken.manager.status().managerStatus, { epoch: 0, seq: 0, stored: null });
  assert.deepEqual(broken.logs, ['warning ha/manager_status not used: not a manager status table']);
});
