/** `quorum { device { } }`: parsed with corosync's keys, defaults applied, votequorum's rules with positions. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkConfigText, planConfigChange } from '../../src/config/index.ts';
import { diagnosticsOf, mutate } from './helpers.ts';

const DEVICE = `  device {
    model: net
    votes: 2
    net {
      host: 198.18.10.100
      algorithm: ffsplit
      tie_breaker: lowest
      tls: on
    }
  }
`;
const withDevice = (device = DEVICE, quorum = '') =>
  mutate('  provider: corosync_votequorum\n', `  provider: corosync_votequorum\n${quorum}${device}`);

function findings(text: string): string[] {
  return diagnosticsOf(text).map((d) => `${d.severity} ${d.line}:${d.column} ${d.message}`);
}

describe('quorum.device configuration', () => {
  test('a pvecm-style device section is clean and gets corosync-qdevice defaults', () => {
    assert.deepEqual(findings(withDevice()), []);
    const checked = checkConfigText(withDevice(), 'test.conf');
    assert.deepEqual(checked.config?.quorumDevice, {
      model: 'net',
      votes: 2,
      net: { host: '198.18.10.100', algorithm: 'ffsplit', tie_breaker: 'lowest', tls: 'on' },
    });
    const device = checked.effective?.quorum.device;
    assert.deepEqual(device, {
      model: 'net',
      votes: 2,
      votesSet: true,
      timeoutMs: 10_000,
      syncTimeoutMs: 30_000,
      net: {
        host: '198.18.10.100',
        port: 5403,
        algorithm: 'ffsplit',
        tieBreaker: 'lowest',
        tls: 'on',
        connectTimeoutMs: 8000,
      },
    });
    assert.equal(checked.effective?.quorum.expectedVotes, 5, 'three nodes + the device');
  });

  test('device votes default to the node count - 1', () => {
    const text = withDevice(DEVICE.replace('    votes: 2\n', ''));
    assert.equal(checkConfigText(text, 'test.conf').effective?.quorum.device?.votes, 2);
  });

  const cases: [string, string, string][] = [
    [
      'two_node with a device',
      withDevice(DEVICE, '  two_node: 1\n'),
      'error 38:13 configuration error: two_node and quorum device cannot be configured at the same time!',
    ],
    [
      'last_man_standing with a device',
      withDevice(DEVICE, '  last_man_standing: 1\n'),
      'error 38:22 configuration error: quorum.device is not compatible with last_man_standing',
    ],
    [
      'expected_votes without device votes',
      withDevice(DEVICE.replace('    votes: 2\n', ''), '  expected_votes: 5\n'),
      'error 39:3 configuration error: quorum.device.votes must be specified when quorum.expected_votes is set',
    ],
    [
      'device votes too high for expected_votes',
      withDevice(DEVICE, '  expected_votes: 3\n'),
      'error 41:12 configuration error: quorum.device.votes is too high or expected_votes is too low',
    ],
    [
      'a device without a model',
      withDevice(DEVICE.replace('    model: net\n', '')),
      'error 38:3 quorum.device needs model: net',
    ],
    [
      'a net device without a host',
      withDevice(DEVICE.replace('      host: 198.18.10.100\n', '')),
      'error 41:5 quorum.device model net needs net { host: <corosync-qnetd address> }',
    ],
    [
      'a tie_breaker node outside the nodelist',
      withDevice(DEVICE.replace('tie_breaker: lowest', 'tie_breaker: 9')),
      "error 44:20 tie_breaker: '9' is not lowest, highest or a nodeid of the nodelist",
    ],
    [
      'an unknown algorithm',
      withDevice(DEVICE.replace('algorithm: ffsplit', 'algorithm: coin')),
      "error 43:18 algorithm: 'coin' is not one of ffsplit, lms, 2nodelms, test",
    ],
    [
      'a port out of range',
      withDevice(DEVICE.replace('      tls: on\n', '      tls: on\n      port: 70000\n')),
      'error 46:13 port: 70000 is out of range (1–65535)',
    ],
    [
      'heuristics are not supported',
      withDevice(DEVICE.replace('    net {', '    heuristics {\n      mode: off\n    }\n    net {')),
      'warning 41:5 quorum device heuristics are not supported by corolink',
    ],
  ];
  for (const [name, text, expected] of cases) {
    test(name, () => {
      const found = findings(text);
      assert.ok(
        found.some((line) => line.startsWith(expected)),
        `expected ${expected}, got:\n${found.join('\n')}`,
      );
    });
  }
});

describe('quorum.device on a running cluster (config change rules)', () => {
  test('adding the device (pvecm qdevice setup) is live: votequorum takes votes and timeouts, the client restarts', () => {
    const current = checkConfigText(mutate('provider', 'provider'), 'test.conf');
    const next = checkConfigText(withDevice().replace('config_version: 1', 'config_version: 2'), 'test.conf');
    const plan = planConfigChange(current, next);
    assert.equal(plan.ok, true, plan.errors.join('\n'));
    const effects = Object.fromEntries(plan.changes.map((change) => [change.key, change.effect]));
    assert.deepEqual(effects, {
      'totem.config_version': 'live',
      'quorum.device.model': 'live',
      'quorum.device.votes': 'live',
      'quorum.device.net.host': 'live',
      'quorum.device.net.algorithm': 'live',
      'quorum.device.net.tie_breaker': 'live',
      'quorum.device.net.tls': 'live',
    });
    const votes = plan.changes.find((change) => change.key === 'quorum.device.votes');
    assert.match(votes?.reason ?? '', /^votequorum takes the device votes/);
    const host = plan.changes.find((change) => change.key === 'quorum.device.net.host');
    assert.match(host?.reason ?? '', /restarts its qdevice client/);
  });
});
