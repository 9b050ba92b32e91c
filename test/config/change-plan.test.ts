/** planConfigChange: every rule of docs/config.md "Changing the configuration of a running cluster", with its message. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  bumpConfigVersion,
  type ClusterSpec,
  type ConfigChangePlan,
  checkConfigText,
  clusterConfigText,
  type GeneratedNode,
  parseConfig,
  planConfigChange,
  printConfig,
} from '../../src/config/index.ts';
import { mutate, VALID_CONFIG } from './helpers.ts';

const SEED = Number(process.env.FC_SEED ?? 20_261_124);

/** VALID_CONFIG (3 nodes a/b/c, links 0 and 1) with config_version 2 and the given edits. */
function next(...edits: [string, string][]): string {
  return edits.reduce((text, [from, to]) => mutate(from, to, text), mutate('config_version: 1', 'config_version: 2'));
}

function plan(nextText: string, options: { force?: boolean; current?: string } = {}): ConfigChangePlan {
  return planConfigChange(
    checkConfigText(options.current ?? VALID_CONFIG, 'current.conf'),
    checkConfigText(nextText, 'new.conf'),
    options,
  );
}

/** The one change of `key`, failing when there is none. */
function changeOf(result: ConfigChangePlan, key: string) {
  const change = result.changes.find((c) => c.key === key);
  assert.ok(change, `no change of ${key} in ${JSON.stringify(result.changes.map((c) => c.key))}`);
  return change;
}

/** A 3-node cluster of `clusterConfigText`: node i has 198.18.{10,20,30}.i on links 0, 1, 2. */
function nodes(count: number, links: readonly number[], votes = 1): GeneratedNode[] {
  return Array.from({ length: count }, (_, k) => ({
    nodeid: k + 1,
    name: `n${k + 1}`,
    votes,
    addresses: Object.fromEntries(links.map((link) => [link, `198.18.${10 * (link + 1)}.${k + 1}`])),
  }));
}

function spec(overrides: Partial<ClusterSpec> = {}): ClusterSpec {
  return {
    clusterName: 'demo',
    linkMode: 'passive',
    links: [{ link: 0 }, { link: 1 }],
    nodes: nodes(3, [0, 1]),
    ...overrides,
  };
}

function planSpecs(from: Partial<ClusterSpec>, to: Partial<ClusterSpec>, force = false): ConfigChangePlan {
  return planConfigChange(
    checkConfigText(clusterConfigText(spec({ configVersion: 1, ...from })), 'current.conf'),
    checkConfigText(clusterConfigText(spec({ configVersion: 2, ...to })), 'new.conf'),
    { force },
  );
}

describe('planConfigChange: validity and config_version', () => {
  test('only config_version bumped: ok, one live change', () => {
    const result = plan(next());
    assert.equal(result.ok, true);
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.changes, [
      {
        key: 'totem.config_version',
        from: '1',
        to: '2',
        effect: 'live',
        reason: 'the version of the config: it must grow with every change',
      },
    ]);
  });

  test('an invalid new file: its errors, as file:line:column', () => {
    const result = plan(next(['    nodeid: 2', '    nodeid: 1']));
    assert.equal(result.ok, false);
    assert.match(result.errors[0]!, /^new\.conf:24:13: error: nodeid 1 is used again/);
  });

  test('config_version must grow', () => {
    assert.deepEqual(plan(VALID_CONFIG).errors, ['config_version not increased (still 1)']);
    const current = mutate('config_version: 1', 'config_version: 7');
    assert.deepEqual(plan(next(), { current }).errors, ['config_version went backwards (7 → 2)']);
    // A missing config_version counts as 0, as in corosync.
    assert.deepEqual(plan(mutate('  config_version: 1\n', ''), { current }).errors, [
      'config_version went backwards (7 → 0)',
    ]);
  });
});

describe('planConfigChange: refused and restart keys', () => {
  test('cluster_name, ip_version, netmtu and crypto are refused, with the reason in the errors', () => {
    const result = plan(
      next(
        ['cluster_name: test', 'cluster_name: other\n  ip_version: ipv4\n  netmtu: 1500'],
        ['secauth: on', 'crypto_cipher: aes128\n  crypto_hash: sha256'],
      ),
    );
    assert.equal(result.ok, false);
    for (const key of ['totem.cluster_name', 'totem.ip_version', 'totem.netmtu', 'totem.crypto_cipher']) {
      assert.equal(changeOf(result, key).effect, 'refused', key);
    }
    // from/to are the written values (ip_version was not written before).
    assert.deepEqual(
      [changeOf(result, 'totem.ip_version').from, changeOf(result, 'totem.ip_version').to],
      [null, 'ipv4'],
    );
    assert.match(changeOf(result, 'totem.cluster_name').reason, /cluster's identity/);
    assert.ok(
      result.errors.includes(
        `totem.cluster_name cannot change on a running cluster (test → other): ${changeOf(result, 'totem.cluster_name').reason}`,
      ),
    );
  });

  test('writing out the same effective crypto (secauth → aes256/sha256) is no change', () => {
    const result = plan(next(['secauth: on', 'crypto_cipher: aes256\n  crypto_hash: sha256']));
    assert.equal(result.ok, true, result.errors.join('\n'));
    const secauth = changeOf(result, 'totem.secauth');
    assert.deepEqual([secauth.from, secauth.to, secauth.effect], ['yes', null, 'live']);
    assert.equal(secauth.reason, 'no effect: the effective value stays aes256/sha256');
  });

  test("a node's name (same id) and id (same name) are refused", () => {
    const result = plan(next(['    name: b', '    name: bee'], ['    nodeid: 3', '    nodeid: 30']));
    assert.equal(changeOf(result, 'nodelist.node.nodeid=2.name').effect, 'refused');
    const renumbered = changeOf(result, 'nodelist.node.name=c.nodeid');
    assert.deepEqual([renumbered.from, renumbered.to, renumbered.effect], ['3', '30', 'refused']);
    assert.match(renumbered.reason, /identity in Totem membership/);
    assert.equal(result.ok, false);
  });

  test('link_mode, a link port and the HTTP endpoint apply at the next restart', () => {
    const result = plan(
      next(
        ['link_mode: passive', 'link_mode: active'],
        ['    linknumber: 1\n', '    linknumber: 1\n    mcastport: 6000\n'],
        ['quorum {', 'corolink {\n  http_port: 8007\n}\n\nquorum {'],
      ),
    );
    assert.equal(result.ok, true, result.errors.join('\n'));
    assert.equal(changeOf(result, 'totem.link_mode').effect, 'restart');
    assert.equal(changeOf(result, 'totem.interface.linknumber=1.mcastport').effect, 'restart');
    assert.equal(changeOf(result, 'corolink.http_port').effect, 'restart');
  });

  test('link_mode with one link has no effect; adding the second link makes it take effect at restart', () => {
    const oneLink = spec({ links: [{ link: 0 }], nodes: nodes(3, [0]) });
    const noEffect = planSpecs(oneLink, { ...oneLink, linkMode: 'active' });
    assert.equal(changeOf(noEffect, 'totem.link_mode').effect, 'live');
    assert.match(changeOf(noEffect, 'totem.link_mode').reason, /^no effect: the effective value stays passive/);
    const takesEffect = planSpecs({ ...oneLink, linkMode: 'active' }, { linkMode: 'active' });
    const mode = changeOf(takesEffect, 'totem.link_mode');
    assert.deepEqual([mode.from, mode.to, mode.effect], ['passive', 'active', 'restart']);
  });
});

describe('planConfigChange: live changes', () => {
  test('link tuning, Totem timers and votes apply live; logging at the next restart; re-tuned links are listed', () => {
    const result = plan(
      next(
        ['link_mode: passive', 'link_mode: passive\n  token: 5000\n  consensus: 7000\n  join: 60'],
        ['    linknumber: 1\n', '    linknumber: 1\n    knet_link_priority: 20\n    knet_ping_interval: 40\n'],
        ['    nodeid: 3\n', '    nodeid: 3\n    quorum_votes: 2\n'],
        ['quorum {', 'logging {\n  debug: on\n}\n\nquorum {'],
        ['provider: corosync_votequorum', 'provider: corosync_votequorum\n  expected_votes: 4'],
      ),
    );
    assert.equal(result.ok, true, result.errors.join('\n'));
    for (const key of [
      'totem.interface.linknumber=1.knet_link_priority',
      'totem.interface.linknumber=1.knet_ping_interval',
      'totem.token',
      'totem.consensus',
      'totem.join',
      'nodelist.node.nodeid=3.quorum_votes',
      'quorum.expected_votes',
    ]) {
      assert.equal(changeOf(result, key).effect, 'live', key);
    }
    assert.equal(changeOf(result, 'logging.debug').effect, 'restart');
    // Link 1 by its own keys; link 0 because its fast-profile timers follow the new token (token / 16).
    assert.deepEqual(result.linksUpdated, [0, 1]);
    assert.deepEqual([result.linksAdded, result.linksRemoved], [[], []]);
  });

  test('adding and removing a node; adding and removing a link', () => {
    const added = planSpecs({}, { nodes: nodes(4, [0, 1]) });
    assert.equal(added.ok, true, added.errors.join('\n'));
    assert.deepEqual(added.nodesAdded, [4]);
    const node = changeOf(added, 'nodelist.node.nodeid=4');
    assert.deepEqual(
      [node.from, node.to, node.effect],
      [null, 'n4, 1 vote(s), link0 198.18.10.4, link1 198.18.20.4', 'live'],
    );
    const removed = planSpecs({ nodes: nodes(4, [0, 1]) }, {});
    assert.deepEqual([removed.ok, removed.nodesRemoved], [true, [4]]);
    assert.equal(changeOf(removed, 'nodelist.node.nodeid=4').effect, 'live');

    const withLink2 = { links: [{ link: 0 }, { link: 1 }, { link: 2 }], nodes: nodes(3, [0, 1, 2]) };
    const linkAdded = planSpecs({}, withLink2);
    assert.equal(linkAdded.ok, true, linkAdded.errors.join('\n'));
    assert.deepEqual(linkAdded.linksAdded, [2]);
    // The link is one change; its addresses are not listed node by node.
    assert.deepEqual(
      linkAdded.changes.map((c) => [c.key, c.to, c.effect]),
      [
        ['totem.config_version', '2', 'live'],
        ['totem.interface.linknumber=2', '198.18.30.1, 198.18.30.2, 198.18.30.3', 'live'],
      ],
    );
    const linkRemoved = planSpecs(withLink2, {});
    assert.deepEqual([linkRemoved.ok, linkRemoved.linksRemoved], [true, [2]]);
  });
});

describe('planConfigChange: a new link', () => {
  const withLink2 = (address: (node: number) => string) => {
    const list = nodes(3, [0, 1]).map((n) => ({ ...n, addresses: { ...n.addresses, 2: address(n.nodeid) } }));
    return { links: [{ link: 0 }, { link: 1 }, { link: 2 }], nodes: list };
  };

  test('every node needs an address on it (the validation error names the node)', () => {
    const result = plan(
      next(
        ['    linknumber: 1\n  }\n', '    linknumber: 1\n  }\n  interface {\n    linknumber: 2\n  }\n'],
        ['ring1_addr: 198.18.20.1', 'ring1_addr: 198.18.20.1\n    ring2_addr: 198.18.30.1'],
      ),
    );
    assert.equal(result.ok, false);
    assert.ok(result.errors.some((e) => /node 'b' has no ring2_addr, but link 2 is configured/.test(e)));
    assert.ok(result.errors.some((e) => /node 'c' has no ring2_addr/.test(e)));
  });

  test('its network must not be the network of another link', () => {
    const result = planSpecs(
      {},
      withLink2((id) => `198.18.10.${100 + id}`),
    );
    assert.equal(result.ok, false);
    assert.deepEqual(result.errors, [
      'the new link 2 shares the network 198.18.10.0/24 with link 0: a redundant link needs its own network (NIC and switch)',
    ]);
  });

  test('an address of another link is an error; addresses in several networks a warning', () => {
    const result = planSpecs(
      {},
      withLink2((id) => (id === 1 ? '198.18.20.1' : `198.18.3${id}.${id}`)),
    );
    assert.ok(result.errors.includes('address 198.18.20.1 is used on link 1 and on the new link 2'));
    assert.ok(
      result.warnings.includes(
        'the addresses of link 2 are in 3 networks (198.18.20.0/24, 198.18.32.0/24, 198.18.33.0/24); a link is normally one network',
      ),
    );
  });
});

describe('planConfigChange: safety (refused unless forced)', () => {
  test('removing the last link, or every link at once', () => {
    const only = { links: [{ link: 0 }], nodes: nodes(3, [0]) };
    const moved = planSpecs(only, { links: [{ link: 1 }], nodes: nodes(3, [1]) });
    assert.deepEqual(moved.errors, [
      'the change removes from the running cluster link 0, its only link: nodes that applied it and nodes that did not yet would share no link; add the new link first and remove the old one in a second change (override with force)',
    ]);
    const both = planSpecs({}, { links: [{ link: 2 }], nodes: nodes(3, [2]) });
    assert.match(both.errors[0]!, /^the change removes from the running cluster every link it has \(0, 1\)/);
  });

  test('a pair of nodes without a common link while the change rolls out', () => {
    const moved = nodes(3, [0, 1]).map((n) =>
      n.nodeid === 2 ? { ...n, addresses: { 0: '198.18.10.22', 1: '198.18.20.22' } } : n,
    );
    const result = planSpecs({}, { nodes: moved });
    assert.deepEqual(result.errors, [
      'nodes n1–n2, n2–n3 would share no link while the change rolls out (each of their common links is removed or gets a new address); change one link at a time (override with force)',
    ]);
    // One link at a time is fine.
    const oneLink = nodes(3, [0, 1]).map((n) =>
      n.nodeid === 2 ? { ...n, addresses: { ...n.addresses, 1: '198.18.20.22' } } : n,
    );
    const step = planSpecs({}, { nodes: oneLink });
    assert.equal(step.ok, true, step.errors.join('\n'));
    assert.deepEqual(step.linksUpdated, [1]);
    assert.equal(changeOf(step, 'nodelist.node.nodeid=2.ring1_addr').effect, 'restart');
  });

  test('quorum unreachable with the configured nodes', () => {
    const result = planSpecs({}, { quorumExtra: { expected_votes: 9 } });
    assert.deepEqual(result.errors, [
      'quorum would be unreachable: expected_votes 9 needs 5 votes, the 3 configured node(s) have 3 (override with force)',
    ]);
  });

  test('removing so many nodes that the rest is below the running quorum', () => {
    const result = planSpecs({ nodes: nodes(5, [0, 1]) }, { nodes: nodes(2, [0, 1]) });
    assert.deepEqual(result.errors, [
      'the nodes that stay have 2 vote(s), fewer than the 3 the running cluster needs for quorum (expected_votes 5): they lose quorum before the change reaches them; remove fewer nodes or votes at a time (override with force)',
    ]);
    assert.equal(planSpecs({ nodes: nodes(5, [0, 1]) }, { nodes: nodes(3, [0, 1]) }).ok, true);
  });

  test('adding nodes that outvote the running ones is a warning', () => {
    const result = planSpecs({ nodes: nodes(1, [0, 1]) }, { nodes: nodes(2, [0, 1]) });
    assert.equal(result.ok, true);
    assert.ok(
      result.warnings.includes(
        'until the added nodes join, the running nodes have 1 of the 2 votes the new config needs for quorum: the cluster is not quorate in between',
      ),
    );
  });

  test('force turns the safety refusals into warnings, never a refused key or an invalid file', () => {
    const forced = planSpecs({ nodes: nodes(5, [0, 1]) }, { nodes: nodes(2, [0, 1]) }, true);
    assert.equal(forced.ok, true);
    assert.match(forced.warnings.at(-1)!, /^forced: the nodes that stay have 2 vote\(s\)/);
    assert.equal(planSpecs({}, { clusterName: 'other' }, true).ok, false);
    assert.equal(plan(next(['    nodeid: 2', '    nodeid: 1']), { force: true }).ok, false);
  });
});

describe('planConfigChange: property', () => {
  const clusterSpec: fc.Arbitrary<ClusterSpec> = fc
    .record({
      links: fc.uniqueArray(fc.integer({ min: 0, max: 7 }), { minLength: 1, maxLength: 3 }),
      ids: fc.uniqueArray(fc.integer({ min: 1, max: 4096 }), { minLength: 1, maxLength: 6 }),
      votes: fc.integer({ min: 1, max: 3 }),
      priority: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
      linkMode: fc.constantFrom('passive' as const, 'active' as const, 'rr' as const),
      token: fc.option(fc.integer({ min: 1000, max: 10_000 }), { nil: undefined }),
      configVersion: fc.integer({ min: 0, max: 1_000_000 }),
    })
    .map(({ links, ids, votes, priority, linkMode, token, configVersion }) => ({
      clusterName: 'prop',
      linkMode,
      configVersion,
      links: links.map((link) => ({ link, ...(priority === undefined ? {} : { priority }) })),
      nodes: ids.map((nodeid, index) => ({
        nodeid,
        name: `n${nodeid}`,
        votes,
        addresses: Object.fromEntries(links.map((link) => [link, `198.18.${10 * (link + 1)}.${index + 1}`])),
      })),
      ...(token === undefined ? {} : { totemExtra: { token } }),
    }));

  test('a config against itself with only config_version bumped: ok, the bump is the only change, live', () => {
    fc.assert(
      fc.property(clusterSpec, (cluster) => {
        const text = clusterConfigText(cluster);
        const { tree } = parseConfig(text, 'bumped.conf');
        bumpConfigVersion(tree);
        const result = planConfigChange(
          checkConfigText(text, 'current.conf'),
          checkConfigText(printConfig(tree), 'bumped.conf'),
        );
        assert.equal(result.ok, true, result.errors.join('\n'));
        assert.deepEqual(
          result.changes.map((c) => [c.key, c.from, c.to, c.effect]),
          [['totem.config_version', String(cluster.configVersion), String(cluster.configVersion! + 1), 'live']],
        );
        assert.deepEqual(
          [result.linksAdded, result.linksRemoved, result.linksUpdated, result.nodesAdded, result.nodesRemoved],
          [[], [], [], [], []],
        );
      }),
      { seed: SEED, numRuns: 150 },
    );
  });
});
