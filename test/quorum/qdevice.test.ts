import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeQuorumMessage, encodeQuorumMessage, NodeFlag, QDEVICE_NODE_ID } from '../../src/quorum/codec.ts';
import { formatQuorumStatus } from '../../src/quorum/format.ts';
import { QuorumConfigError, resolveQuorumSettings } from '../../src/quorum/settings.ts';
import { QuorumCore } from '../../src/quorum/votequorum.ts';
import { QuorumSimulator } from '../../src/quorum/vqsim.ts';
import { nodelist } from './nodelist.ts';

const NAME = 'Qdevice';
const AVN = { alive: true, castVote: true, masterWins: false };

/** A cluster of `count` nodes with a device on every node, each registered and polled once with `votes`. */
function clusterWithDevice(count: number, castVotes: readonly boolean[] = [], device = {}): QuorumSimulator {
  const sim = new QuorumSimulator({ nodelist: nodelist(count), quorum: { device } });
  sim.start();
  for (const nodeId of sim.runningNodes()) {
    assert.deepEqual(sim.qdevice(nodeId, { type: 'qdeviceRegister', name: NAME }), {
      type: 'qdeviceResult',
      request: 'qdeviceRegister',
      ok: true,
    });
    sim.pollDevice(nodeId, castVotes[nodeId - 1] ?? true);
  }
  return sim;
}

describe('votequorum device configuration (votequorum_readconfig)', () => {
  test('device votes default to the node count - 1 and add to expected votes; timeouts default 10 s / 30 s', () => {
    const { settings } = resolveQuorumSettings({ localNodeId: 1, nodelist: nodelist(2), device: {} });
    assert.deepEqual(settings.device, { votes: 1, timeoutMs: 10_000, syncTimeoutMs: 30_000 });
    assert.equal(settings.expectedVotes, 3);
    const four = resolveQuorumSettings({ localNodeId: 1, nodelist: nodelist(4), device: { timeoutMs: 5000 } });
    assert.deepEqual(four.settings.device, { votes: 3, timeoutMs: 5000, syncTimeoutMs: 30_000 });
    assert.equal(four.settings.expectedVotes, 7);
  });

  test('explicit device votes: expected votes from the nodelist, raised to include the device at run time', () => {
    const options = { localNodeId: 1, nodelist: nodelist(2), device: { votes: 1 } };
    assert.equal(resolveQuorumSettings(options).settings.expectedVotes, 2);
    const sim = new QuorumSimulator({ nodelist: nodelist(2), quorum: { device: { votes: 1 } } });
    sim.start(1);
    assert.equal(sim.snapshot(1).expectedVotes, 2, 'one member + the device: 2 votes');
    sim.start(2);
    assert.equal(sim.snapshot(1).expectedVotes, 3, 'get_total_votes counts the device: expected_votes follows');
  });

  test("corosync's fatal combinations, with its messages", () => {
    const cases: [object, string][] = [
      [{ twoNode: true }, 'configuration error: two_node and quorum device cannot be configured at the same time!'],
      [{ lastManStanding: true }, 'configuration error: quorum.device is not compatible with last_man_standing'],
      [{ autoTieBreaker: true }, 'configuration error: quorum.device is not compatible with auto_tie_breaker'],
      [
        { expectedVotes: 5 },
        'configuration error: quorum.device.votes must be specified when quorum.expected_votes is set',
      ],
      [
        { expectedVotes: 3, device: { votes: 2 } },
        'configuration error: quorum.device.votes is too high or expected_votes is too low',
      ],
      [
        { nodelist: nodelist(2, [1, 2]) },
        'configuration error: quorum.device.votes must be specified when not all nodes votes 1',
      ],
    ];
    for (const [extra, message] of cases) {
      const options = { localNodeId: 1, nodelist: nodelist(4), device: {}, ...extra };
      assert.throws(() => resolveQuorumSettings(options), new QuorumConfigError(message));
    }
  });
});

describe('votequorum device side', () => {
  test('2 nodes + device (1 vote): expected 3, total 3, Qdevice flag, A,V,NMW for every member on every node', () => {
    const sim = clusterWithDevice(2);
    for (const nodeId of [1, 2]) {
      const snapshot = sim.snapshot(nodeId);
      assert.equal(snapshot.expectedVotes, 3);
      assert.equal(snapshot.totalVotes, 3);
      assert.equal(snapshot.quorum, 2);
      assert.deepEqual(snapshot.flags, ['Quorate', 'Qdevice']);
      assert.deepEqual(
        snapshot.members.map((member) => member.qdevice),
        [AVN, AVN],
      );
      assert.deepEqual(snapshot.device, { name: NAME, votes: 1, castVote: true });
    }
  });

  test('one node killed: the survivor waits for its device, which casts its vote: quorate with 2 of 3', () => {
    const sim = clusterWithDevice(2);
    sim.crash(2);
    assert.ok(sim.logs(1).includes('waiting for quorum device Qdevice poll (but maximum for 30000 ms)'));
    assert.equal(sim.snapshot(1).nodes, 2, 'the sync of the new ring waits for the poll: nothing announced yet');
    sim.pollDevice(1, true);
    const snapshot = sim.snapshot(1);
    assert.deepEqual([snapshot.nodes, snapshot.totalVotes, snapshot.expectedVotes], [1, 2, 3]);
    assert.deepEqual(sim.quorateNodes(), [1]);
  });

  test('without the device vote the survivor of 2 + device is not quorate (1 of 3)', () => {
    const sim = clusterWithDevice(2);
    sim.crash(2);
    sim.pollDevice(1, false);
    assert.deepEqual(sim.quorateNodes(), []);
    assert.deepEqual(sim.snapshot(1).members[0]?.qdevice, { alive: true, castVote: false, masterWins: false });
    assert.deepEqual(sim.snapshot(1).device, { name: NAME, votes: 1, castVote: false });
  });

  test('a poll for a stale ring is ignored (CS_ERR_MESSAGE_ERROR); the sync goes on waiting', () => {
    const sim = clusterWithDevice(2);
    const oldRing = sim.snapshot(1).ringId;
    sim.crash(2);
    assert.deepEqual(sim.pollDevice(1, true, oldRing), {
      type: 'qdeviceResult',
      request: 'qdevicePoll',
      ok: false,
      error: 'CS_ERR_MESSAGE_ERROR',
    });
    assert.equal(sim.snapshot(1).nodes, 2, 'still waiting');
    assert.ok(sim.logs(1).some((line) => line.endsWith('Ignoring poll call.')));
  });

  test('no poll within sync_timeout: the device loses its vote and the sync completes without it', () => {
    const sim = clusterWithDevice(2, [], { syncTimeoutMs: 5000 });
    sim.crash(2);
    sim.advance(4999);
    assert.equal(sim.snapshot(1).nodes, 2);
    sim.advance(1);
    assert.ok(sim.logs(1).includes('lost contact with quorum device Qdevice'));
    assert.equal(sim.snapshot(1).nodes, 1);
    assert.deepEqual(sim.quorateNodes(), []);
    assert.deepEqual(sim.snapshot(1).members[0]?.qdevice, { alive: false, castVote: false, masterWins: false });
  });

  test('device vote expiry: no poll for device.timeout costs the vote and, alone, the quorum', () => {
    const sim = clusterWithDevice(2);
    sim.crash(2);
    sim.pollDevice(1, true);
    sim.advance(5000);
    sim.pollDevice(1, true); // polls every timeout / 2 keep the vote
    sim.advance(9999);
    assert.deepEqual(sim.quorateNodes(), [1]);
    sim.advance(1);
    assert.deepEqual(sim.quorateNodes(), []);
    assert.equal(sim.snapshot(1).totalVotes, 1);
    sim.pollDevice(1, true);
    assert.deepEqual(sim.quorateNodes(), [1], 'the next poll brings the vote back');
  });

  test('both nodes up: the device timing out costs no quorum (2 of 3)', () => {
    const sim = clusterWithDevice(2);
    sim.advance(10_000);
    assert.deepEqual(sim.quorateNodes(), [1, 2]);
    assert.equal(sim.snapshot(1).totalVotes, 2);
    assert.deepEqual(sim.snapshot(2).members[0]?.qdevice, { alive: false, castVote: false, masterWins: false });
  });

  test('a 1|1 split: only the side whose device casts the vote is quorate', () => {
    const sim = clusterWithDevice(2);
    sim.partition([[1], [2]]);
    sim.pollDevice(1, true);
    sim.pollDevice(2, false);
    assert.deepEqual(sim.quorateNodes(), [1]);
    sim.heal();
    sim.pollDevice(1, true);
    sim.pollDevice(2, true);
    assert.deepEqual(sim.quorateNodes(), [1, 2]);
    assert.equal(sim.snapshot(2).totalVotes, 3);
  });

  test('4 nodes split 2|2 (device 3 votes): the half with the vote is quorate, the other not', () => {
    const sim = clusterWithDevice(4);
    assert.equal(sim.snapshot(1).expectedVotes, 7);
    sim.partition([
      [1, 2],
      [3, 4],
    ]);
    for (const nodeId of [1, 2]) sim.pollDevice(nodeId, true);
    for (const nodeId of [3, 4]) sim.pollDevice(nodeId, false);
    assert.deepEqual(sim.quorateNodes(), [1, 2]);
  });

  test('master_wins: a member whose device casts its vote with master_wins makes its partition quorate', () => {
    const sim = clusterWithDevice(4);
    for (const nodeId of [1, 2, 3, 4]) {
      assert.equal(sim.qdevice(nodeId, { type: 'qdeviceMasterWins', name: NAME, allow: true })?.type, 'qdeviceResult');
    }
    sim.partition([[1, 2], [3], [4]]);
    sim.pollDevice(1, true);
    for (const nodeId of [2, 3, 4]) sim.pollDevice(nodeId, false);
    assert.deepEqual(sim.quorateNodes(), [1, 2], 'node 2 counts 2 of 7 votes but node 1 is the master');
    assert.ok(sim.logs(2).includes('node is quorate as part of master_wins partition'));
    assert.deepEqual(sim.snapshot(2).members[0]?.qdevice, { alive: true, castVote: true, masterWins: true });
  });

  test('unregister: the flags go, the Qdevice column and row go, the vote goes', () => {
    const sim = clusterWithDevice(3);
    assert.equal(sim.snapshot(1).totalVotes, 5);
    for (const nodeId of [1, 2, 3]) sim.qdevice(nodeId, { type: 'qdeviceUnregister', name: NAME });
    const snapshot = sim.snapshot(2);
    assert.deepEqual(snapshot.flags, ['Quorate']);
    assert.equal(snapshot.device, null);
    assert.equal(snapshot.totalVotes, 3);
    assert.equal(snapshot.expectedVotes, 5, 'the configured device still counts in expected votes');
  });

  test("requests refused with corosync's errors", () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(2), quorum: { device: {} } });
    sim.start();
    const error = (result: unknown) => (result as { error?: string }).error;
    assert.equal(error(sim.pollDevice(1, true)), 'CS_ERR_NOT_EXIST');
    assert.equal(error(sim.qdevice(1, { type: 'qdeviceUnregister', name: NAME })), 'CS_ERR_NOT_EXIST');
    sim.qdevice(1, { type: 'qdeviceRegister', name: NAME });
    assert.equal(error(sim.qdevice(1, { type: 'qdeviceRegister', name: 'other' })), 'CS_ERR_EXIST');
    assert.equal(
      error(sim.qdevice(1, { type: 'qdevicePoll', name: 'other', castVote: true, ringId: sim.snapshot(1).ringId })),
      'CS_ERR_INVALID_PARAM',
    );
    assert.deepEqual(sim.qdevice(1, { type: 'qdeviceRegister', name: NAME }), {
      type: 'qdeviceResult',
      request: 'qdeviceRegister',
      ok: true,
    });
  });

  test('a node without a device shows NR for itself and A,V,NMW for a peer with one', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(3), quorum: { device: {} } });
    sim.start();
    sim.qdevice(1, { type: 'qdeviceRegister', name: NAME });
    sim.pollDevice(1, true);
    const snapshot = sim.snapshot(3);
    assert.deepEqual(
      snapshot.members.map((member) => member.qdevice),
      [AVN, null, null],
    );
    assert.ok(!snapshot.flags.includes('Qdevice'), 'the flag is about this node’s own device');
    assert.deepEqual(snapshot.device, { name: '', votes: 2, castVote: false });
  });

  test('a reload adds the device to a two_node cluster (two_node removed): expected votes 3 at once', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(2), quorum: { twoNode: true } });
    sim.start();
    const results = sim.reconfigure({ nodelist: nodelist(2), quorum: { device: { votes: 1 } } });
    assert.deepEqual(
      results.map((result) => result?.type === 'reconfigureResult' && result.ok),
      [true, true],
    );
    for (const nodeId of [1, 2]) sim.qdevice(nodeId, { type: 'qdeviceRegister', name: NAME });
    for (const nodeId of [1, 2]) sim.pollDevice(nodeId, true);
    assert.deepEqual([sim.snapshot(1).expectedVotes, sim.snapshot(1).totalVotes, sim.snapshot(1).quorum], [3, 3, 2]);
    sim.crash(2);
    sim.pollDevice(1, true);
    assert.deepEqual(sim.quorateNodes(), [1]);
  });
});

describe('votequorum device wire format', () => {
  test('nodeinfo keeps the NODE_FLAGS_QDEVICE_* bits (16, 32, 64, 128) and carries the device as node 0', () => {
    assert.deepEqual(
      [NodeFlag.qdeviceRegistered, NodeFlag.qdeviceAlive, NodeFlag.qdeviceCastVote, NodeFlag.qdeviceMasterWins],
      [16, 32, 64, 128],
    );
    const flags = NodeFlag.quorate | NodeFlag.qdeviceRegistered | NodeFlag.qdeviceAlive | NodeFlag.qdeviceCastVote;
    for (const message of [
      { type: 'nodeinfo', nodeId: 3, votes: 1, expectedVotes: 3, flags, ringId: { rep: 1, seq: 9 } },
      { type: 'nodeinfo', nodeId: QDEVICE_NODE_ID, votes: 1, expectedVotes: 0, flags: 0, ringId: { rep: 1, seq: 9 } },
    ] as const) {
      const bytes = encodeQuorumMessage(message);
      assert.equal(bytes.length, 30, 'same size as a nodeinfo without a device');
      assert.deepEqual(decodeQuorumMessage(bytes), { ok: true, message });
    }
  });

  test('a device nodeinfo claiming to be another member is ignored', () => {
    const core = new QuorumCore({ localNodeId: 1, nodelist: nodelist(2), device: {} }, 0);
    const ringId = { rep: 1, seq: 4 };
    core.step({ type: 'configChange', members: [1, 2], ringId }, 0);
    const forged = encodeQuorumMessage({ type: 'nodeinfo', nodeId: 1, votes: 9, expectedVotes: 9, flags: 1, ringId });
    const actions = core.step({ type: 'receive', from: 2, payload: forged }, 0);
    assert.ok(
      actions.some((action) => action.type === 'log' && action.message.startsWith('Ignoring stale or foreign')),
    );
  });

  test('device votes change live on reload and reach every member through the device nodeinfo', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(3), quorum: { device: { votes: 1 } } });
    sim.start();
    assert.equal(sim.snapshot(1).expectedVotes, 4);
    sim.reconfigure({ nodelist: nodelist(3), quorum: { device: { votes: 2 } } }, 1);
    assert.ok(sim.logs(1).some((line) => line.endsWith('quorum.device.votes 1 → 2')));
    for (const nodeId of [1, 2, 3]) assert.equal(sim.snapshot(nodeId).expectedVotes, 5, `node ${nodeId}`);
  });
});

describe('corosync-quorumtool -s with a device', () => {
  test('the Qdevice flag, column and row exactly as pvecm status prints them', () => {
    const sim = clusterWithDevice(2);
    const snapshot = sim.snapshot(1);
    const names = new Map([
      [1, 'node1'],
      [2, 'node2'],
    ]);
    const text = formatQuorumStatus(snapshot, { date: 'x', nodeNames: names, hexNodeIds: true });
    const tail = text.slice(text.indexOf('Votequorum information'));
    assert.equal(
      tail,
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
      ].join('\n'),
    );
    sim.crash(2);
    sim.pollDevice(1, false);
    const lost = formatQuorumStatus(sim.snapshot(1), { date: 'x', nodeNames: names, hexNodeIds: true });
    assert.match(lost, /^0x00000001 {10}1 {3}A,NV,NMW node1 \(local\)$/m);
    assert.match(lost, /^0x00000000 {10}0 {12}Qdevice \(votes 1\)$/m);
  });
});
