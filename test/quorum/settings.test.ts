import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { QuorumConfigError, resolveQuorumSettings } from '../../src/quorum/settings.ts';
import { nodelist } from './nodelist.ts';

describe('votequorum configuration rules', () => {
  test('expected votes from the nodelist, this node votes from its entry, 10 s window', () => {
    const { settings, log } = resolveQuorumSettings({ localNodeId: 2, nodelist: nodelist(3, [1, 4, 1]) });
    assert.deepEqual(settings, {
      localNodeId: 2,
      votes: 4,
      expectedVotes: 6,
      twoNode: false,
      waitForAll: false,
      lastManStanding: false,
      lastManStandingWindowMs: 10000,
      tieBreaker: { kind: 'none' },
      device: null,
    });
    assert.deepEqual(log, []);
  });

  test('quorum.expected_votes overrides the nodelist; quorum.votes applies without a nodelist', () => {
    assert.equal(
      resolveQuorumSettings({ localNodeId: 1, nodelist: nodelist(3), expectedVotes: 8 }).settings.expectedVotes,
      8,
    );
    const { settings } = resolveQuorumSettings({ localNodeId: 1, expectedVotes: 8, votes: 2 });
    assert.deepEqual([settings.votes, settings.expectedVotes], [2, 8]);
  });

  test('neither a nodelist with this node nor expected_votes: fatal', () => {
    assert.throws(
      () => resolveQuorumSettings({ localNodeId: 9, nodelist: nodelist(3) }),
      new QuorumConfigError('configuration error: nodelist or quorum.expected_votes must be configured!'),
    );
  });

  test('wait_for_all follows two_node unless set', () => {
    const on = resolveQuorumSettings({ localNodeId: 1, nodelist: nodelist(2), twoNode: true }).settings;
    assert.deepEqual([on.twoNode, on.waitForAll], [true, true]);
    const off = resolveQuorumSettings({ localNodeId: 1, nodelist: nodelist(2), twoNode: true, waitForAll: false });
    assert.deepEqual([off.settings.twoNode, off.settings.waitForAll], [true, false]);
  });

  test('two_node and auto_tie_breaker: two_node is disabled', () => {
    const { settings, log } = resolveQuorumSettings({
      localNodeId: 1,
      nodelist: nodelist(2),
      twoNode: true,
      autoTieBreaker: true,
    });
    assert.equal(settings.twoNode, false);
    assert.equal(settings.waitForAll, true, 'wait_for_all was already implied');
    assert.deepEqual(settings.tieBreaker, { kind: 'lowest' });
    assert.deepEqual(
      log.map((entry) => entry.message),
      [
        'two_node and auto_tie_breaker are both specified but are not compatible.',
        'two_node has been disabled, please fix your corosync.conf',
      ],
    );
  });

  test('auto_tie_breaker_node forms', () => {
    const tieBreaker = (autoTieBreakerNode?: 'lowest' | 'highest' | number[]) =>
      resolveQuorumSettings({ localNodeId: 1, nodelist: nodelist(4), autoTieBreaker: true, autoTieBreakerNode })
        .settings.tieBreaker;
    assert.deepEqual(tieBreaker(), { kind: 'lowest' });
    assert.deepEqual(tieBreaker('highest'), { kind: 'highest' });
    assert.deepEqual(tieBreaker([3, 1]), { kind: 'list', nodeIds: [3, 1] });
    assert.deepEqual(tieBreaker([]), { kind: 'none' });
    assert.deepEqual(tieBreaker([2, 0]), { kind: 'none' });
  });

  test('auto_tie_breaker_node without auto_tie_breaker is meaningless', () => {
    const { settings, log } = resolveQuorumSettings({
      localNodeId: 1,
      nodelist: nodelist(4),
      autoTieBreakerNode: 'highest',
    });
    assert.deepEqual(settings.tieBreaker, { kind: 'none' });
    assert.equal(log[0]?.message, 'auto_tie_breaker_node: is meaningless if auto_tie_breaker is set to 0');
  });

  test('odd nodelist: auto_tie_breaker needs wait_for_all; with last_man_standing it is fatal', () => {
    const odd = { localNodeId: 1, nodelist: nodelist(3), autoTieBreaker: true };
    assert.deepEqual(resolveQuorumSettings(odd).settings.tieBreaker, { kind: 'none' });
    assert.deepEqual(resolveQuorumSettings({ ...odd, waitForAll: true }).settings.tieBreaker, { kind: 'lowest' });
    assert.throws(() => resolveQuorumSettings({ ...odd, lastManStanding: true }), QuorumConfigError);
    assert.deepEqual(resolveQuorumSettings({ ...odd, lastManStanding: true, waitForAll: true }).settings.tieBreaker, {
      kind: 'lowest',
    });
  });

  test('invalid numbers are refused', () => {
    assert.throws(() => resolveQuorumSettings({ localNodeId: 0, expectedVotes: 1 }), QuorumConfigError);
    assert.throws(() => resolveQuorumSettings({ localNodeId: 1, expectedVotes: -2 }), QuorumConfigError);
    assert.throws(
      () => resolveQuorumSettings({ localNodeId: 1, nodelist: [{ nodeId: 1, quorumVotes: 1.5 }] }),
      QuorumConfigError,
    );
    assert.throws(
      () => resolveQuorumSettings({ localNodeId: 1, expectedVotes: 3, lastManStandingWindowMs: -1 }),
      QuorumConfigError,
    );
  });
});
