/** The quorum device in `corolink status` / `quorum` / `nodes` and `corolink qdevice status`. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Value } from 'typebox/value';
import { qdeviceStatusText } from '../../src/cli/format/qdevice.ts';
import { nodesText, quorumText, statusText } from '../../src/cli/format/status.ts';
import type { QdeviceStatusV1, StatusV1 } from '../../src/ipc/schema.ts';
import { QdeviceStatusV1Schema, StatusV1Schema } from '../../src/ipc/schema.ts';

const member = (nodeid: number, local: boolean, qdevice: string) => ({
  nodeid,
  name: `node${nodeid}`,
  votes: 1,
  local,
  links: [],
  qdevice,
});

/** Node 1 of 2 nodes + a device, both members, both devices voting (pvecm status after `qdevice setup`). */
const withDevice: StatusV1 = {
  version: 1,
  cluster: { name: 'qd', config_version: 2, transport: 'knet', secure_auth: true, link_mode: 'passive' },
  local_nodeid: 1,
  ring_id: '1.8',
  totem_state: 'operational',
  quorum: {
    quorate: true,
    expected_votes: 3,
    highest_expected: 3,
    total_votes: 3,
    quorum: 2,
    flags: ['Quorate', 'Qdevice'],
    qdevice: { name: 'Qdevice', votes: 1, cast_vote: true },
  },
  members: [member(2, false, 'A,V,NMW'), member(1, true, 'A,V,NMW')],
  nodes: [
    { nodeid: 1, name: 'node1', votes: 1, member: true },
    { nodeid: 2, name: 'node2', votes: 1, member: true },
  ],
};

const date = new Date(2026, 10, 4, 9, 5, 7);

describe('status text with a quorum device', () => {
  it('fits the schema', () => {
    assert.ok(Value.Check(StatusV1Schema, withDevice), JSON.stringify([...Value.Errors(StatusV1Schema, withDevice)]));
  });

  it('corolink status: Expected votes 3, Flags Quorate Qdevice, the Qdevice column and row as pvecm status', () => {
    const text = statusText(withDevice, { date });
    const votequorum = text.slice(text.indexOf('Votequorum information'), text.indexOf('Link status'));
    assert.equal(
      votequorum,
      [
        'Votequorum information',
        '----------------------',
        'Expected votes:   3',
        'Highest expected: 3',
        'Total votes:      3',
        'Quorum:           2  ',
        'Flags:            Quorate Qdevice ',
        '',
        'Membership information',
        '----------------------',
        '    Nodeid      Votes    Qdevice Name',
        '0x00000001          1    A,V,NMW node1 (local)',
        '0x00000002          1    A,V,NMW node2',
        '0x00000000          1            Qdevice',
        '',
        '',
      ].join('\n'),
    );
  });

  it('corolink quorum / nodes: decimal ids; a device not voting shows 0 and (votes 1)', () => {
    const lost: StatusV1 = {
      ...withDevice,
      quorum: { ...withDevice.quorum, qdevice: { name: 'Qdevice', votes: 1, cast_vote: false } },
      members: [member(1, true, 'A,NV,NMW'), member(2, false, 'NR')],
    };
    const text = quorumText(lost, { date });
    assert.match(text, /^ {9}1 {10}1 {3}A,NV,NMW node1 \(local\)$/m);
    assert.match(text, /^ {9}2 {10}1 {9}NR node2$/m);
    assert.match(text, /^ {9}0 {10}0 {12}Qdevice \(votes 1\)$/m);
    assert.match(nodesText(lost), /^ {9}0 {10}0 {12}Qdevice \(votes 1\)$/m);
  });
});

describe('corolink qdevice status (corosync-qdevice-tool -s)', () => {
  const status: QdeviceStatusV1 = {
    version: 1,
    local_nodeid: 1,
    configured: true,
    device: {
      model: 'net',
      votes: 1,
      timeout_ms: 10_000,
      sync_timeout_ms: 30_000,
      registered: true,
      configured_nodes: [1, 2],
      ring_id: '1.8',
      members: [1, 2],
      quorate: true,
      expected_votes: 3,
      last_poll_ms_ago: 2000,
      last_poll_cast_vote: true,
      net: {
        cluster_name: 'qd',
        host: '198.18.10.100',
        port: 5403,
        connect_timeout_ms: 8000,
        algorithm: 'ffsplit',
        tie_breaker: 'lowest',
        tls: 'on',
        tls_active: true,
        state: 'connected',
        last_vote: 'ack',
        cast_vote: true,
        connected_since_ms_ago: 60_000,
        last_heartbeat_ms_ago: 1000,
      },
    },
  };

  it('fits the schema and prints the man page layout', () => {
    assert.ok(Value.Check(QdeviceStatusV1Schema, status));
    const now = new Date(Date.UTC(2026, 10, 4, 9, 5, 7));
    assert.equal(
      qdeviceStatusText(status, now),
      [
        'Qdevice information',
        '-------------------',
        'Model:                  Net',
        'Node ID:                1',
        'Configured node list:',
        '    0   Node ID = 1',
        '    1   Node ID = 2',
        'Ring ID:                1.8',
        'Membership node list:   1, 2',
        'Quorate:                Yes',
        'Expected votes:         3',
        'Votes:                  1',
        'Last poll call:         2026-11-04T09:05:05 (cast vote)',
        '',
        'Qdevice-net information',
        '----------------------',
        'Cluster name:           qd',
        'QNetd host:             198.18.10.100:5403',
        'Connect timeout:        8000ms',
        'VQ vote timer interval: 5000ms',
        'TLS:                    Supported',
        'Algorithm:              Fifty-Fifty split',
        'Tie-breaker:            Node with lowest node ID',
        'State:                  Connected',
        'TLS active:             Yes',
        'Last vote:              ack (cast vote)',
        'Connected since:        2026-11-04T09:04:07',
        'Echo reply received:    2026-11-04T09:05:06',
        '',
      ].join('\n'),
    );
  });

  it('without a device it says so', () => {
    assert.match(
      qdeviceStatusText({ version: 1, local_nodeid: 1, configured: false, device: null }, new Date()),
      /^No quorum device configured/,
    );
  });
});
