import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HaHarness, TIMINGS } from './harness.ts';

const WEB = `ip: vip
\taddress 198.18.100.100/24
\tinterface eth1

exec: web
\tstart web-start
\tstop web-stop
\tmonitor web-status

group: webgroup
\tresources ip:vip,exec:web
\tnodes n1:2,n2:1
`;

const TWO = `systemd: a
\tunit a.service

systemd: b
\tunit b.service
`;

function started(h: HaHarness): void {
  h.advance(TIMINGS.reportIntervalMs * 2);
}

test('the lowest member manages; a group starts in order on its preferred node and stops in reverse', () => {
  const h = new HaHarness([1, 2, 3]);
  h.setConfig(WEB);
  started(h);
  assert.deepEqual(h.nodes.get(2)!.core.status().manager, { nodeId: 1, name: 'n1' });
  assert.deepEqual(h.where('ip:vip'), [1]);
  assert.deepEqual(h.where('exec:web'), [1]);
  const starts = h.log.filter((l) => / start /.test(l));
  assert.match(starts[0]!, /^1 start ip:vip /);
  assert.match(starts[1]!, /^1 start exec:web /);
  for (const id of [1, 2, 3]) {
    const services = h.nodes.get(id)!.core.status().services;
    assert.deepEqual(
      services.map((s) => [s.sid, s.group, s.nodeId, s.state]),
      [
        ['ip:vip', 'webgroup', 1, 'started'],
        ['exec:web', 'webgroup', 1, 'started'],
      ],
    );
  }
  h.setConfig(WEB.replace('interface eth1', 'interface eth1\n\tstate stopped'));
  started(h);
  assert.deepEqual(h.where('ip:vip'), []);
  const stops = h.log.filter((l) => / stop /.test(l));
  assert.match(stops[0]!, /^1 stop exec:web /);
  assert.match(stops[1]!, /^1 stop ip:vip /);
  assert.equal(new Set(h.runIds).size, h.runIds.length, 'no command runs twice');
});

test('placement: fewest units per node', () => {
  const h = new HaHarness([1, 2, 3]);
  h.setConfig(`${TWO}\nsystemd: c\n\tunit c.service\n`);
  started(h);
  assert.deepEqual(
    ['systemd:a', 'systemd:b', 'systemd:c'].map((sid) => h.where(sid)),
    [[1], [2], [3]],
  );
});

test('a lost node stops at once; its services start elsewhere only after the fence wait', () => {
  const h = new HaHarness([1, 2, 3]);
  h.setConfig(WEB);
  started(h);
  assert.deepEqual(h.where('exec:web'), [1]);
  h.partition([[2, 3]]);
  h.settle();
  assert.ok(h.log.includes('1 stopAll'), 'node 1 left the quorate membership: it stopped everything');
  assert.deepEqual(h.where('exec:web'), []);
  h.advance(TIMINGS.recoveryWaitMs - 100);
  assert.deepEqual(h.where('exec:web'), [], 'not recovered before the fence deadline');
  const status = h.nodes.get(2)!.core.status();
  assert.equal(status.nodes.find((n) => n.nodeId === 1)!.state, 'unknown');
  assert.equal(status.services[0]!.state, 'fence');
  h.advance(TIMINGS.reportIntervalMs + 200);
  assert.deepEqual(h.where('exec:web'), [2], 'recovered on the next priority');
  const after = h.nodes.get(3)!.core.status();
  assert.equal(after.nodes.find((n) => n.nodeId === 1)!.state, 'fence');
  assert.equal(after.counters.recoveries, 1);
  assert.ok(
    h.nodes.get(2)!.events.some((e) => e.message === 'service group:webgroup: recovery from n1 to n2 (n1 fenced)'),
  );
  // Back: failback to the higher priority, stop first, then start.
  h.partition([[1, 2, 3]]);
  started(h);
  assert.deepEqual(h.where('exec:web'), [1]);
  assert.equal(new Set(h.runIds).size, h.runIds.length, 'no command runs twice');
});

test('a node back before its deadline starts its services again itself', () => {
  const h = new HaHarness([1, 2, 3]);
  h.setConfig(TWO);
  started(h);
  assert.deepEqual(h.where('systemd:b'), [2]);
  h.partition([[1, 3]]);
  h.advance(500);
  assert.deepEqual(h.where('systemd:b'), []);
  h.partition([[1, 2, 3]]);
  started(h);
  assert.deepEqual(h.where('systemd:b'), [2]);
});

test('an inquorate partition runs nothing and a minority never recovers', () => {
  const h = new HaHarness([1, 2, 3, 4]);
  h.setConfig(TWO);
  started(h);
  h.partition([
    [1, 2],
    [3, 4],
  ]);
  h.advance(TIMINGS.recoveryWaitMs * 3);
  assert.deepEqual(h.where('systemd:a'), []);
  assert.deepEqual(h.where('systemd:b'), []);
  h.partition([[1, 2, 3, 4]]);
  started(h);
  assert.equal(h.where('systemd:a').length + h.where('systemd:b').length, 2);
});

test('a failing start: max_restart restarts, max_relocate relocations, then error; disabled clears it', () => {
  const h = new HaHarness([1, 2, 3]);
  h.failing.add('systemd:a');
  h.setConfig('systemd: a\n\tunit a.service\n');
  started(h);
  const starts = h.log.filter((l) => / start systemd:a /.test(l)).map((l) => Number(l[0]));
  assert.deepEqual(starts, [1, 1, 2, 2], 'start and restart on n1, relocate to n2 and restart there (per node)');
  const service = h.nodes.get(3)!.core.status().services[0]!;
  assert.equal(service.state, 'error');
  assert.equal(service.restarts, 1);
  assert.equal(service.relocations, 1);
  assert.match(service.message!, /start failed/);
  h.failing.clear();
  h.setConfig('systemd: a\n\tunit a.service\n\tstate disabled\n');
  started(h);
  assert.equal(h.nodes.get(1)!.core.status().services[0]!.state, 'stopped');
  h.setConfig('systemd: a\n\tunit a.service\n');
  started(h);
  assert.equal(h.nodes.get(1)!.core.status().services[0]!.state, 'started');
  assert.equal(h.where('systemd:a').length, 1);
});

test('migrate stops, then starts on the target; maintenance moves units away and keeps them off', () => {
  const h = new HaHarness([1, 2, 3]);
  h.setConfig('systemd: a\n\tunit a.service\n');
  started(h);
  assert.deepEqual(h.where('systemd:a'), [1]);
  const id = h.admin(2, { op: 'migrate', unit: 'systemd:a', node: 3 });
  started(h);
  assert.equal(h.nodes.get(2)!.admin.get(id), null);
  assert.deepEqual(h.where('systemd:a'), [3]);
  const moves = h.log.filter((l) => /systemd:a/.test(l)).slice(-2);
  assert.match(moves[0]!, /^1 stop /);
  assert.match(moves[1]!, /^3 start /);
  const bad = h.admin(1, { op: 'migrate', unit: 'systemd:nope', node: 2 });
  h.settle();
  assert.equal(h.nodes.get(1)!.admin.get(bad), 'no service systemd:nope');
  h.admin(1, { op: 'maintenance', node: 3, on: true });
  started(h);
  assert.equal(h.where('systemd:a').length, 1);
  assert.notDeepEqual(h.where('systemd:a'), [3]);
  assert.equal(
    h.nodes
      .get(1)!
      .core.status()
      .nodes.find((n) => n.nodeId === 3)!.state,
    'maintenance',
  );
  assert.equal(new Set(h.runIds).size, h.runIds.length, 'no command runs twice');
});

test('a request acknowledged by its sender is applied by the members that get it only in their transitional configuration', () => {
  const h = new HaHarness([1, 2, 3]);
  h.setConfig('systemd: a\n\tunit a.service\n');
  started(h);
  assert.deepEqual(h.where('systemd:a'), [1]);
  // Node 3 delivers its own request (safe: every member has received it) and is cut off; 1 and 2 deliver it in
  // their transitional configuration (HA soak seed 1207: before, they dropped it and the table lost it).
  const id = h.admin(3, { op: 'migrate', unit: 'systemd:a', node: 2 });
  const request = h.takeLast();
  h.deliverTo(request, [3]);
  assert.equal(h.nodes.get(3)!.admin.get(id), null, 'acknowledged');
  // Node 2's own request comes back only in the transitional configuration: applied, but answered "retry".
  const ownId = h.admin(2, { op: 'maintenance', node: 3, on: true });
  const own = h.takeLast();
  h.partition([[1, 2]], () => {
    assert.match(h.nodes.get(2)!.admin.get(ownId)!, /membership changed: it may or may not be applied; retry/);
    const runs = h.runIds.length;
    h.deliverTo(request, [1, 2]);
    h.deliverTo(own, [1, 2]);
    for (const node of [1, 2]) {
      const core = h.nodes.get(node)!.core;
      assert.equal(core.crm.entry('systemd:a')!.state, 'migrate', `applied on node ${node}`);
      assert.deepEqual(core.crm.table.maintenance, [3]);
      assert.deepEqual(core.crm.table.admins, [
        { node: 2, id: ownId },
        { node: 3, id },
      ]);
      assert.equal(core.active, false, 'not active in the transitional configuration');
    }
    assert.equal(h.runIds.length, runs, 'no command from a transitional delivery');
  });
  started(h);
  assert.deepEqual(h.where('systemd:a'), [2], 'the partition [1,2] kept the migrate');
  assert.equal(new Set(h.runIds).size, h.runIds.length, 'no command runs twice');
});

test('an own message delivered in the transitional configuration renews no lease', () => {
  const h = new HaHarness([1, 2, 3]);
  h.setConfig('systemd: a\n\tunit a.service\n');
  started(h);
  assert.deepEqual(h.where('systemd:a'), [1]);
  // Node 1's next report, sent at `sentAt`, is delivered only in the transitional configuration.
  h.now += TIMINGS.reportIntervalMs;
  const sentAt = h.now;
  h.feed(1, { type: 'tick' });
  const report = h.takeLast();
  assert.equal(report.message.body.t, 'lrm');
  h.partition([[1, 2]], () => {
    const seq = h.nodes.get(2)!.core.crm.table.seq;
    h.deliverTo(report, [1, 2]);
    assert.equal(h.nodes.get(2)!.core.crm.table.seq, seq + 1, 'applied');
  });
  // The new configuration's sync does not complete (its hellos stay on the bus): only the lease decides.
  h.now = sentAt + TIMINGS.leaseMs - 1;
  h.feed(1, { type: 'tick' });
  assert.ok(h.log.includes('1 stopAll'), 'the lease from before the report ended: node 1 stopped');
  assert.deepEqual(h.where('systemd:a'), []);
});

test('monitor: a started service found dead restarts on its node, then relocates, then is error; all logged', () => {
  const h = new HaHarness([1, 2, 3]);
  h.setConfig('systemd: a\n\tunit a.service\n\tmonitor_interval 2\n\tmonitor_timeout 1\n');
  started(h);
  assert.deepEqual(h.where('systemd:a'), [1]);
  h.advance(5000);
  const monitors = h.log.filter((l) => /^1 monitor systemd:a /.test(l));
  assert.ok(monitors.length >= 2, 'a healthy service is monitored every interval');
  assert.equal(h.nodes.get(2)!.core.status().services[0]!.state, 'started', 'a passing monitor changes nothing');
  const die = (node: number) => {
    h.nodes.get(node)!.running.delete('systemd:a');
    h.advance(2500);
  };
  die(1);
  assert.deepEqual(h.where('systemd:a'), [1], 'restarted on its node');
  let service = h.nodes.get(3)!.core.status().services[0]!;
  assert.deepEqual([service.state, service.restarts, service.relocations], ['started', 1, 0]);
  die(1);
  assert.deepEqual(h.where('systemd:a'), [2], 'relocated after max_restart restarts');
  service = h.nodes.get(3)!.core.status().services[0]!;
  assert.deepEqual([service.state, service.restarts, service.relocations], ['started', 0, 1], 'restarts per node');
  die(2);
  assert.deepEqual(h.where('systemd:a'), [2], 'restarted on its new node');
  service = h.nodes.get(3)!.core.status().services[0]!;
  assert.deepEqual([service.state, service.restarts, service.relocations], ['started', 1, 1]);
  die(2);
  service = h.nodes.get(3)!.core.status().services[0]!;
  assert.equal(service.state, 'error');
  assert.match(service.message!, /monitor failed \(monitor systemd:a exited 7\): error/);
  assert.deepEqual(h.where('systemd:a'), []);
  const events = h.nodes.get(1)!.events.map((e) => e.message);
  assert.ok(events.includes('service systemd:a: monitor failed (monitor systemd:a exited 7): restart 1 of 1'));
  assert.ok(events.includes('service systemd:a: monitor failed on n1: relocate to n2'));
  // Before the manager acted, the failed node stopped what was left of it.
  const stops = h.log.filter((l) => / stop systemd:a /.test(l)).map((l) => Number(l[0]));
  assert.deepEqual(stops, [1, 1, 2, 2]);
  assert.equal(new Set(h.runIds).size, h.runIds.length, 'no command runs twice');
  const before = h.log.length;
  h.advance(10_000);
  assert.equal(h.log.slice(before).filter((l) => / monitor /.test(l)).length, 0, 'nothing monitored in error');
});

test('manager status: the manager persists it when it changes; a new manager and a restarted cluster continue', () => {
  const config = 'systemd: a\n\tunit a.service\n\nsystemd: b\n\tunit b.service\n';
  const h = new HaHarness([1, 2, 3]);
  h.failing.add('systemd:a');
  h.setConfig(config);
  started(h);
  const written = () => h.nodes.get(1)!.persisted.length;
  assert.ok(written() > 0, 'the manager writes it');
  assert.deepEqual([h.nodes.get(2)!.persisted.length, h.nodes.get(3)!.persisted.length], [0, 0], 'only the manager');
  const before = written();
  h.advance(TIMINGS.reportIntervalMs * 8);
  assert.equal(written(), before, 'local manager reports alone are not written');
  const table = h.nodes.get(1)!.persisted.at(-1)!;
  const a = table.services.find((e) => e.id === 'systemd:a')!;
  assert.deepEqual([a.state, a.restarts, a.relocations], ['error', 1, 1]);
  // Manager change: n1 leaves; n2 manages from the same status, keeps the counts and writes it.
  h.partition([[2, 3]]);
  started(h);
  const n2 = h.nodes.get(2)!;
  assert.deepEqual(n2.core.status().manager, { nodeId: 2, name: 'n2' });
  assert.ok(n2.persisted.length > 0, 'the new manager writes it');
  const [a2] = n2.core.status().services;
  assert.deepEqual([a2!.state, a2!.restarts, a2!.relocations], ['error', 1, 1]);
  h.advance(TIMINGS.recoveryWaitMs + TIMINGS.reportIntervalMs * 2);
  const fenced = n2.persisted.at(-1)!;
  assert.deepEqual(fenced.fenced, [1], 'the fence state is written');
  // Every member restarted from the stored status: the error, its counts and the fence state are still there.
  const h2 = new HaHarness([1, 2, 3], { config, initialTable: fenced });
  h2.failing.add('systemd:a');
  started(h2);
  const status = h2.nodes.get(3)!.core.status();
  const restored = status.services.find((s) => s.sid === 'systemd:a')!;
  assert.deepEqual([restored.state, restored.restarts, restored.relocations], ['error', 1, 1]);
  assert.deepEqual(h2.where('systemd:a'), [], 'an error is not started again');
  assert.equal(h2.where('systemd:b').length, 1);
  assert.equal(status.counters.fences, 1);
  assert.ok(status.managerStatus.seq > fenced.seq, 'it goes on from the stored status');
});

test('shutdown with freeze: units stop and freeze, are never recovered elsewhere, start again when it is back', () => {
  const h = new HaHarness([1, 2, 3]);
  h.setConfig(TWO);
  started(h);
  assert.deepEqual(h.where('systemd:b'), [2]);
  h.feed(2, { type: 'shutdown', freeze: true });
  h.settle();
  assert.ok(h.nodes.get(2)!.shutdownReady, 'the partition applied it: the daemon may leave');
  assert.deepEqual(h.where('systemd:b'), [], 'stopped before it leaves');
  let status = h.nodes.get(1)!.core.status();
  assert.deepEqual(
    status.services.map((s) => [s.sid, s.nodeId, s.state]),
    [
      ['systemd:a', 1, 'started'],
      ['systemd:b', 2, 'freeze'],
    ],
  );
  h.advance(TIMINGS.reportIntervalMs * 3);
  assert.deepEqual(h.where('systemd:b'), [], 'a leaving node is given nothing, nor restarts its units');
  h.partition([[1, 3]]);
  h.advance(TIMINGS.recoveryWaitMs * 3);
  assert.deepEqual(h.where('systemd:b'), [], 'a frozen unit is not recovered elsewhere');
  status = h.nodes.get(3)!.core.status();
  assert.equal(status.services.find((s) => s.sid === 'systemd:b')!.state, 'freeze');
  assert.equal(status.counters.recoveries, 0);
  h.restart(2);
  h.partition([[1, 2, 3]]);
  started(h);
  assert.deepEqual(h.where('systemd:b'), [2], 'started again on its node once it is back');
  const events = h.nodes.get(1)!.events.map((e) => e.message);
  assert.ok(events.includes('node n2: shutdown (policy freeze)'), events.join('\n'));
  assert.ok(events.includes('service systemd:b: freeze (n2 shuts down)'), events.join('\n'));
  assert.ok(events.includes('service systemd:b: starting on it (n2 is back)'), events.join('\n'));
  assert.equal(new Set(h.runIds).size, h.runIds.length, 'no command runs twice');
});

test('shutdown with failover: units stop and are recovered elsewhere after the fence wait', () => {
  const h = new HaHarness([1, 2, 3]);
  h.setConfig(TWO);
  started(h);
  h.feed(2, { type: 'shutdown', freeze: false });
  h.settle();
  assert.ok(h.nodes.get(2)!.shutdownReady);
  assert.deepEqual(h.where('systemd:b'), []);
  assert.equal(h.nodes.get(1)!.core.status().services[1]!.state, 'started', 'not frozen');
  h.partition([[1, 3]]);
  h.advance(TIMINGS.recoveryWaitMs + TIMINGS.reportIntervalMs * 2);
  assert.deepEqual(h.where('systemd:b'), [3]);
  assert.equal(h.nodes.get(1)!.core.status().counters.recoveries, 1);
});

test('a shutdown cut by a membership change: the daemon may leave at once; its units are fenced, then recovered', () => {
  const h = new HaHarness([1, 2, 3]);
  h.setConfig(TWO);
  started(h);
  h.feed(2, { type: 'shutdown', freeze: true });
  h.partition([[1, 3]]);
  assert.ok(h.nodes.get(2)!.shutdownReady, 'not waiting for an announcement that cannot come');
  h.settle();
  assert.deepEqual(h.where('systemd:b'), []);
  assert.equal(h.nodes.get(1)!.core.status().services[1]!.state, 'fence', 'not frozen: it was never applied');
  h.advance(TIMINGS.recoveryWaitMs + TIMINGS.reportIntervalMs * 2);
  assert.deepEqual(h.where('systemd:b'), [3]);
});

test('a frozen unit whose node stays away: disabled past the node’s fence deadline, it stops; started, it runs elsewhere', () => {
  const h = new HaHarness([1, 2, 3]);
  h.setConfig(TWO);
  started(h);
  h.feed(2, { type: 'shutdown', freeze: true });
  h.settle();
  h.partition([[1, 3]]);
  h.setConfig(TWO.replace('unit b.service', 'unit b.service\n\tstate disabled'));
  h.advance(TIMINGS.reportIntervalMs * 2);
  assert.equal(h.nodes.get(1)!.core.status().services[1]!.state, 'freeze', 'not before the fence deadline');
  h.advance(TIMINGS.recoveryWaitMs + TIMINGS.reportIntervalMs * 2);
  assert.equal(h.nodes.get(1)!.core.status().services[1]!.state, 'stopped');
  h.setConfig(TWO);
  started(h);
  assert.deepEqual(h.where('systemd:b'), [3]);
});
