/** Broken configs: each mistake must produce its own message at its own position. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { diagnosticsOf, mutate, VALID_CONFIG } from './helpers.ts';

interface Case {
  name: string;
  text: string;
  severity: 'error' | 'warning';
  line: number;
  column: number;
  message: string;
}

const afterSecauth = (lines: string) => mutate('  secauth: on\n', `  secauth: on\n${lines}`);
const inQuorum = (lines: string) =>
  mutate('  provider: corosync_votequorum\n', `  provider: corosync_votequorum\n${lines}`);
const LONG_VALUE = 'x'.repeat(600);

const CASES: Case[] = [
  {
    name: 'trailing comment makes a number invalid',
    text: afterSecauth('  token: 3000 # three seconds\n'),
    severity: 'error',
    line: 6,
    column: 10,
    message: "token: '3000 # three seconds' is not an integer",
  },
  {
    name: 'trailing comment is pointed at',
    text: afterSecauth('  token: 3000 # three seconds\n'),
    severity: 'warning',
    line: 6,
    column: 15,
    message: "'#' does not start a comment here",
  },
  {
    name: 'repeated key',
    text: afterSecauth('  token: 3000\n  token: 5000\n'),
    severity: 'warning',
    line: 7,
    column: 3,
    message: "'token' is set again (first at line 6); corosync keeps only this last value",
  },
  {
    name: 'repeated section',
    text: `${VALID_CONFIG}quorum {\n}\n`,
    severity: 'warning',
    line: 39,
    column: 1,
    message: "section 'quorum' appears again (first at line 36)",
  },
  {
    name: 'missing closing brace',
    text: mutate('  provider: corosync_votequorum\n}\n', '  provider: corosync_votequorum\n'),
    severity: 'error',
    line: 36,
    column: 1,
    message: "Missing closing brace: section 'quorum'",
  },
  {
    name: 'unexpected closing brace',
    text: `${VALID_CONFIG}}\n`,
    severity: 'error',
    line: 39,
    column: 1,
    message: 'Unexpected closing brace',
  },
  {
    name: 'one-line section',
    text: `${VALID_CONFIG}logging { to_syslog: yes }\n`,
    severity: 'error',
    line: 39,
    column: 11,
    message: "Extra characters after opening bracket '{'",
  },
  {
    name: 'key = value',
    text: mutate('  cluster_name: test', '  cluster_name = test'),
    severity: 'error',
    line: 3,
    column: 3,
    message: "corosync has no 'key = value' form",
  },
  {
    name: 'empty key',
    text: mutate('  cluster_name: test', '  : test'),
    severity: 'error',
    line: 3,
    column: 3,
    message: "Key name can't be empty",
  },
  {
    name: 'junk after closing brace',
    text: mutate('    linknumber: 0\n  }', '    linknumber: 0\n  } # end of link 0'),
    severity: 'error',
    line: 9,
    column: 3,
    message: "Extra characters before or after closing bracket '}'",
  },
  {
    name: 'line too long',
    text: mutate('  cluster_name: test', `  cluster_name: ${LONG_VALUE}`),
    severity: 'error',
    line: 3,
    column: 1,
    message: 'Line too long',
  },
  {
    name: 'duplicate nodeid',
    text: mutate('    nodeid: 2', '    nodeid: 1'),
    severity: 'error',
    line: 24,
    column: 13,
    message: "nodeid 1 is used again (first by node 'a' at line 18)",
  },
  {
    name: 'duplicate name',
    text: mutate('    name: b', '    name: a'),
    severity: 'error',
    line: 23,
    column: 11,
    message: "node name 'a' is used again (first at line 17)",
  },
  {
    name: 'missing nodeid',
    text: mutate('    nodeid: 2\n', ''),
    severity: 'error',
    line: 22,
    column: 3,
    message: "node 'b' has no nodeid",
  },
  {
    name: 'nodeid 0 is reserved',
    text: mutate('    nodeid: 3', '    nodeid: 0'),
    severity: 'error',
    line: 30,
    column: 13,
    message: 'nodeid: 0 is out of range (1–4294967295)',
  },
  {
    name: 'missing name with two links',
    text: mutate('    name: c\n', ''),
    severity: 'error',
    line: 28,
    column: 3,
    message: 'a multi-link configuration needs a name on every node',
  },
  {
    name: 'node lacks an address for a configured link',
    text: mutate('    ring1_addr: 198.18.20.2\n', ''),
    severity: 'error',
    line: 22,
    column: 3,
    message: "node 'b' has no ring1_addr, but link 1 is configured (interface for link 1 at line 10)",
  },
  {
    name: 'links share a /24',
    text: mutate('ring1_addr: 198.18.20.1', 'ring1_addr: 198.18.10.11'),
    severity: 'warning',
    line: 20,
    column: 17,
    message: 'links 0 and 1 share the network 198.18.10.0/24',
  },
  {
    name: 'address families mixed within a link',
    text: mutate('ring0_addr: 198.18.10.3', 'ring0_addr: 2001:db8::3'),
    severity: 'error',
    line: 31,
    column: 17,
    message: "link 0 mixes IPv4 (node 'a') and IPv6 (node 'c') addresses",
  },
  {
    name: 'same address twice on a link',
    text: mutate('ring0_addr: 198.18.10.2', 'ring0_addr: 198.18.10.1'),
    severity: 'error',
    line: 25,
    column: 17,
    message: "address 198.18.10.1 on link 0 is also node 'a''s",
  },
  {
    name: 'ip_version contradicts an address',
    text: afterSecauth('  ip_version: ipv6\n'),
    severity: 'error',
    line: 20,
    column: 17,
    message: 'ip_version is ipv6, but 198.18.10.1 is an IPv4 address',
  },
  {
    name: 'link number out of range',
    text: mutate('linknumber: 1', 'linknumber: 8'),
    severity: 'error',
    line: 11,
    column: 17,
    message: 'linknumber: 8 is out of range (0–7)',
  },
  {
    name: 'two interfaces for one link',
    text: mutate('linknumber: 1', 'linknumber: 0'),
    severity: 'error',
    line: 11,
    column: 17,
    message: 'a second interface for link 0 (first at line 7)',
  },
  {
    name: 'interface without any node address',
    text: mutate('    linknumber: 1\n  }\n', '    linknumber: 1\n  }\n  interface {\n    linknumber: 2\n  }\n'),
    severity: 'error',
    line: 14,
    column: 17,
    message: 'interface for link 2, but no node has ring2_addr',
  },
  {
    name: 'two_node with three nodes',
    text: inQuorum('  two_node: 1\n'),
    severity: 'error',
    line: 38,
    column: 13,
    message: 'two_node: 1 needs exactly 2 nodes, the nodelist has 3',
  },
  {
    name: 'two_node spelled yes',
    text: inQuorum('  two_node: yes\n'),
    severity: 'error',
    line: 38,
    column: 13,
    message: "two_node: 'yes' must be 0 or 1",
  },
  {
    name: 'cipher without hash',
    text: mutate('  secauth: on', '  crypto_cipher: aes256\n  crypto_hash: none'),
    severity: 'error',
    line: 5,
    column: 18,
    message: 'crypto_cipher requires crypto_hash with value other than none',
  },
  {
    name: 'unknown cipher',
    text: mutate('  secauth: on', '  crypto_cipher: aes512'),
    severity: 'error',
    line: 5,
    column: 18,
    message: "crypto_cipher: 'aes512' is not one of none, aes256, aes192, aes128",
  },
  {
    name: 'negative config_version',
    text: mutate('config_version: 1', 'config_version: -1'),
    severity: 'error',
    line: 4,
    column: 19,
    message: 'config_version: -1 is out of range',
  },
  {
    name: 'non-integer config_version',
    text: mutate('config_version: 1', 'config_version: 1.5'),
    severity: 'error',
    line: 4,
    column: 19,
    message: "config_version: '1.5' is not an integer",
  },
  {
    name: 'consensus below join',
    text: afterSecauth('  join: 500\n  consensus: 400\n'),
    severity: 'error',
    line: 7,
    column: 14,
    message: 'The consensus timeout parameter (400 ms) may not be less than join timeout (500 ms).',
  },
  {
    name: 'join below the minimum',
    text: afterSecauth('  join: 10\n'),
    severity: 'error',
    line: 6,
    column: 9,
    message: 'The join timeout parameter (10 ms) may not be less than (30 ms).',
  },
  {
    name: 'token_retransmit below the minimum',
    text: afterSecauth('  token_retransmit: 10\n'),
    severity: 'error',
    line: 6,
    column: 21,
    message: 'The token retransmit timeout parameter (10 ms) may not be less than (30 ms).',
  },
  {
    name: 'invalid link_mode',
    text: mutate('link_mode: passive', 'link_mode: fast'),
    severity: 'error',
    line: 6,
    column: 14,
    message: "link_mode: 'fast' is not one of passive, active, rr",
  },
  {
    name: 'unknown transport',
    text: afterSecauth('  transport: tcp\n'),
    severity: 'error',
    line: 6,
    column: 14,
    message: "transport: 'tcp' is not one of knet, udp, udpu",
  },
  {
    name: 'other quorum provider',
    text: mutate('provider: corosync_votequorum', 'provider: quorum_cman'),
    severity: 'error',
    line: 37,
    column: 13,
    message: "quorum provider 'quorum_cman' is unknown",
  },
  {
    name: 'zero votes',
    text: mutate('    nodeid: 1\n', '    nodeid: 1\n    quorum_votes: 0\n'),
    severity: 'error',
    line: 19,
    column: 19,
    message: 'quorum_votes: 0 is out of range',
  },
  {
    name: 'expected_votes below the total',
    text: inQuorum('  expected_votes: 2\n'),
    severity: 'warning',
    line: 38,
    column: 19,
    message: 'expected_votes 2 is less than the 3 votes in the nodelist',
  },
  {
    name: 'last_man_standing_window too small',
    text: inQuorum('  last_man_standing: 1\n  last_man_standing_window: 1000\n'),
    severity: 'warning',
    line: 39,
    column: 29,
    message: 'last_man_standing_window (1000 ms) is shorter than the consensus timeout (4380 ms)',
  },
  {
    name: 'unknown tie-breaker node',
    text: inQuorum('  auto_tie_breaker: 1\n  auto_tie_breaker_node: 9\n'),
    severity: 'error',
    line: 39,
    column: 26,
    message: "auto_tie_breaker_node: '9' is not lowest, highest or a nodeid",
  },
  {
    name: 'to_logfile without logfile',
    text: `${VALID_CONFIG}logging {\n  to_logfile: yes\n}\n`,
    severity: 'error',
    line: 40,
    column: 15,
    message: 'to_logfile: yes needs a logfile: path',
  },
  {
    name: 'system.priority out of the nice range',
    text: `${VALID_CONFIG}system {\n  priority: 20\n}\n`,
    severity: 'error',
    line: 40,
    column: 13,
    message: 'system.priority "20" is invalid: max, min or a nice value from -20 to 19',
  },
  {
    name: 'system.priority neither max, min nor a number',
    text: `${VALID_CONFIG}system {\n  priority: highest\n}\n`,
    severity: 'error',
    line: 40,
    column: 13,
    message: 'system.priority "highest" is invalid',
  },
  {
    name: 'unknown key kept with a warning',
    text: afterSecauth('  frobnicate: 1\n'),
    severity: 'warning',
    line: 6,
    column: 3,
    message: "unknown key 'frobnicate' in totem; kept but ignored",
  },
  {
    name: 'missing totem section',
    text: VALID_CONFIG.slice(VALID_CONFIG.indexOf('nodelist {')),
    severity: 'error',
    line: 1,
    column: 1,
    message: 'no totem section',
  },
  {
    name: 'wrong totem version',
    text: mutate('version: 2', 'version: 3'),
    severity: 'error',
    line: 2,
    column: 12,
    message: 'totem version 3: corosync 3 can only parse version 2 configurations',
  },
  {
    name: 'legacy rrp_mode',
    text: mutate('  link_mode: passive', '  rrp_mode: passive'),
    severity: 'error',
    line: 6,
    column: 3,
    message: 'rrp_mode is corosync 2',
  },
  {
    name: 'legacy ringnumber',
    text: mutate('linknumber: 0', 'ringnumber: 0'),
    severity: 'error',
    line: 8,
    column: 5,
    message: 'ringnumber is corosync 2; corosync 3 calls it linknumber',
  },
  {
    name: 'legacy udpu transport',
    text: afterSecauth('  transport: udpu\n'),
    severity: 'error',
    line: 6,
    column: 14,
    message: 'transport udpu is corosync 2',
  },
  {
    name: 'legacy bindnetaddr',
    text: mutate('    linknumber: 0\n', '    linknumber: 0\n    bindnetaddr: 198.18.10.0\n'),
    severity: 'error',
    line: 9,
    column: 5,
    message: 'bindnetaddr is a udp/udpu option',
  },
  {
    name: 'legacy service block',
    text: `service {\n  name: pacemaker\n  ver: 1\n}\n${VALID_CONFIG}`,
    severity: 'error',
    line: 1,
    column: 1,
    message: 'service {} loaded plugins',
  },
];

describe('broken configs', () => {
  test('the base config is clean: no error, no warning', () => {
    assert.deepEqual(diagnosticsOf(VALID_CONFIG), []);
  });

  test('there are at least 25 distinct mistakes', () => {
    assert.ok(new Set(CASES.map((c) => c.message)).size >= 25);
  });

  for (const c of CASES) {
    test(c.name, () => {
      const found = diagnosticsOf(c.text);
      const match = found.find(
        (d) => d.severity === c.severity && d.line === c.line && d.column === c.column && d.message.includes(c.message),
      );
      assert.ok(
        match,
        `expected ${c.severity} at ${c.line}:${c.column} "${c.message}", got:\n${found.map((d) => `${d.severity} ${d.line}:${d.column} ${d.message}`).join('\n')}`,
      );
      assert.equal(match.file, 'test.conf');
    });
  }
});
