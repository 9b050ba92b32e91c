import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HA_RESOURCE_DEFAULTS, parseResources, printResources } from '../../src/ha/resources-file.ts';

const TEXT = `# the demo service
ip: vip
\taddress 198.18.100.100/24
\tinterface eth1

exec: web
\tstart /usr/local/bin/web start
\tstop /usr/local/bin/web stop
\tmonitor /usr/local/bin/web status
\tuser www
\ttimeout 10
\tmax_restart 2
\tmonitor_interval 5
\tmonitor_timeout 3

systemd: db
\tunit postgresql.service
\tstate disabled
\tcomment the database

group: webgroup
\tresources ip:vip,exec:web
\tnodes n1:2,n2:1
\tnofailback 1
`;

test('parses every section type with defaults and prints it back stably', () => {
  const parsed = parseResources(TEXT);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error.message);
  const { resources, groups } = parsed.config;
  assert.deepEqual(
    resources.map((r) => r.spec.sid),
    ['ip:vip', 'exec:web', 'systemd:db'],
  );
  const vip = resources[0]!;
  assert.deepEqual(vip.spec, {
    type: 'ip',
    sid: 'ip:vip',
    address: '198.18.100.100',
    prefixLength: 24,
    interface: 'eth1',
    timeoutMs: HA_RESOURCE_DEFAULTS.timeoutMs,
  });
  const monitor = {
    monitorIntervalMs: HA_RESOURCE_DEFAULTS.monitorIntervalMs,
    monitorTimeoutMs: HA_RESOURCE_DEFAULTS.monitorTimeoutMs,
  };
  assert.deepEqual(vip.settings, { state: 'started', maxRestart: 1, maxRelocate: 1, ...monitor, group: 'webgroup' });
  const web = resources[1]!;
  assert.equal(web.spec.type === 'exec' && web.spec.user, 'www');
  assert.equal(web.spec.timeoutMs, 10_000);
  assert.equal(web.settings.maxRestart, 2);
  assert.equal(web.settings.monitorIntervalMs, 5000);
  assert.equal(web.settings.monitorTimeoutMs, 3000);
  assert.deepEqual(resources[2]!.settings, {
    state: 'disabled',
    maxRestart: 1,
    maxRelocate: 1,
    ...monitor,
    comment: 'the database',
  });
  assert.deepEqual(groups, [
    {
      name: 'webgroup',
      resources: ['ip:vip', 'exec:web'],
      nodes: [
        { node: 'n1', priority: 2 },
        { node: 'n2', priority: 1 },
      ],
      restricted: false,
      nofailback: true,
    },
  ]);
  const printed = printResources(parsed.config);
  const again = parseResources(printed);
  assert.ok(again.ok);
  assert.deepEqual(again.config, parsed.config);
  assert.equal(printResources(again.config), printed);
});

test('an empty file is an empty configuration', () => {
  const parsed = parseResources('');
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.config, { resources: [], groups: [] });
  assert.equal(printResources(parsed.config), '');
});

test('errors name line and column, and nothing is taken', () => {
  const cases: [string, string][] = [
    ['exec: web\n\tstart a\n\tstop b\n', 'ha/resources.cfg:1:1: exec:web needs "monitor"'],
    ['vm: 100\n', 'ha/resources.cfg:1:1: unknown section type "vm"'],
    ['ip: vip\n\taddress 198.18.100.300/24\n\tinterface eth1\n', 'ha/resources.cfg:2:10: address must be'],
    [
      'ip: vip\n\taddress 198.18.100.1/24\n\tinterface eth1\n\tcolour red\n',
      'ha/resources.cfg:4:2: unknown key "colour"',
    ],
    ['systemd: a\n\tunit a.service\n\tstate running\n', 'ha/resources.cfg:3:8: state must be one of'],
    ['systemd: a\n\tunit a\n\tmax_restart 99\n', 'ha/resources.cfg:3:14: max_restart must be an integer 0–10'],
    ['systemd: a\n\tunit a\n\tunit b\n', 'ha/resources.cfg:3:2: "unit" is set twice'],
    ['\tunit a\n', 'ha/resources.cfg:1:2: a property line outside any section'],
    ['group: g\n\tresources ip:nope\n', 'ha/resources.cfg:1:1: group g: no resource ip:nope'],
    ['systemd: a\n\tunit a\n\tgroup g\n', 'ha/resources.cfg:1:1: systemd:a names group g'],
    ['systemd: a\n\tunit a\n\nsystemd: a\n\tunit b\n', 'ha/resources.cfg:4:1: systemd:a is defined twice'],
    [
      'systemd: a\n\tunit a\n\ngroup: g\n\tresources systemd:a\n\trestricted 1\n',
      'ha/resources.cfg:4:1: group g: restricted needs nodes',
    ],
    ['systemd: a\n\tunit a\n\ngroup: g\n\tresources systemd:a\n\tnodes n1:x\n', 'ha/resources.cfg:6:8: "n1:x"'],
  ];
  for (const [text, expected] of cases) {
    const parsed = parseResources(text);
    assert.equal(parsed.ok, false, text);
    if (!parsed.ok) assert.ok(parsed.error.message.startsWith(expected), `${parsed.error.message} ≠ ${expected}`);
  }
});
