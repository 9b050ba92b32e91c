import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeQuorumMessage, ReconfigureParam } from '../../src/quorum/codec.ts';
import type { QuorumAction, QuorumOptions, QuorumSnapshot } from '../../src/quorum/types.ts';
import { QuorumCore } from '../../src/quorum/votequorum.ts';
import { QuorumSimulator } from '../../src/quorum/vqsim.ts';
import { nodelist } from './nodelist.ts';

const APPLIED = { type: 'reconfigureResult', ok: true } as const;

/** `[expected votes, highest expected, total votes, quorum, nodes]` as corosync-quorumtool -s shows them. */
function votes(status: QuorumSnapshot): number[] {
  return [status.expectedVotes, status.highestExpected, status.totalVotes, status.quorum, status.nodes];
}

function decodedBroadcasts(actions: readonly QuorumAction[]) {
  return actions.flatMap((action) => {
    if (action.type !== 'broadcast') return [];
    const decoded = decodeQuorumMessage(action.payload);
    assert.ok(decoded.ok);
    return [decoded.message];
  });
}

function snapshots(sim: QuorumSimulator): QuorumSnapshot[] {
  return sim.runningNodes().map((nodeId) => sim.snapshot(nodeId));
}

describe('votequorum reload: nodelist changes', () => {
  test('a fourth node added to the nodelist: expected 4, quorum 3; then it joins', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(3) });
    sim.start();
    assert.deepEqual(votes(sim.snapshot(1)), [3, 3, 3, 2, 3]);
    assert.deepEqual(sim.reconfigure({ nodelist: nodelist(4) }), [APPLIED, APPLIED, APPLIED]);
    for (const nodeId of [1, 2, 3]) {
      const status = sim.snapshot(nodeId);
      assert.deepEqual(votes(status), [4, 4, 3, 3, 3], `node ${nodeId}`);
      assert.equal(status.quorate, true, 'three of four votes are still a majority');
      assert.deepEqual(status.flags, ['Quorate']);
      assert.ok(sim.logs(nodeId).includes('configuration reloaded: expected_votes 3 → 4, nodes 3 → 4'));
    }
    sim.start(4);
    for (const nodeId of [1, 2, 3, 4]) {
      const status = sim.snapshot(nodeId);
      assert.deepEqual(votes(status), [4, 4, 4, 3, 4], `node ${nodeId}`);
      assert.deepEqual(
        status.members.map((member) => member.nodeId),
        [1, 2, 3, 4],
      );
    }
    sim.partition([
      [1, 2],
      [3, 4],
    ]);
    assert.deepEqual(sim.quorateNodes(), [], 'two of four is no majority');
  });

  test('the reload multicasts the nodeinfo, then the new expected votes', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(3) });
    sim.start();
    const actions = sim.core(2).step({ type: 'reconfigure', options: { localNodeId: 2, nodelist: nodelist(4) } }, 0);
    assert.deepEqual(
      actions.filter((action) => action.type !== 'broadcast'),
      [
        {
          type: 'log',
          level: 'notice',
          subsystem: 'QUORUM',
          message: 'configuration reloaded: expected_votes 3 → 4, nodes 3 → 4',
        },
        APPLIED,
      ],
    );
    const ringId = sim.snapshot(2).ringId;
    assert.ok(ringId);
    assert.deepEqual(decodedBroadcasts(actions), [
      { type: 'nodeinfo', nodeId: 2, votes: 1, expectedVotes: 4, flags: 1, ringId },
      { type: 'reconfigure', param: ReconfigureParam.expectedVotes, nodeId: 2, value: 4 },
    ]);
    assert.deepEqual(votes(sim.core(2).snapshot()), [4, 4, 3, 3, 3], 'recalculated at once on the reloading node');
  });

  test('a node that is not a member removed from the nodelist (4 → 3): expected 3, quorum 2', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(4) });
    sim.start();
    sim.crash(4);
    assert.deepEqual(votes(sim.snapshot(1)), [4, 4, 3, 3, 3]);
    assert.deepEqual(sim.reconfigure({ nodelist: nodelist(3) }), [APPLIED, APPLIED, APPLIED]);
    for (const status of snapshots(sim)) assert.deepEqual(votes(status), [3, 3, 3, 2, 3]);
    assert.ok(sim.logs(1).includes('configuration reloaded: expected_votes 4 → 3, nodes 4 → 3'));
    assert.deepEqual(
      sim.setVotes(1, 4, 1),
      { type: 'requestResult', request: 'setVotes', ok: false, error: 'CS_ERR_NAME_NOT_FOUND' },
      'node 4 is forgotten',
    );
    sim.crash(3);
    assert.deepEqual(sim.quorateNodes(), [1, 2], 'two of three is a majority now');
  });

  test('a removed node that is still a member counts until it leaves', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(4) });
    sim.start();
    sim.reconfigure({ nodelist: nodelist(3) }, 1, 2, 3);
    for (const nodeId of [1, 2, 3, 4]) {
      const status = sim.snapshot(nodeId);
      assert.deepEqual(votes(status), [4, 4, 4, 3, 4], `expected votes raised to the votes present (node ${nodeId})`);
      assert.equal(status.members.length, 4);
    }
    sim.crash(4);
    for (const status of snapshots(sim)) {
      assert.deepEqual(
        status.members.map((member) => member.nodeId),
        [1, 2, 3],
      );
      assert.deepEqual(votes(status), [4, 4, 3, 3, 3], 'expected votes never go down on their own');
      assert.equal(status.quorate, true);
    }
    assert.deepEqual(
      sim.setVotes(1, 4, 1),
      { type: 'requestResult', request: 'setVotes', ok: false, error: 'CS_ERR_NAME_NOT_FOUND' },
      'node 4 is forgotten once it has left',
    );
    sim.reconfigure({ nodelist: nodelist(3) });
    for (const status of snapshots(sim)) assert.deepEqual(votes(status), [3, 3, 3, 2, 3], 'a reload brings them down');
  });
});

describe('votequorum reload: rolling (one node at a time)', () => {
  test('the first reloaded node carries the cluster to the higher expected votes', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(3) });
    sim.start();
    assert.deepEqual(sim.reconfigure({ nodelist: nodelist(4) }, 1), [APPLIED]);
    for (const nodeId of [1, 2, 3]) {
      assert.deepEqual(votes(sim.snapshot(nodeId)), [4, 4, 3, 3, 3], `node ${nodeId}`);
    }
    assert.ok(!sim.logs(2).some((line) => line.startsWith('configuration reloaded')), 'node 2 has not reloaded');
    assert.deepEqual(sim.reconfigure({ nodelist: nodelist(4) }, 2, 3), [APPLIED, APPLIED]);
    assert.ok(sim.logs(3).includes('configuration reloaded: nodes 3 → 4'));
    for (const status of snapshots(sim)) assert.deepEqual(votes(status), [4, 4, 3, 3, 3]);
    sim.start(4);
    for (const status of snapshots(sim)) assert.deepEqual(votes(status), [4, 4, 4, 3, 4]);
  });

  test('node votes come from each node’s own configuration', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(3) });
    sim.start();
    const heavier = nodelist(3, [1, 3, 1]);
    sim.reconfigure({ nodelist: heavier }, 1);
    for (const status of snapshots(sim)) {
      assert.deepEqual(votes(status), [5, 5, 3, 3, 3], 'expected votes from node 1’s nodelist');
      assert.equal(status.members[1]?.votes, 1, 'node 2 has not read the new quorum_votes yet');
      assert.equal(status.quorate, true);
    }
    sim.reconfigure({ nodelist: heavier }, 2, 3);
    for (const status of snapshots(sim)) {
      assert.deepEqual(votes(status), [5, 5, 5, 3, 3]);
      assert.equal(status.members[1]?.votes, 3);
    }
    assert.ok(sim.logs(2).includes('configuration reloaded: votes 1 → 3'));
  });
});

describe('votequorum reload: quorum options', () => {
  test('explicit expected_votes set, then dropped', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(3) });
    sim.start();
    sim.reconfigure({ nodelist: nodelist(3), quorum: { expectedVotes: 5 } });
    for (const status of snapshots(sim)) assert.deepEqual(votes(status), [5, 5, 3, 3, 3]);
    assert.deepEqual(sim.quorateNodes(), [1, 2, 3]);
    sim.crash(3);
    assert.deepEqual(sim.quorateNodes(), [], 'two of five is no majority');
    sim.reconfigure({ nodelist: nodelist(3) });
    for (const status of snapshots(sim)) assert.deepEqual(votes(status), [3, 3, 2, 2, 2]);
    assert.deepEqual(sim.quorateNodes(), [1, 2], 'back to the nodelist’s three votes');
    const lines = sim.logs(1);
    const reloaded = lines.lastIndexOf('configuration reloaded: expected_votes 5 → 3');
    assert.ok(reloaded >= 0);
    assert.equal(
      lines.indexOf('This node is within the primary component and will provide service.', reloaded) > reloaded,
      true,
      'the quorum regained is announced',
    );
    const lastChange = sim.history
      .filter((record) => record.nodeId === 1 && record.action.type === 'quorumChange')
      .at(-1);
    assert.deepEqual(lastChange?.action, {
      type: 'quorumChange',
      quorate: true,
      changed: true,
      members: [1, 2],
      ringId: sim.snapshot(1).ringId,
    });
  });

  test('two_node toggled on a two-node cluster', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(2) });
    sim.start();
    assert.deepEqual(votes(sim.snapshot(1)), [2, 2, 2, 2, 2]);
    sim.reconfigure({ nodelist: nodelist(2), quorum: { twoNode: true } });
    for (const status of snapshots(sim)) {
      assert.equal(status.quorum, 1);
      assert.deepEqual(status.flags, ['2Node', 'Quorate', 'WaitForAll'], 'wait_for_all follows two_node');
    }
    assert.ok(sim.logs(1).includes('configuration reloaded: two_node 0 → 1'));
    sim.partition([[1], [2]]);
    assert.deepEqual(sim.quorateNodes(), [1, 2], 'two_node: both halves stay quorate, fencing decides');
    sim.heal();
    sim.reconfigure({ nodelist: nodelist(2) });
    for (const status of snapshots(sim)) {
      assert.equal(status.quorum, 2);
      assert.deepEqual(status.flags, ['Quorate']);
    }
    sim.partition([[1], [2]]);
    assert.deepEqual(sim.quorateNodes(), []);
  });

  test('two_node switched on for an isolated node makes it quorate (as corosync: fencing decides)', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(2) });
    sim.start();
    sim.partition([[1], [2]]);
    assert.deepEqual(sim.quorateNodes(), []);
    sim.reconfigure({ nodelist: nodelist(2), quorum: { twoNode: true } }, 1);
    assert.deepEqual(sim.quorateNodes(), [1]);
  });

  test('per-node quorum_votes changed everywhere', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(3) });
    sim.start();
    sim.reconfigure({ nodelist: nodelist(3, [1, 3, 1]) });
    for (const status of snapshots(sim)) {
      assert.deepEqual(votes(status), [5, 5, 5, 3, 3]);
      assert.deepEqual(
        status.members.map((member) => member.votes),
        [1, 3, 1],
      );
    }
    sim.partition([[2], [1, 3]]);
    assert.deepEqual(sim.quorateNodes(), [2], 'node 2 alone holds three of five votes');
  });

  test('startup-only keys: a notice, nothing applied; auto_tie_breaker is checked again', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(4), quorum: { autoTieBreaker: true } });
    sim.start();
    assert.deepEqual(sim.snapshot(1).flags, ['Quorate', 'AutoTieBreaker']);
    sim.reconfigure({
      nodelist: nodelist(4),
      quorum: { autoTieBreaker: true, lastManStanding: true, waitForAll: true },
    });
    assert.deepEqual(sim.snapshot(1).flags, ['Quorate', 'AutoTieBreaker'], 'still without LMS and WFA');
    const lines = sim.logs(1);
    assert.ok(lines.includes('quorum.last_man_standing changed: takes effect at the next restart'));
    assert.ok(lines.includes('quorum.wait_for_all changed: takes effect at the next restart'));
    sim.reconfigure({ nodelist: nodelist(5), quorum: { autoTieBreaker: true } });
    assert.deepEqual(sim.snapshot(1).flags, ['Quorate'], 'odd cluster without wait_for_all: ATB disabled');
    assert.ok(sim.logs(1).includes('Therefore auto_tie_breaker has been disabled. Please fix your corosync.conf'));
    sim.reconfigure({ nodelist: nodelist(4), quorum: { autoTieBreaker: true } });
    assert.deepEqual(sim.snapshot(1).flags, ['Quorate', 'AutoTieBreaker'], 'even again: enabled again');
  });
});

describe('votequorum reload: refused configurations', () => {
  const refusals: [string, Partial<QuorumOptions>, string][] = [
    ['negative expected_votes', { expectedVotes: -1 }, 'expectedVotes must be an integer'],
    [
      'no nodelist entry for this node and no expected_votes',
      { nodelist: [{ nodeId: 7 }], expectedVotes: 0 },
      'nodelist or quorum.expected_votes must be configured!',
    ],
    [
      'fractional quorum_votes',
      { nodelist: [{ nodeId: 1, quorumVotes: 1.5 }, ...nodelist(3).slice(1)] },
      'quorum_votes',
    ],
    ['a new nodeid', { localNodeId: 9 }, 'nodeid cannot change at runtime (1 → 9)'],
  ];
  for (const [name, change, reason] of refusals) {
    test(`${name}: a warning, nothing changed`, () => {
      const sim = new QuorumSimulator({ nodelist: nodelist(3) });
      sim.start();
      const before = snapshots(sim);
      const actions = sim
        .core(1)
        .step(
          { type: 'reconfigure', options: { localNodeId: 1, nodelist: nodelist(4), expectedVotes: 4, ...change } },
          sim.now(),
        );
      const result = actions.find((action) => action.type === 'reconfigureResult');
      assert.ok(result && !result.ok && result.error === 'CS_ERR_INVALID_PARAM' && result.message.includes(reason));
      assert.equal(
        actions.some((action) => action.type === 'broadcast' || action.type === 'quorumChange'),
        false,
      );
      const warnings = actions.flatMap((action) =>
        action.type === 'log' && action.level === 'warning' ? [action.message] : [],
      );
      assert.deepEqual(warnings, [result.message, 'will continue with current runtime data']);
      assert.deepEqual(snapshots(sim), before);
    });
  }

  test('what the constructor throws for is refused through the simulator too', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(4), quorum: { autoTieBreaker: true, lastManStanding: true } });
    sim.start();
    const before = snapshots(sim);
    const odd = { nodelist: nodelist(5), quorum: { autoTieBreaker: true, lastManStanding: true } };
    assert.throws(() => new QuorumCore({ ...odd.quorum, localNodeId: 1, nodelist: odd.nodelist }, 0));
    const results = sim.reconfigure(odd);
    const message = 'configuration error: auto_tie_breaker & last_man_standing not available in odd sized cluster';
    assert.deepEqual(
      results,
      [1, 2, 3, 4].map(() => ({ type: 'reconfigureResult', ok: false, error: 'CS_ERR_INVALID_PARAM', message })),
    );
    assert.deepEqual(snapshots(sim), before);
    const withoutLms = sim.reconfigure({ nodelist: nodelist(5), quorum: { autoTieBreaker: true } }, 1)[0];
    assert.ok(
      withoutLms?.type === 'reconfigureResult' && !withoutLms.ok,
      'last_man_standing still runs until a restart',
    );
    assert.deepEqual(snapshots(sim), before);
  });
});

describe('votequorum reload: calculate_quorum still rules', () => {
  test('expected_votes below the votes present: raised to them, quorum unchanged', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(4) });
    sim.start();
    sim.reconfigure({ nodelist: nodelist(4), quorum: { expectedVotes: 2 } });
    assert.ok(sim.logs(1).includes('configuration reloaded: expected_votes 4 → 2'));
    for (const status of snapshots(sim)) {
      assert.equal(status.expectedVotes, 4, 'recalculate_quorum keeps expected votes at the total');
      assert.equal(status.quorum, 3);
    }
    sim.partition([
      [1, 2],
      [3, 4],
    ]);
    assert.deepEqual(sim.quorateNodes(), [], 'a 2|2 split of a 4-node cluster stays inquorate');
  });

  test('a partition reloaded with lower expected votes: quorum = max(majority of expected, majority of total)', () => {
    const sim = new QuorumSimulator({ nodelist: nodelist(4) });
    sim.start();
    sim.partition([
      [1, 2],
      [3, 4],
    ]);
    assert.deepEqual(sim.quorateNodes(), []);
    sim.reconfigure({ nodelist: nodelist(4), quorum: { expectedVotes: 3 } }, 1);
    for (const nodeId of [1, 2]) assert.deepEqual(votes(sim.snapshot(nodeId)), [3, 3, 2, 2, 2]);
    assert.deepEqual(sim.quorateNodes(), [1, 2], 'an explicit expected_votes is the admin’s word, as with -e 3');
    assert.deepEqual(votes(sim.snapshot(3)), [4, 4, 2, 3, 2], 'the other partition saw nothing');
    sim.heal();
    for (const status of snapshots(sim)) {
      assert.equal(status.expectedVotes, 4, 'raised again to the votes present');
      assert.equal(status.quorum, 3);
    }
    assert.deepEqual(sim.quorateNodes(), [1, 2, 3, 4]);
  });

  test('before any ring: applied locally, nothing multicast', () => {
    const core = new QuorumCore({ localNodeId: 1, nodelist: nodelist(5) }, 0);
    const actions = core.step({ type: 'reconfigure', options: { localNodeId: 1, nodelist: nodelist(3) } }, 0);
    assert.deepEqual(decodedBroadcasts(actions), []);
    assert.ok(actions.some((action) => action.type === 'reconfigureResult' && action.ok));
    assert.deepEqual(
      [core.snapshot().expectedVotes, core.snapshot().quorum, core.snapshot().nodes],
      [3, 2, 0],
      'quorum down at once: nothing was announced yet',
    );
  });
});
