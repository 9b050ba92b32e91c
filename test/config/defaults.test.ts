/** Defaults and derived values: corosync's formulas (reference §1.3 worked examples) and corolink's deviations. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  buildModel,
  DEFAULT_BURST_HOLD_MS,
  DEFAULT_FAILBACK_HOLD_MS,
  deriveEffective,
  type EffectiveConfig,
  FAST_PING_INTERVAL_MS,
  FAST_PING_TIMEOUT_MS,
  parseConfig,
} from '../../src/config/index.ts';

interface ConfigShape {
  nodes: number;
  totem?: string;
  iface?: string;
  quorum?: string;
  corolink?: string;
  system?: string;
}

function configText({ nodes, totem = '', iface = '', quorum = '', corolink, system }: ConfigShape): string {
  const nodeBlocks = Array.from(
    { length: nodes },
    (_, i) => `  node {\n    name: n${i + 1}\n    nodeid: ${i + 1}\n    ring0_addr: 198.18.10.${i + 1}\n  }\n`,
  ).join('');
  return [
    `totem {\n  version: 2\n  cluster_name: t\n${totem}  interface {\n    linknumber: 0\n${iface}  }\n}\n`,
    `nodelist {\n${nodeBlocks}}\n`,
    `quorum {\n  provider: corosync_votequorum\n${quorum}}\n`,
    corolink === undefined ? '' : `corolink {\n${corolink}}\n`,
    system === undefined ? '' : `system {\n${system}}\n`,
  ].join('');
}

function effectiveOf(shape: ConfigShape): EffectiveConfig {
  return deriveEffective(buildModel(parseConfig(configText(shape)).tree).config);
}

// nodes, token_coefficient, token, token_retransmit, hold, consensus, knet ping_timeout, knet ping_interval
const WORKED_EXAMPLES: [number, number | undefined, number, number, number, number, number, number][] = [
  [2, undefined, 3000, 714, 561, 3600, 1500, 750],
  [3, undefined, 3650, 869, 685, 4380, 1825, 912],
  [3, 125, 3125, 744, 585, 3750, 1562, 781],
  [5, undefined, 4950, 1178, 932, 5940, 2475, 1237],
  [8, undefined, 6900, 1642, 1303, 8280, 3450, 1725],
  [16, undefined, 12100, 2880, 2294, 14520, 6050, 3025],
  [16, 125, 4750, 1130, 894, 5700, 2375, 1187],
  [32, undefined, 22500, 5357, 4275, 27000, 11250, 5625],
];

describe('derived totem values match corosync', () => {
  for (const [nodes, coefficient, token, retransmit, hold, consensus, pingTimeout, pingInterval] of WORKED_EXAMPLES) {
    test(`${nodes} nodes, token_coefficient ${coefficient ?? 'default'}`, () => {
      const totem = coefficient === undefined ? '' : `  token_coefficient: ${coefficient}\n`;
      const effective = effectiveOf({ nodes, totem, corolink: '  ping_profile: corosync\n' });
      assert.equal(effective.totem.tokenMs, token);
      assert.equal(effective.totem.tokenRetransmitMs, retransmit);
      assert.equal(effective.totem.holdMs, hold);
      assert.equal(effective.totem.consensusMs, consensus);
      const [link] = effective.links;
      assert.equal(link?.pingTimeoutMs, pingTimeout);
      assert.equal(link?.pingIntervalMs, pingInterval);
      assert.deepEqual(link?.corosync, { pingTimeoutMs: pingTimeout, pingIntervalMs: pingInterval, pongCount: 2 });
    });
  }

  test('other totem defaults', () => {
    const { totem } = effectiveOf({ nodes: 3 });
    assert.deepEqual([totem.joinMs, totem.mergeMs, totem.downCheckMs, totem.failToRecvConst], [50, 200, 1000, 2500]);
    assert.deepEqual(
      [totem.maxMessages, totem.windowSize, totem.transport, totem.linkMode],
      [17, 50, 'knet', 'passive'],
    );
  });

  test('explicit totem values win over derivations', () => {
    const { totem } = effectiveOf({ nodes: 3, totem: '  token: 1000\n  consensus: 5000\n  token_retransmit: 100\n' });
    assert.equal(totem.tokenMs, 1650);
    assert.equal(totem.consensusMs, 5000);
    assert.equal(totem.tokenRetransmitMs, 100);
    assert.equal(totem.holdMs, 70);
  });
});

describe('corolink token hold', () => {
  test('the representative holds the token at its first idle arrival (corosync: after 30)', () => {
    assert.equal(effectiveOf({ nodes: 3 }).totem.seqnoUnchangedConst, 0);
  });

  test("an explicit seqno_unchanged_const wins (30 restores corosync's hold)", () => {
    assert.equal(effectiveOf({ nodes: 3, totem: '  seqno_unchanged_const: 30\n' }).totem.seqnoUnchangedConst, 30);
  });
});

describe('corolink join interval', () => {
  test('50 ms up to 8 nodes, 50 ms more per 8 nodes above (a 32-node ring re-sends its JOINs every 200 ms)', () => {
    const joins = [1, 3, 8, 9, 16, 17, 32].map((nodes) => effectiveOf({ nodes }).totem.joinMs);
    assert.deepEqual(joins, [50, 50, 50, 100, 100, 150, 200]);
  });

  test('an explicit join wins; the derived one never exceeds the consensus timeout', () => {
    assert.equal(effectiveOf({ nodes: 32, totem: '  join: 60\n' }).totem.joinMs, 60);
    const capped = effectiveOf({ nodes: 32, totem: '  consensus: 120\n' }).totem;
    assert.deepEqual([capped.joinMs, capped.consensusMs], [120, 120]);
  });
});

describe('corolink link timers', () => {
  test('lean profile by default: corosync timeout, a quiet link pinged 4 times per timeout; corosync values alongside', () => {
    const effective = effectiveOf({ nodes: 3 });
    assert.equal(effective.pingProfile, 'lean');
    const [link] = effective.links;
    assert.equal(link?.pingTimeoutMs, 1825);
    assert.equal(link?.pingIntervalMs, 456);
    assert.equal(link?.pongCount, 2);
    assert.deepEqual(link?.corosync, { pingIntervalMs: 912, pingTimeoutMs: 1825, pongCount: 2 });
  });

  test('lean timers follow the effective token: token / 2 ms, pinged every timeout / 4', () => {
    const cases = [
      { nodes: 2, totem: '', timeout: 1500, interval: 375 },
      { nodes: 3, totem: '', timeout: 1825, interval: 456 },
      { nodes: 16, totem: '', timeout: 6050, interval: 1512 },
      { nodes: 32, totem: '', timeout: 11250, interval: 2812 },
      { nodes: 32, totem: '  token_coefficient: 125\n', timeout: 3375, interval: 843 },
    ];
    for (const c of cases) {
      const [link] = effectiveOf({ nodes: c.nodes, totem: c.totem }).links;
      assert.deepEqual(
        [link?.pingTimeoutMs, link?.pingIntervalMs, link?.corosync.pingTimeoutMs],
        [c.timeout, c.interval, c.timeout],
        `${c.nodes} nodes ${c.totem}`,
      );
    }
    const [explicitTimeout] = effectiveOf({ nodes: 3, iface: '    knet_ping_timeout: 400\n' }).links;
    assert.deepEqual([explicitTimeout?.pingTimeoutMs, explicitTimeout?.pingIntervalMs], [400, 100]);
  });

  test('fast timers (ping_profile: fast) follow the effective token: max(250, token / 16) ms, pinged every timeout / 5', () => {
    const fast = '  ping_profile: fast\n';
    const cases = [
      { nodes: 2, totem: '', timeout: 250, interval: 50 },
      { nodes: 3, totem: '', timeout: FAST_PING_TIMEOUT_MS, interval: FAST_PING_INTERVAL_MS },
      { nodes: 16, totem: '', timeout: 756, interval: 151 },
      { nodes: 32, totem: '', timeout: 1406, interval: 281 },
      { nodes: 32, totem: '  token_coefficient: 125\n', timeout: 421, interval: 84 },
    ];
    for (const c of cases) {
      const effective = effectiveOf({ nodes: c.nodes, totem: c.totem, corolink: fast });
      assert.equal(effective.pingProfile, 'fast');
      const [link] = effective.links;
      assert.deepEqual(
        [link?.pingTimeoutMs, link?.pingIntervalMs, link?.pongCount],
        [c.timeout, c.interval, 2],
        `${c.nodes} nodes ${c.totem}`,
      );
    }
    const [explicitTimeout] = effectiveOf({ nodes: 3, iface: '    knet_ping_timeout: 400\n', corolink: fast }).links;
    assert.deepEqual([explicitTimeout?.pingTimeoutMs, explicitTimeout?.pingIntervalMs], [400, 80]);
  });

  test('explicit keys win in every profile; an unset partner is derived on its own', () => {
    const derivedTimeoutMs = { lean: 1500, fast: FAST_PING_TIMEOUT_MS, corosync: 1500 };
    for (const [profile, timeoutMs] of Object.entries(derivedTimeoutMs)) {
      const [link] = effectiveOf({
        nodes: 2,
        iface: '    knet_ping_interval: 100\n',
        corolink: `  ping_profile: ${profile}\n`,
      }).links;
      assert.equal(link?.pingIntervalMs, 100, profile);
      assert.equal(link?.pingTimeoutMs, timeoutMs, profile);
      const [both] = effectiveOf({
        nodes: 2,
        iface: '    knet_ping_interval: 30\n    knet_ping_timeout: 90\n    knet_pong_count: 3\n',
        corolink: `  ping_profile: ${profile}\n`,
      }).links;
      assert.deepEqual([both?.pingIntervalMs, both?.pingTimeoutMs, both?.pongCount], [30, 90, 3], profile);
    }
  });

  test('pong_count changes corosync derivation', () => {
    const [link] = effectiveOf({ nodes: 2, iface: '    knet_pong_count: 3\n' }).links;
    assert.equal(link?.pongCount, 3);
    assert.deepEqual(link?.corosync, { pingTimeoutMs: 1000, pingIntervalMs: 500, pongCount: 3 });
  });

  test('priority 0 counts as 1, mcastport is 5405 + link, failback hold defaults to 2000 ms, burst hold to 1 ms', () => {
    const effective = effectiveOf({ nodes: 2, iface: '    knet_link_priority: 0\n' });
    assert.equal(effective.links[0]?.priority, 1);
    assert.equal(effective.links[0]?.mcastport, 5405);
    assert.equal(effective.failbackHoldMs, DEFAULT_FAILBACK_HOLD_MS);
    assert.equal(effectiveOf({ nodes: 2, corolink: '  failback_hold: 500\n' }).failbackHoldMs, 500);
    assert.equal(effective.burstHoldMs, DEFAULT_BURST_HOLD_MS);
    assert.equal(effectiveOf({ nodes: 2, corolink: '  burst_hold: 0\n' }).burstHoldMs, 0);
  });
});

describe('quorum and crypto', () => {
  test('two_node implies wait_for_all and a quorum of one vote', () => {
    const { quorum } = effectiveOf({ nodes: 2, quorum: '  two_node: 1\n' });
    assert.deepEqual([quorum.twoNode, quorum.waitForAll, quorum.quorumVotes, quorum.expectedVotes], [true, true, 1, 2]);
  });

  test('expected votes default to the nodelist total; quorum is a majority', () => {
    const { quorum } = effectiveOf({ nodes: 5 });
    assert.deepEqual([quorum.expectedVotes, quorum.quorumVotes, quorum.waitForAll], [5, 3, false]);
  });

  test('secauth on means aes256/sha256 unless crypto keys say otherwise', () => {
    assert.deepEqual(
      [effectiveOf({ nodes: 2, totem: '  secauth: on\n' }).crypto.cipher, effectiveOf({ nodes: 2 }).crypto.cipher],
      ['aes256', 'none'],
    );
    const explicit = effectiveOf({ nodes: 2, totem: '  secauth: on\n  crypto_hash: sha512\n' }).crypto;
    assert.deepEqual([explicit.cipher, explicit.hash], ['aes256', 'sha512']);
  });
});

describe('system { sched_rr priority }', () => {
  test('SCHED_RR by default, as corosync; priority max, min or a nice value', () => {
    const scheduling = (system?: string) =>
      effectiveOf({ nodes: 2, ...(system === undefined ? {} : { system }) }).scheduling;
    assert.deepEqual(scheduling(), { schedRr: true, nice: null });
    assert.deepEqual(scheduling('  sched_rr: no\n  priority: max\n'), { schedRr: false, nice: -20 });
    assert.deepEqual(scheduling('  sched_rr: no\n  priority: min\n'), { schedRr: false, nice: 19 });
    assert.deepEqual(scheduling('  priority: -5\n'), { schedRr: true, nice: -5 });
  });
});
