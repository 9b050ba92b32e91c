// `corolink cmap` (corosync-cmapctl) and `corolink kill` (corosync-cfgtool -k) against three real daemons on
// loopback with two links: the keys come from the running config and the live counters; a kill goes through the
// ring and the named node leaves.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Value } from 'typebox/value';
import { type CmapEntry, type CmapV1, CmapV1Schema } from '../../src/ipc/schema.ts';
import { LocalCluster } from '../../src/lab/local-cluster.ts';
import { runCli } from './run-cli.ts';

const FIRST_HOST = 131;
/** A line of corosync-cmapctl: `key (type) = value`. */
const CMAP_LINE = /^[a-z0-9_.]+ \((u8|u16|u32|u64|i32|str)\) = .*$/;

describe('corolink cmap and corolink kill on a 3-node loopback cluster', () => {
  let cluster: LocalCluster;

  const cli = (nodeid: number, ...args: string[]) => runCli([...args, '--socket', cluster.node(nodeid).socket]);

  async function cmap(nodeid: number, prefix = ''): Promise<Map<string, CmapEntry>> {
    const run = await cli(nodeid, 'cmap', prefix, '--json');
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as CmapV1;
    assert.ok(Value.Check(CmapV1Schema, result), JSON.stringify([...Value.Errors(CmapV1Schema, result)].slice(0, 3)));
    return new Map(result.keys.map((e) => [e.key, e]));
  }

  const value = (keys: Map<string, CmapEntry>, key: string) => {
    assert.ok(keys.has(key), `key ${key} is there`);
    return keys.get(key)!.value;
  };

  /** Polls one key through the client library until `holds` (bounded); true when it did. */
  async function keyBecomes(nodeid: number, key: string, holds: (value: number) => boolean): Promise<boolean> {
    const client = await cluster.client(nodeid);
    try {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const { keys } = await client.cmap({ key });
        if (holds(keys[0]!.value as number)) return true;
        if (Date.now() >= deadline) return false;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      client.close();
    }
  }

  before(async () => {
    cluster = await LocalCluster.start({ nodes: 3, links: 2, firstHost: FIRST_HOST, basePort: 38405 });
    await cluster.waitFor(
      (s) =>
        s.quorum.quorate &&
        s.members.length === 3 &&
        s.members.every((m) => m.local || m.links.every((l) => l.state === 'UP')),
    );
  });
  after(async () => {
    await cluster?.stop();
  });

  test('the running config, votequorum, members, totem, timings and services under corosync-cmapctl names', async () => {
    const keys = await cmap(1);
    const status = await cluster.status(1);
    assert.equal(keys.get('totem.cluster_name')?.type, 'str');
    assert.equal(value(keys, 'nodelist.node.0.nodeid'), 1);
    assert.equal(value(keys, 'nodelist.node.2.ring1_addr'), `127.0.20.${FIRST_HOST + 2}`);
    assert.deepEqual(keys.get('totem.config_version'), { key: 'totem.config_version', type: 'u64', value: 1 });
    assert.equal(value(keys, 'runtime.votequorum.this_node_id'), 1);
    assert.equal(value(keys, 'runtime.votequorum.quorate'), 1);
    assert.equal(value(keys, 'runtime.votequorum.expected_votes'), 3);
    assert.equal(value(keys, 'runtime.votequorum.two_node'), 0);
    for (const node of [1, 2, 3]) {
      assert.equal(value(keys, `runtime.members.${node}.status`), 'joined');
      assert.equal(value(keys, `runtime.members.${node}.join_count`), 1);
      assert.equal(
        value(keys, `runtime.members.${node}.ip`),
        `r(0) ip(127.0.10.${FIRST_HOST + node - 1}) r(1) ip(127.0.20.${FIRST_HOST + node - 1}) `,
      );
    }
    assert.equal(value(keys, 'runtime.totem.ring_id'), status.ring_id);
    assert.equal(value(keys, 'runtime.totem.members'), '1 2 3');
    assert.ok((value(keys, 'stats.srp.operational_entered') as number) >= 1);
    // 0 until this node saw the token twice: right after the ring formed it may still be 0.
    assert.ok(await keyBecomes(1, 'stats.srp.mtt_rx_token', (v) => v > 0), 'the token rotates');
    // 3 nodes: token 3000 + 1 × 650 (the reference system's runtime.config.totem values).
    assert.equal(value(keys, 'runtime.config.totem.token'), 3650);
    assert.equal(value(keys, 'runtime.config.totem.consensus'), 4380);
    for (const link of [0, 1]) {
      assert.ok((value(keys, `runtime.config.totem.interface.${link}.knet_ping_timeout`) as number) > 0);
    }
    assert.equal(value(keys, 'runtime.services.cpg.service_id'), 2);
    assert.equal(value(keys, 'runtime.services.cfg.service_id'), 7);
    assert.ok((value(keys, 'runtime.services.quorum.rx') as number) > 0, 'votequorum messages were delivered');
  });

  test('stats.knet.nodeN.linkM.* are the transport counters of every peer × link, and they move', async () => {
    const first = await cmap(1, 'stats.knet.');
    assert.equal([...first.keys()].filter((k) => k.startsWith('stats.knet.node1.')).length, 0, 'no stats to self');
    for (const node of [2, 3]) {
      for (const link of [0, 1]) {
        const p = `stats.knet.node${node}.link${link}.`;
        assert.equal(value(first, `${p}connected`), 1);
        assert.equal(value(first, `${p}enabled`), 1);
        assert.ok((value(first, `${p}up_count`) as number) >= 1);
        assert.ok((value(first, `${p}rx_pong_packets`) as number) > 0);
        assert.ok((value(first, `${p}latency_ave`) as number) > 0, 'latency in µs');
      }
    }
    const links = JSON.parse((await cli(1, 'links', '--json')).stdout) as {
      peers: { nodeid: number; link: number; down_count: number }[];
    };
    for (const peer of links.peers) {
      assert.equal(value(first, `stats.knet.node${peer.nodeid}.link${peer.link}.down_count`), peer.down_count);
    }
    const pongs = value(first, 'stats.knet.node2.link0.rx_pong_packets') as number;
    const later = await cmap(1, 'stats.knet.node2.link0');
    assert.ok([...later.keys()].every((k) => k.startsWith('stats.knet.node2.link0.')));
    assert.ok(await keyBecomes(1, 'stats.knet.node2.link0.rx_pong_packets', (v) => v > pongs), 'pongs keep coming');
  });

  test('text: corosync-cmapctl lines; -g one key; an unknown key is exit 1 with its name', async () => {
    const run = await cli(2, 'cmap', 'runtime.votequorum');
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trimEnd().split('\n');
    assert.ok(lines.length >= 8);
    for (const line of lines) assert.match(line, CMAP_LINE);
    assert.ok(lines.every((l) => l.startsWith('runtime.votequorum.')));
    assert.ok(lines.includes('runtime.votequorum.this_node_id (u32) = 2'), run.stdout);
    assert.ok(lines.includes('runtime.votequorum.quorate (u8) = 1'), run.stdout);

    const one = await cli(3, 'cmap', '-g', 'runtime.votequorum.this_node_id');
    assert.equal(one.code, 0, one.stderr);
    assert.equal(one.stdout, 'runtime.votequorum.this_node_id (u32) = 3\n');

    const missing = await cli(3, 'cmap', '-g', 'runtime.no.such.key');
    assert.equal(missing.code, 1);
    assert.equal(missing.stdout, '');
    assert.match(missing.stderr, /key runtime\.no\.such\.key does not exist/);
  });

  test('kill: an unknown node is refused by name and nothing happens', async () => {
    const run = await cli(1, 'kill', '99');
    assert.equal(run.code, 1);
    assert.match(run.stderr, /node 99 is not in the nodelist/);
    const byName = await cli(1, 'kill', 'n9');
    assert.equal(byName.code, 1);
    assert.match(byName.stderr, /no node named 'n9' in the nodelist \(1 n1, 2 n2, 3 n3\)/);
    const statuses = await cluster.waitFor((s) => s.members.length === 3);
    assert.equal(statuses.length, 3);
  });

  test('kill n3 from node 1: node 3 exits through the ring, the others see it leave; it rejoins, join_count 2', async () => {
    const daemon = cluster.node(3).process!;
    const exited = once(daemon, 'exit');
    const run = await cli(1, 'kill', 'n3');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'asked node 3 to leave the cluster and exit\n');
    const [code] = await exited;
    assert.equal(code, 0, 'the daemon leaves as on SIGTERM');
    cluster.node(3).process = undefined;
    await cluster.waitFor((s) => s.quorum.quorate && s.members.length === 2, { nodes: [1, 2] });
    assert.match(
      readFileSync(cluster.node(3).logFile, 'utf8'),
      /\[CFG {3}\] Killed by node 1: corolink kill 3 on node 1/,
    );
    assert.match(readFileSync(cluster.node(2).logFile, 'utf8'), /node 1 asked node 3 to shut down/);
    const keys = await cmap(1, 'runtime.members.3.');
    assert.equal(value(keys, 'runtime.members.3.status'), 'left');
    const refused = await cli(1, 'kill', '3');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /node 3 is not a member of the current membership/);

    await cluster.restart(3);
    await cluster.waitForQuorateMembership(3);
    const rejoined = await cmap(1, 'runtime.members.3.');
    assert.equal(value(rejoined, 'runtime.members.3.status'), 'joined');
    assert.equal(value(rejoined, 'runtime.members.3.join_count'), 2);
  });
});
