// Live reconfiguration on a 3-node loopback cluster started with link0 only: the cluster config lives in the
// replicated store, `corolink link add|priority|remove` change it through the checked flow, every node applies the
// committed version live; refusals change nothing.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ConfigProposal } from '../../src/client/config.ts';
import type { StatusV1 } from '../../src/ipc/schema.ts';
import { CpgStream } from '../../src/lab/cpg-stream.ts';
import { LocalCluster } from '../../src/lab/local-cluster.ts';
import { type CliRun, runCli } from './run-cli.ts';

const FIRST_HOST = 181;
const STREAM_INTERVAL_MS = 20;
const SETTLE_TIMEOUT_MS = 20_000;

function cliWithEnv(
  env: Record<string, string>,
  cluster: LocalCluster,
  nodeid: number,
  ...args: string[]
): Promise<CliRun> {
  return runCli([...args, '--socket', cluster.node(nodeid).socket], env);
}

const cli = (cluster: LocalCluster, nodeid: number, ...args: string[]) => cliWithEnv({}, cluster, nodeid, ...args);

/** `--addr nN=127.0.<subnet>.<host>` for every node. */
function addrFlags(cluster: LocalCluster, subnet: number, except?: number): string[] {
  return cluster.nodes
    .filter((n) => n.nodeid !== except)
    .flatMap((n) => ['--addr', `${n.name}=127.0.${subnet}.${FIRST_HOST + n.nodeid - 1}`]);
}

const linkUpEverywhere = (link: number) => (s: StatusV1) =>
  s.quorum.quorate &&
  s.members.length === 3 &&
  s.members.every((m) => m.links.find((l) => l.link === link)?.state === 'UP');

describe('live reconfiguration of a running 3-node cluster', () => {
  let cluster: LocalCluster;
  let stream: CpgStream;
  let ringId: string | null;
  /** Just before the first change: version 1 is older, every later version newer. */
  let firstChangeAt = 0;

  /** Every node's config_version and the cluster config text of node 1. */
  async function versions(): Promise<number[]> {
    const statuses = await Promise.all([1, 2, 3].map((n) => cluster.status(n)));
    return statuses.map((s) => s.cluster.config_version);
  }

  async function configText(): Promise<string> {
    const client = await cluster.client(1);
    try {
      return (await client.configGet()).text;
    } finally {
      client.close();
    }
  }

  before(async () => {
    cluster = await LocalCluster.start({ nodes: 3, links: 1, firstHost: FIRST_HOST, basePort: 36405 });
    await cluster.waitFor(linkUpEverywhere(0), { timeoutMs: SETTLE_TIMEOUT_MS });
    ringId = (await cluster.status(1)).ring_id;
    stream = await CpgStream.open(new Map(cluster.nodes.map((n) => [n.nodeid, n.socket])), 'reconfigure');
    stream.start([1, 2, 3], STREAM_INTERVAL_MS);
  });
  after(async () => {
    await stream?.stop().catch(() => {});
    await cluster?.stop();
  });

  test('refused: a new link without an address for every node; nothing changes', async () => {
    const before = await configText();
    const run = await cli(cluster, 1, 'link', 'add', '1', ...addrFlags(cluster, 20, 3), '--yes');
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /no address given for node 'n3' on link 1/);
    assert.equal(await configText(), before);
    assert.deepEqual(await versions(), [1, 1, 1]);
  });

  test('refused: a new link on the network of link0; nothing changes', async () => {
    const before = await configText();
    const sameNetwork = cluster.nodes.flatMap((n) => ['--addr', `${n.name}=127.0.10.${FIRST_HOST + 10 + n.nodeid}`]);
    const run = await cli(cluster, 1, 'link', 'add', '1', ...sameNetwork, '--yes');
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /refused: .*127\.0\.10\.0\/24/);
    assert.equal(await configText(), before);
    assert.deepEqual(await versions(), [1, 1, 1]);
  });

  test('refused: a config_version that goes backwards, and writing corosync.conf around the plan', async () => {
    const client = await cluster.client(2);
    try {
      const { text } = await client.configGet();
      const backwards = text.replace(/config_version: \d+/, 'config_version: 0');
      const proposal = await client.configPropose(backwards);
      assert.equal(proposal.plan.ok, false);
      assert.equal(proposal.applied, false);
      assert.match(proposal.plan.errors.join('\n'), /config_version went backwards \(1 → 0\)/);
      await assert.rejects(client.cfsPut('corosync.conf', text), /change it with corolink config apply/);
    } finally {
      client.close();
    }
    assert.deepEqual(await versions(), [1, 1, 1]);
  });

  test('refused: the pre-flight probe finds an address a node cannot listen on; nothing changes', async () => {
    // Node 3's new address and port are taken by another socket: its probe cannot bind, so the link could not work.
    const squatter = createSocket('udp4');
    await new Promise<void>((resolve) => squatter.bind(5406, `127.0.20.${FIRST_HOST + 2}`, resolve));
    try {
      const before = await configText();
      const run = await cli(cluster, 1, 'link', 'add', '1', ...addrFlags(cluster, 20), '--yes');
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, /link 1: node 3: cannot bind 127\.0\.20\.183:5406 \(EADDRINUSE\)/);
      // What the probe found is printed before the refusal: the pair that works, the node that could not listen.
      assert.match(run.stdout, /n1 \(127\.0\.20\.181\) ↔ n2 \(127\.0\.20\.182\): reachable, rtt \d+\.\d{3} ms/);
      assert.match(run.stdout, /n1 \(127\.0\.20\.181\) ↔ n3 \(127\.0\.20\.183\): NOT reachable \(either way\)/);
      assert.match(run.stdout, /^ {2}n3 \(127\.0\.20\.183\): cannot bind 127\.0\.20\.183:5406 \(EADDRINUSE\)$/m);
      assert.equal(await configText(), before);
      assert.deepEqual(await versions(), [1, 1, 1]);
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
  });

  test('--dry-run shows the diff and the plan and changes nothing', async () => {
    const run = await cli(cluster, 1, 'link', 'add', '1', ...addrFlags(cluster, 20), '--dry-run');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /\+\s*ring1_addr: 127\.0\.20\.181/);
    assert.match(run.stdout, /live/);
    assert.match(run.stdout, /^Reachability probe of link 1 \(UDP port 5406\):$/m);
    for (const [a, b] of [
      [1, 2],
      [1, 3],
      [2, 3],
    ] as const) {
      const pair = `n${a} \\(127\\.0\\.20\\.${180 + a}\\) ↔ n${b} \\(127\\.0\\.20\\.${180 + b}\\)`;
      assert.match(run.stdout, new RegExp(`^ {2}${pair}: reachable, rtt \\d+\\.\\d{3} ms$`, 'm'));
    }
    const json = await cli(cluster, 1, 'link', 'add', '1', ...addrFlags(cluster, 20), '--dry-run', '--json');
    assert.equal(json.code, 0, json.stderr);
    const [probe] = (JSON.parse(json.stdout) as ConfigProposal).probe;
    assert.equal(probe?.link, 1);
    assert.deepEqual(
      probe?.nodes.map((n) => [n.nodeid, n.address, n.error]),
      [1, 2, 3].map((n) => [n, `127.0.20.${180 + n}`, null]),
    );
    assert.deepEqual(
      probe?.pairs.map((p) => [p.nodeid, p.peer, p.reachable, p.failed, typeof p.rtt_ms]),
      [
        [1, 2, true, null, 'number'],
        [1, 3, true, null, 'number'],
        [2, 3, true, null, 'number'],
      ],
    );
    assert.deepEqual(await versions(), [1, 1, 1]);
  });

  test('link add 1: every node opens link1 live, config_version 2, no membership change, stream intact', async () => {
    firstChangeAt = Date.now();
    const run = await cli(cluster, 1, 'link', 'add', '1', ...addrFlags(cluster, 20), '--yes');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /config_version 1 → 2: applied/);
    assert.match(run.stdout, /n2 link1: UP/);
    assert.match(run.stdout, /n2 \(127\.0\.20\.182\) ↔ n3 \(127\.0\.20\.183\): reachable, rtt/);
    const statuses = await cluster.waitFor(
      (s) => linkUpEverywhere(0)(s) && linkUpEverywhere(1)(s) && s.cluster.config_version === 2,
      { timeoutMs: SETTLE_TIMEOUT_MS },
    );
    assert.deepEqual(
      statuses.map((s) => s.ring_id),
      [ringId, ringId, ringId],
      'no configuration change of the membership',
    );
    assert.match(await configText(), /ring1_addr: 127\.0\.20\.183/);
  });

  test('with link1 in place, disabling link0 on node 3 keeps the cluster quorate and the stream flowing', async () => {
    const client = await cluster.client(3);
    try {
      await client.setLinkEnabled(0, false);
      await cluster.waitFor((s) => s.quorum.quorate && s.members.length === 3, { timeoutMs: SETTLE_TIMEOUT_MS });
      assert.ok(await stream.progress([1, 2, 3], 20, SETTLE_TIMEOUT_MS), 'the stream keeps flowing on link1');
      await client.setLinkEnabled(0, true);
    } finally {
      client.close();
    }
    await cluster.waitFor(linkUpEverywhere(0), { timeoutMs: SETTLE_TIMEOUT_MS });
  });

  test('link priority and link remove apply live everywhere', async () => {
    const priority = await cli(cluster, 2, 'link', 'priority', '1', '20', '--yes');
    assert.equal(priority.code, 0, priority.stderr);
    await cluster.waitFor((s) => s.cluster.config_version === 3, { timeoutMs: SETTLE_TIMEOUT_MS });
    assert.match(await configText(), /knet_link_priority: 20/);
    const removed = await cli(cluster, 3, 'link', 'remove', '1', '--yes');
    assert.equal(removed.code, 0, removed.stderr);
    const statuses = await cluster.waitFor(
      (s) => s.cluster.config_version === 4 && s.members.every((m) => m.links.every((l) => l.link === 0)),
      { timeoutMs: SETTLE_TIMEOUT_MS },
    );
    assert.deepEqual(
      statuses.map((s) => s.ring_id),
      [ringId, ringId, ringId],
    );
    const refused = await cli(cluster, 1, 'link', 'remove', '0', '--yes');
    assert.equal(refused.code, 1, 'removing the last link is refused');
    assert.deepEqual(await versions(), [4, 4, 4]);
    await stream.stop();
    const drained = await stream.drain([1, 2, 3], [1, 2, 3], SETTLE_TIMEOUT_MS);
    assert.deepEqual(stream.problems({ senders: [1, 2, 3], on: [1, 2, 3] }).slice(0, 10), [], 'nothing lost');
    assert.ok(drained, 'every accepted message delivered');
    assert.deepEqual(stream.problems({ senders: [1, 2, 3], on: [1, 2, 3] }), [], 'every message once, one order');
  });

  test('config apply FILE: a forgotten config_version bump is made for the admin, and the file applies live', async () => {
    const file = join(cluster.dir, 'tuned.conf');
    const tuned = (await configText()).replace(
      /knet_link_priority: \d+(\n\s+linknumber: 0\n)/,
      'knet_link_priority: 7$1',
    );
    assert.match(tuned, /knet_link_priority: 7/);
    writeFileSync(file, tuned);
    const run = await cli(cluster, 2, 'config', 'apply', file, '--yes');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /config_version was not raised; set to 5/);
    await cluster.waitFor((s) => s.cluster.config_version === 5, { timeoutMs: SETTLE_TIMEOUT_MS });
    assert.match(await configText(), /knet_link_priority: 7/);
  });

  test('config edit: the edited file is checked, its forgotten config_version bump made, and applied', async () => {
    const unchanged = await cliWithEnv({ EDITOR: 'true', VISUAL: '' }, cluster, 1, 'config', 'edit', '--yes');
    assert.equal(unchanged.code, 0, unchanged.stderr);
    assert.match(unchanged.stderr, /no change: nothing applied/);
    const editor = "sed -i 's/knet_link_priority: 7/knet_link_priority: 8/'";
    const run = await cliWithEnv({ EDITOR: editor, VISUAL: '' }, cluster, 3, 'config', 'edit', '--yes');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /config_version was not raised; set to 6/);
    await cluster.waitFor((s) => s.cluster.config_version === 6, { timeoutMs: SETTLE_TIMEOUT_MS });
    assert.match(await configText(), /knet_link_priority: 8/);
  });

  test('config show: the running config through the daemon (no file needed), else the file, saying which', async () => {
    const missing = join(cluster.dir, 'no-such.conf');
    const running = await cliWithEnv({ COROLINK_CONFIG: missing }, cluster, 2, 'config', 'show');
    assert.equal(running.code, 0, running.stderr);
    assert.match(running.stdout, /config_version: 6\n/);
    assert.match(running.stderr, /^corolink: the running config \(config_version 6\), from .*n2\.sock\n$/);
    const json = await cliWithEnv({ COROLINK_CONFIG: missing }, cluster, 2, 'config', 'show', '--json');
    assert.deepEqual((({ source, config_version }) => ({ source, config_version }))(JSON.parse(json.stdout)), {
      source: 'daemon',
      config_version: 6,
    });
    const noDaemon = await runCli(['config', 'show', '--socket', missing], { COROLINK_CONFIG: cluster.configPath });
    assert.equal(noDaemon.code, 0, noDaemon.stderr);
    assert.equal(noDaemon.stderr, `corolink: no daemon at ${missing}: the file ${cluster.configPath}\n`);
  });

  test('config history lists every version; rollback applies an earlier one as a new version', async () => {
    const history = await cli(cluster, 2, 'config', 'history', '--json');
    assert.equal(history.code, 0, history.stderr);
    const versions = JSON.parse(history.stdout) as { config_version: number; current: boolean; mtime: number }[];
    // Each version's time is when it was committed: version 1 came before the first change (not when it was archived).
    assert.ok(versions[0]!.mtime <= firstChangeAt, `version 1 at ${versions[0]!.mtime}, first change ${firstChangeAt}`);
    for (let i = 1; i < versions.length; i++) {
      assert.ok(versions[i - 1]!.mtime <= versions[i]!.mtime, `version ${i} not after version ${i + 1}`);
    }
    assert.deepEqual(
      versions.map((v) => [v.config_version, v.current]),
      [
        [1, false],
        [2, false],
        [3, false],
        [4, false],
        [5, false],
        [6, true],
      ],
    );
    const run = await cli(cluster, 2, 'config', 'rollback', '5', '--yes');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /config_version 6 → 7: applied/);
    await cluster.waitFor((s) => s.cluster.config_version === 7, { timeoutMs: SETTLE_TIMEOUT_MS });
    assert.match(await configText(), /knet_link_priority: 7/);
    const missing = await cli(cluster, 2, 'config', 'rollback', '99', '--yes');
    assert.equal(missing.code, 1, missing.stderr);
    assert.match(missing.stderr, /config_version 99 is not in the history/);
  });

  test('refused while not quorate: the store is read-only', async () => {
    await cluster.kill(2, 'SIGTERM');
    await cluster.kill(3, 'SIGTERM');
    await cluster.waitFor((s) => !s.quorum.quorate, { nodes: [1], timeoutMs: SETTLE_TIMEOUT_MS });
    const run = await cli(cluster, 1, 'link', 'priority', '0', '5', '--yes');
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /not quorate/);
    assert.deepEqual((await cluster.status(1)).cluster.config_version, 7);
  });
});
