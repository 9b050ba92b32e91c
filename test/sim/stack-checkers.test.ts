import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type CfsReplica,
  type CfsWriteRecord,
  type CpgEntry,
  type CpgMemberTrace,
  checkCfsReplicas,
  checkCfsWrites,
  checkCpg,
  checkQuorumSafety,
  cpgViewId,
  type QuorumRecord,
} from '../../src/sim/stack-checkers.ts';

const invariants = (violations: { invariant: string }[]) => [...new Set(violations.map((v) => v.invariant))].sort();

describe('quorum safety', () => {
  const q = (at: number, node: number, quorate: boolean, members: number[], expectedVotes = 5): QuorumRecord => ({
    at,
    node,
    incarnation: 0,
    state: { quorate, members, expectedVotes },
  });

  test('a majority and an inquorate minority, and a stale member list that overlaps, are fine', () => {
    const records = [
      q(0, 1, true, [1, 2, 3, 4, 5]),
      q(0, 4, true, [1, 2, 3, 4, 5]),
      q(10, 1, true, [1, 2, 3]),
      q(20, 4, false, [4, 5]),
    ];
    assert.deepEqual(checkQuorumSafety(records), []);
  });

  test('two disjoint quorate partitions at one instant are a split brain', () => {
    const records = [q(0, 1, true, [1, 2, 3]), q(5, 4, true, [4, 5]), q(9, 4, false, [4, 5])];
    assert.deepEqual(invariants(checkQuorumSafety(records)), ['quorum-safety']);
  });

  test('a state that changes back within the same instant is judged after the instant', () => {
    const records = [q(0, 1, true, [1, 2, 3]), q(5, 4, true, [4, 5]), q(5, 4, false, [4, 5])];
    assert.deepEqual(checkQuorumSafety(records), []);
  });

  test('a crashed node is no longer quorate; different expected votes are not compared', () => {
    const crashed: QuorumRecord = { at: 5, node: 1, incarnation: 0, state: null };
    assert.deepEqual(checkQuorumSafety([q(0, 1, true, [1, 2, 3]), crashed, q(6, 4, true, [4, 5])]), []);
    assert.deepEqual(checkQuorumSafety([q(0, 1, true, [1, 2, 3]), q(6, 4, true, [4, 5], 2)]), []);
  });
});

describe('CPG extended virtual synchrony', () => {
  const V1 = cpgViewId(['1:1', '2:1'], 0);
  const V2 = cpgViewId(['1:1'], 0);
  const V2b = cpgViewId(['2:1'], 0);
  const view = (id: string): CpgEntry => ({ kind: 'view', view: id, members: id.split('|')[0]!.split(',') });
  const msg = (msgId: string): CpgEntry => ({ kind: 'deliver', msgId, sender: msgId.split('/')[0]! });
  const member = (node: number, entries: CpgEntry[], sent: string[]): CpgMemberTrace => ({
    group: 'g',
    node,
    address: `${node}:1`,
    entries,
    sent,
    ended: 'alive',
  });

  /** Two processes in one view; a partition gives each a view of its own. */
  const good = () => [
    member(1, [view(V1), msg('1:1/a'), msg('2:1/b'), view(V2), msg('1:1/c')], ['1:1/a', '1:1/c']),
    member(2, [view(V1), msg('1:1/a'), msg('2:1/b'), view(V2b)], ['2:1/b']),
  ];

  test('a good run passes', () => {
    assert.deepEqual(checkCpg(good()), []);
  });

  test('a message delivered twice is caught', () => {
    const traces = good();
    traces[1]!.entries.splice(2, 0, msg('1:1/a'));
    assert.ok(invariants(checkCpg(traces)).includes('cpg-no-duplication'));
  });

  test('a message nobody multicast is caught', () => {
    const traces = good();
    traces[0]!.entries.push(msg('1:1/zz'));
    assert.deepEqual(invariants(checkCpg(traces)), ['cpg-no-creation']);
  });

  test('a message delivered in a view without its sender is caught', () => {
    const traces = good();
    traces[0]!.entries.push(msg('2:1/late'));
    traces[1]!.sent.push('2:1/late');
    assert.deepEqual(invariants(checkCpg(traces)), ['cpg-sender-in-view']);
  });

  test('two members delivering in different orders are caught', () => {
    const traces = good();
    traces[1]!.entries = [view(V1), msg('2:1/b'), msg('1:1/a'), view(V2b)];
    assert.ok(invariants(checkCpg(traces)).includes('cpg-total-order'));
  });

  test('members going from one view to the same next view with different messages are caught', () => {
    const traces = good();
    traces[1]!.entries = [view(V1), msg('1:1/a'), view(V2)];
    traces[0]!.entries = [view(V1), msg('1:1/a'), msg('2:1/b'), view(V2)];
    assert.deepEqual(invariants(checkCpg(traces)), ['cpg-virtual-synchrony']);
  });

  test('two members staying together into different views are caught; a view naming a lost member is not', () => {
    const V3 = cpgViewId(['1:1', '2:1'], 1);
    const V4 = cpgViewId(['1:1', '1:2', '2:1'], 0);
    const traces = good();
    traces[0]!.entries = [view(V1), msg('1:1/a'), msg('2:1/b'), view(V3)];
    assert.deepEqual(checkCpg(traces), []);
    traces[1]!.entries = [view(V1), msg('1:1/a'), msg('2:1/b'), view(cpgViewId(['1:1', '2:1'], 0))];
    assert.deepEqual(checkCpg(traces), [], 'the same members seen before by one of them (another ordinal)');
    traces[1]!.entries = [view(V1), msg('1:1/a'), msg('2:1/b'), view(V4)];
    assert.deepEqual(invariants(checkCpg(traces)), ['cpg-view-agreement']);
  });
});

describe('cfs', () => {
  const write = (node: number, data: string, version: number | null, quorate = true): CfsWriteRecord => ({
    node,
    incarnation: 0,
    path: 'f',
    data,
    submittedAt: 0,
    quorateAtSubmit: quorate,
    ...(version === null ? {} : { result: { ok: true, version } }),
  });
  const replica = (node: number, data: string, version: number): CfsReplica => ({
    node,
    seq: version,
    entries: [{ path: 'f', version, data }],
  });

  test('acknowledged writes present on identical replicas pass; an overwrite by a later write is fine', () => {
    const writes = [write(1, 'a', 1), write(2, 'b', 2), write(3, 'c', null)];
    assert.deepEqual(checkCfsWrites(writes), []);
    assert.deepEqual(checkCfsReplicas(writes, [replica(1, 'b', 2), replica(2, 'b', 2)]), []);
  });

  test('a write acknowledged although submitted while inquorate is caught', () => {
    assert.deepEqual(invariants(checkCfsWrites([write(1, 'a', 1, false)])), ['cfs-inquorate-write']);
  });

  test('two writes acknowledged under one version are caught', () => {
    assert.deepEqual(invariants(checkCfsWrites([write(1, 'a', 1), write(4, 'x', 1)])), ['cfs-version-conflict']);
  });

  test('a write refused as not applied but present at the end is caught, unless resubmitted', () => {
    const refused = (data: string, code: string): CfsWriteRecord => ({
      ...write(2, data, null),
      result: { ok: false, code },
    });
    const end = [replica(1, 'r', 3), replica(2, 'r', 3)];
    assert.deepEqual(invariants(checkCfsReplicas([refused('r', 'syncing')], end)), ['cfs-refused-applied']);
    assert.deepEqual(checkCfsReplicas([refused('r', 'syncing'), write(2, 'r', 3)], end), []);
    assert.deepEqual(checkCfsReplicas([refused('r', 'unknown'), refused('r', 'storage')], end), []);
  });

  test('a lost acknowledged write and differing replicas are caught', () => {
    const writes = [write(1, 'a', 1), write(4, 'x', 2)];
    const found = checkCfsReplicas(writes, [replica(1, 'a', 1), replica(2, 'x', 2)]);
    assert.deepEqual(invariants(found), ['cfs-ack-lost', 'cfs-replicas-differ']);
  });
});
