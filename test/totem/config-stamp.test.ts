// Config stamps (a node outside the ring running another cluster config is not admitted) and runtime
// reconfiguration (`reconfigure`: nodelist, stamp, timings), on the bare bench of cores in virtual time.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeMessage, encodeMessage, type JoinMessage, type TotemMessage } from '../../src/totem/messages.ts';
import { TotemCore } from '../../src/totem/totem.ts';
import type { ConfigStamp, TotemAction } from '../../src/totem/types.ts';
import { MiniRing, THREE_NODE_TIMINGS } from './mini-ring.ts';

const DIGEST = 0x5eed_1234;
const CURRENT: ConfigStamp = { version: 5, digest: DIGEST };
const OLDER: ConfigStamp = { version: 4, digest: DIGEST };
const OLDEST: ConfigStamp = { version: 3, digest: DIGEST };
const NEWER: ConfigStamp = { version: 6, digest: DIGEST };
const OTHER_NODELIST: ConfigStamp = { version: 5, digest: 0xbad_d1e5 };
const THREE = [1, 2, 3];
/** Long enough for every timer (token loss, consensus, several merge periods) to have fired. */
const SETTLE_MS = THREE_NODE_TIMINGS.tokenMs + THREE_NODE_TIMINGS.consensusMs;

function status(ring: MiniRing, node: number) {
  return ring.cores.get(node)!.snapshot();
}

function configChanges(ring: MiniRing): number[] {
  return THREE.map((node) => ring.of(node, 'configChange').length);
}

function mismatch(nodeId: number, theirs: ConfigStamp, ours: ConfigStamp): TotemAction {
  return { type: 'configMismatch', nodeId, theirs, ours };
}

function logLines(actions: TotemAction[], level: string): string[] {
  return actions.filter((a) => a.type === 'log' && a.level === level).map((a) => (a as { message: string }).message);
}

/** Nodes 1–3 run `CURRENT` and form a ring; then node 4, in every nodelist, starts with `stamp`. */
function fourthNodeWith(stamp: ConfigStamp) {
  const ring = new MiniRing([1, 2, 3, 4], { configStamp: CURRENT }, 0.1, THREE);
  ring.runFor(500);
  for (const node of THREE) assert.deepEqual(status(ring, node).members, THREE);
  const changes = configChanges(ring);
  const ringId = status(ring, 1).ringId;
  ring.start(4, { configStamp: stamp });
  ring.runFor(SETTLE_MS);
  return { ring, changes, ringId };
}

/** The three keep their ring untouched and node 4 stays alone. */
function assertKeptApart(ring: MiniRing, changes: number[], ringId: unknown): void {
  assert.deepEqual(configChanges(ring), changes, 'no configuration change on nodes 1–3');
  for (const node of THREE) {
    assert.deepEqual(status(ring, node).ringId, ringId);
    assert.deepEqual(status(ring, node).members, THREE);
  }
  assert.deepEqual(status(ring, 4).members, [4]);
  assert.equal(status(ring, 4).state, 'operational');
}

describe('config stamp: codec', () => {
  const join: TotemMessage = {
    type: 'join',
    sender: 3,
    proc: [1, 3],
    fail: [],
    ringSeq: 0x10,
    unreachable: [2],
    stamp: { version: Number.MAX_SAFE_INTEGER, digest: 0xffff_ffff },
  };
  const mergeDetect: TotemMessage = {
    type: 'mergeDetect',
    sender: 1,
    ringId: { rep: 1, seq: 0x10 },
    members: [1, 2],
    stamp: CURRENT,
  };

  test('join and mergeDetect carry the stamp through a round trip', () => {
    for (const message of [join, mergeDetect]) assert.deepEqual(decodeMessage(encodeMessage(message)), message);
  });

  test('a message cut anywhere, even just inside the stamp, decodes to null', () => {
    for (const message of [join, mergeDetect]) {
      const bytes = encodeMessage(message);
      for (let length = 0; length < bytes.length; length++)
        assert.equal(decodeMessage(bytes.subarray(0, length)), null);
    }
  });

  test('a config_version beyond 2^53 − 1 is rejected', () => {
    const bytes = encodeMessage({ ...mergeDetect, stamp: { version: 2 ** 53, digest: 0 } });
    assert.equal(decodeMessage(bytes), null);
  });
});

describe('config stamp: admission', () => {
  test('a node with an older config_version is not admitted until it takes the current config', () => {
    const { ring, changes, ringId } = fourthNodeWith(OLDER);
    // Node 4's own ring traffic reaches the three too: it must not pull them into a membership round.
    for (let i = 0; i < 5; i++) ring.multicast(4, `lone ${i}`);
    ring.runFor(SETTLE_MS);
    assertKeptApart(ring, changes, ringId);
    for (const node of THREE) {
      assert.deepEqual(ring.of(node, 'configMismatch'), [mismatch(4, OLDER, CURRENT)], `node ${node}`);
      const warnings = logLines(ring.actions.get(node)!, 'warning');
      assert.deepEqual(warnings, [
        'node 4 runs config_version 4, this node runs 5: not admitted to the membership until it has taken the current cluster config',
      ]);
    }
    // Only the representative of the three invites node 4 (MERGE_DETECT); node 4 reports it once.
    assert.deepEqual(ring.of(4, 'configMismatch'), [mismatch(1, CURRENT, OLDER)]);
    assert.ok(
      ring
        .logs(4)
        .includes(
          'node 1 runs config_version 5, this node runs 4: this node is not admitted to its membership until it has taken that config',
        ),
    );
    // Every refused JOIN or MERGE_DETECT is counted, each pair reported once.
    assert.ok(status(ring, 1).configMismatches > 10, `${status(ring, 1).configMismatches}`);
    assert.ok(status(ring, 4).configMismatches > 10, `${status(ring, 4).configMismatches}`);

    // Another stamp of node 4 (and so a change of its own) is reported afresh, on both sides.
    ring.step(4, { type: 'reconfigure', configStamp: OLDEST });
    ring.runFor(SETTLE_MS);
    assertKeptApart(ring, changes, ringId);
    for (const node of THREE) {
      assert.deepEqual(ring.of(node, 'configMismatch').slice(1), [mismatch(4, OLDEST, CURRENT)], `node ${node}`);
    }
    assert.deepEqual(ring.of(4, 'configMismatch').slice(1), [mismatch(1, CURRENT, OLDEST)]);

    ring.step(4, { type: 'reconfigure', configStamp: CURRENT });
    const all = [1, 2, 3, 4];
    assert.ok(
      ring.runUntilTrue(() => all.every((node) => status(ring, node).members.length === 4), 1000, 1),
      'node 4 is admitted once it runs the current config',
    );
    for (const node of all) {
      assert.deepEqual(status(ring, node).members, all);
      assert.equal(status(ring, node).state, 'operational');
    }
    assert.deepEqual(ring.of(1, 'configChange').at(-1)!.joined, [4]);
    assert.equal(ring.of(4, 'configMismatch').length, 2, 'no new mismatch once the stamps agree');
  });

  test('a node with another nodelist under the same config_version is not admitted', () => {
    const { ring, changes, ringId } = fourthNodeWith(OTHER_NODELIST);
    assertKeptApart(ring, changes, ringId);
    for (const node of THREE) assert.deepEqual(ring.of(node, 'configMismatch'), [mismatch(4, OTHER_NODELIST, CURRENT)]);
    assert.ok(
      ring
        .logs(1)
        .includes(
          'node 4 has a different nodelist with the same config_version 5: not admitted to the membership (fix the config on one side)',
        ),
    );
    assert.deepEqual(ring.of(4, 'configMismatch'), [mismatch(1, CURRENT, OTHER_NODELIST)]);
  });

  test('a member taking a new config mid-ring stays a member, also through a token loss', () => {
    const ring = new MiniRing(THREE, { configStamp: CURRENT });
    ring.runFor(500);
    const formed = status(ring, 1).ringId!;
    const changes = configChanges(ring);
    ring.step(3, { type: 'reconfigure', configStamp: NEWER });
    ring.runFor(2000);
    assert.deepEqual(configChanges(ring), changes, 'a stamp change alone changes nothing');

    // Node 3 goes silent longer than the token timeout: every node loses the token and gathers.
    let silent = true;
    ring.drop = ({ from }) => silent && from === 3;
    ring.runFor(THREE_NODE_TIMINGS.tokenMs + 500);
    for (const node of THREE) assert.equal(status(ring, node).state, 'gather', `node ${node}`);
    silent = false;
    assert.ok(ring.runUntilTrue(() => THREE.every((node) => status(ring, node).state === 'operational'), SETTLE_MS, 1));
    for (const node of THREE) {
      const { members, ringId } = status(ring, node);
      assert.deepEqual(members, THREE, `node ${node}`);
      assert.ok(ringId!.seq > formed.seq);
      const regular = ring.of(node, 'configChange').at(-1)!;
      assert.deepEqual([regular.kind, regular.left, regular.joined], ['regular', [], []]);
      assert.deepEqual(ring.of(node, 'configMismatch'), []);
      assert.equal(status(ring, node).configMismatches, 0);
    }
  });

  test('a leave notice is honoured whatever the config of its sender', () => {
    // Node 2 joined node 1's membership round, then took another config and left before a ring formed.
    const core = new TotemCore({ ...THREE_NODE_TIMINGS, localNodeId: 1, nodes: [1, 2], configStamp: CURRENT }, 0);
    core.step({ type: 'tick' }, 0);
    const join: JoinMessage = { type: 'join', sender: 2, proc: [2], fail: [], ringSeq: 4, stamp: CURRENT };
    core.step({ type: 'receive', from: 2, payload: encodeMessage(join) }, 1);
    assert.equal(core.snapshot().state, 'gather');
    const leave = { ...join, proc: [1, 2], fail: [2], stamp: NEWER };
    const actions = core.step({ type: 'receive', from: 2, payload: encodeMessage(leave) }, 2);
    assert.ok(logLines(actions, 'notice').includes('Node 2 left the ring (leave notice), forming new configuration.'));
    assert.deepEqual(
      actions.filter((a) => a.type === 'configMismatch'),
      [],
    );
    core.step({ type: 'tick' }, 3);
    const { state, members, ringId } = core.snapshot();
    assert.deepEqual([state, members], ['operational', [1]]);
    assert.ok(ringId!.seq > 4, 'a new ring without node 2');
  });
});

describe('reconfigure: timings', () => {
  /** Node 3 crashes; returns when node 1 last got the token, from which its token timeout runs. */
  function crashThree(ring: MiniRing): number {
    ring.crash(3);
    const lastToken = ring.wire.filter((m) => m.to === 1 && m.message.type === 'token').at(-1)!;
    return lastToken.at + ring.delayMs;
  }

  /** Node 1 declares the token lost exactly `tokenMs` after it last had it. */
  function assertTokenLostAfter(ring: MiniRing, since: number, tokenMs: number, consensusMs: number): void {
    ring.runUntil(since + tokenMs - 1);
    assert.equal(status(ring, 1).state, 'operational', `token not lost before ${tokenMs} ms`);
    ring.runUntil(since + tokenMs + 1);
    assert.equal(status(ring, 1).state, 'gather', `token lost at ${tokenMs} ms`);
    const line = `A processor failed, forming new configuration: token timed out (${tokenMs}ms), waiting ${consensusMs}ms for consensus.`;
    assert.ok(ring.logs(1).includes(line));
  }

  test('new timings are used from the next time each timer is armed, logged, no configuration change', () => {
    const ring = new MiniRing(THREE);
    ring.runFor(500);
    const changes = configChanges(ring);
    for (const node of THREE) {
      const actions = ring.step(node, { type: 'reconfigure', timings: { tokenMs: 6000, consensusMs: 7000 } });
      assert.deepEqual(logLines(actions, 'notice'), [
        'timings changed: token 3650 → 6000 ms, consensus 4380 → 7000 ms',
      ]);
      assert.deepEqual(
        actions.filter((a) => a.type !== 'log'),
        [],
      );
    }
    ring.runFor(2000);
    assert.deepEqual(configChanges(ring), changes);
    assertTokenLostAfter(ring, crashThree(ring), 6000, 7000);
  });

  test('a derived hold follows token_retransmit', () => {
    const ring = new MiniRing(THREE);
    ring.runFor(500);
    for (const node of THREE) {
      const actions = ring.step(node, { type: 'reconfigure', timings: { tokenRetransmitMs: 500 } });
      assert.deepEqual(logLines(actions, 'notice'), [
        'timings changed: token_retransmit 869 → 500 ms, hold 685 → 390 ms',
      ]);
    }
    ring.runFor(5000);
    const since = ring.now;
    ring.runFor(5000);
    const sent = ring.wire.filter((m) => m.at >= since && m.from === 1 && m.message.type === 'token').map((m) => m.at);
    const gaps = sent.slice(1).map((at, i) => at - sent[i]!);
    assert.ok(gaps.length > 5);
    for (const gap of gaps) assert.ok(Math.abs(gap - 390) < 1, `the representative holds the idle token ${gap} ms`);
  });

  test('an invalid value refuses the whole change with a warning', () => {
    const ring = new MiniRing(THREE);
    ring.runFor(500);
    const invalid = [
      [{ tokenMs: 6000, joinMs: 0 }, 'join must be a positive number (got 0)'],
      [{ tokenMs: -1 }, 'token must be a positive number (got -1)'],
      [{ tokenMs: Number.NaN }, 'token must be a positive number (got NaN)'],
      [{ maxMessages: 1.5 }, 'max_messages must be a positive integer (got 1.5)'],
      [{ tokenWarningPct: 120 }, 'token_warning must be a percentage (0–100) (got 120)'],
    ] as const;
    for (const [timings, problem] of invalid) {
      const actions = ring.step(1, { type: 'reconfigure', timings });
      assert.deepEqual(actions, [
        { type: 'log', level: 'warning', subsystem: 'TOTEM', message: `timings not changed: ${problem}` },
      ]);
    }
    ring.runFor(2000);
    assertTokenLostAfter(ring, crashThree(ring), THREE_NODE_TIMINGS.tokenMs, THREE_NODE_TIMINGS.consensusMs);
  });

  test('timings equal to the current ones log nothing', () => {
    const ring = new MiniRing(THREE);
    ring.runFor(500);
    assert.deepEqual(ring.step(1, { type: 'reconfigure', timings: { tokenMs: THREE_NODE_TIMINGS.tokenMs } }), []);
  });
});

describe('reconfigure: nodelist', () => {
  test('a node added to the nodelist is invited by MERGE_DETECT', () => {
    const ring = new MiniRing(THREE);
    ring.runFor(500);
    const mergeDetects = (since: number) => ring.wire.filter((m) => m.at >= since && m.message.type === 'mergeDetect');
    const before = ring.now;
    ring.runFor(1000);
    assert.deepEqual(mergeDetects(before), [], 'every configured node is in the ring');
    ring.step(1, { type: 'reconfigure', nodes: [1, 2, 3, 5] });
    const added = ring.now;
    ring.runFor(THREE_NODE_TIMINGS.mergeMs * 3);
    const sent = mergeDetects(added);
    assert.ok(sent.length >= 3, `${sent.length} MERGE_DETECT`);
    for (const m of sent) assert.deepEqual([m.from, m.to], [1, 5]);
  });

  test('a member removed from the nodelist stays a member until failure detection takes it out', () => {
    const ring = new MiniRing(THREE);
    ring.runFor(500);
    const changes = configChanges(ring);
    for (const node of THREE) ring.step(node, { type: 'reconfigure', nodes: [1, 2] });
    ring.runFor(SETTLE_MS);
    assert.deepEqual(configChanges(ring), changes);
    for (const node of THREE) assert.deepEqual(status(ring, node).members, THREE);
  });
});
