import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ctimeText, formatQuorumStatus, formatRingId } from '../../src/quorum/format.ts';
import type { QuorumSnapshot } from '../../src/quorum/types.ts';
import { QuorumSimulator } from '../../src/quorum/vqsim.ts';
import { nodelist } from './nodelist.ts';

const names = new Map([
  [1, 'pve1'],
  [2, 'pve2'],
  [3, 'pve3'],
]);

describe('corosync-quorumtool -s text', () => {
  test('a quorate 3-node cluster, exactly as corosync-quorumtool prints it', () => {
    const snapshot: QuorumSnapshot = {
      nodeId: 1,
      ringId: { rep: 1, seq: 0x2c },
      nodes: 3,
      quorate: true,
      expectedVotes: 3,
      highestExpected: 3,
      totalVotes: 3,
      quorum: 2,
      flags: ['Quorate'],
      members: [3, 1, 2].map((nodeId) => ({ nodeId, votes: 1, name: '', qdevice: null })),
      device: null,
    };
    const text = formatQuorumStatus(snapshot, { date: 'Tue Nov 24 21:49:34 2026', nodeNames: names });
    assert.equal(
      text,
      [
        'Quorum information',
        '------------------',
        'Date:             Tue Nov 24 21:49:34 2026',
        'Quorum provider:  corosync_votequorum',
        'Nodes:            3',
        'Node ID:          1',
        'Ring ID:          1.2c',
        'Quorate:          Yes',
        '',
        'Votequorum information',
        '----------------------',
        'Expected votes:   3',
        'Highest expected: 3',
        'Total votes:      3',
        'Quorum:           2  ',
        'Flags:            Quorate ',
        '',
        'Membership information',
        '----------------------',
        '    Nodeid      Votes Name',
        '         1          1 pve1 (local)',
        '         2          1 pve2',
        '         3          1 pve3',
        '',
      ].join('\n'),
    );
  });

  test('pvecm status style (hex ids, addresses as names) from a simulated inquorate node', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(4), quorum: { waitForAll: true } });
    sim.start(1, 2);
    const text = formatQuorumStatus(sim.snapshot(2), {
      date: 'Tue Sep 14 11:06:47 2021',
      hexNodeIds: true,
      nodeNames: new Map([
        [1, '198.18.10.91'],
        [2, '198.18.10.92'],
      ]),
    });
    assert.equal(
      text,
      [
        'Quorum information',
        '------------------',
        'Date:             Tue Sep 14 11:06:47 2021',
        'Quorum provider:  corosync_votequorum',
        'Nodes:            2',
        'Node ID:          0x00000002',
        'Ring ID:          1.1',
        'Quorate:          No',
        '',
        'Votequorum information',
        '----------------------',
        'Expected votes:   4',
        'Highest expected: 4',
        'Total votes:      2',
        'Quorum:           3 Activity blocked',
        'Flags:            WaitForAll ',
        '',
        'Membership information',
        '----------------------',
        '    Nodeid      Votes Name',
        '0x00000001          1 198.18.10.91',
        '0x00000002          1 198.18.10.92 (local)',
        '',
      ].join('\n'),
    );
  });

  test('options override the snapshot: local node, ring id, member names', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(2), quorum: { twoNode: true } });
    sim.start();
    const snapshot = sim.snapshot(1);
    snapshot.members[1] = { nodeId: 2, votes: 1, name: 'beta', qdevice: null };
    const text = formatQuorumStatus(snapshot, { date: 'x', localNodeId: 2, ringId: { rep: 0xa, seq: 0x1a8 } });
    assert.match(text, /^Node ID: {10}2$/m);
    assert.match(text, /^Ring ID: {10}a\.1a8$/m);
    assert.match(text, /^Flags: {12}2Node Quorate WaitForAll $/m);
    assert.match(text, /^ {9}1 {10}1 $/m);
    assert.match(text, /^ {9}2 {10}1 beta \(local\)$/m);
  });

  test('ring id and ctime helpers', () => {
    assert.equal(formatRingId(null), '0.0');
    assert.equal(formatRingId({ rep: 255, seq: 4096 }), 'ff.1000');
    assert.equal(ctimeText(new Date(2026, 10, 4, 7, 5, 9)), 'Wed Nov  4 07:05:09 2026');
    assert.equal(ctimeText(new Date(2021, 8, 14, 11, 6, 47)), 'Tue Sep 14 11:06:47 2021');
  });
});
