// Adding and removing nodes on a running 3-node loopback cluster (issue 7): `corolink join-token` on a member,
// `corolink add` on the new node with that token, `corolink delnode`; wrong, expired and used tokens, duplicate
// names and addresses change nothing; a node that comes back with an older config is kept out of the membership
// until it has taken the cluster's config.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { JoinTokenInfo } from '../../src/client/config.ts';
import { formatJoinToken, parseJoinToken } from '../../src/daemon/join-protocol.ts';
import { LocalCluster } from '../../src/lab/local-cluster.ts';
import { fetchMetricSamples, sampleValue } from '../metrics-samples.ts';
import { type CliRun, runCli } from './run-cli.ts';

const FIRST_HOST = 191;
const BASE_PORT = 36505;
const HTTP_BASE_PORT = 36580;
const SETTLE_TIMEOUT_MS = 20_000;

const corolink = (...args: string[]) => runCli(args);

describe('join-token, add and delnode on a running cluster', () => {
  let cluster: LocalCluster;
  const n4 = { nodeid: 4, name: 'n4', addresses: { 0: `127.0.10.${FIRST_HOST + 3}` } };
  let n4Config: string;
  let n4Authkey: string;

  const socket = (nodeid: number) => cluster.node(nodeid).socket;
  const member = () => cluster.node(1).addresses[0]!;

  async function token(ttl = '1h'): Promise<JoinTokenInfo> {
    const run = await corolink('join-token', '--ttl', ttl, '--json', '--socket', socket(2));
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout) as JoinTokenInfo;
  }

  /** `corolink add` of n4 (or another name/address) with `token`. */
  function add(joinToken: string, overrides: { name?: string; link0?: string; force?: boolean } = {}): Promise<CliRun> {
    return corolink(
      'add',
      member(),
      '--link0',
      overrides.link0 ?? n4.addresses[0],
      '--name',
      overrides.name ?? n4.name,
      '--token',
      joinToken,
      '--config',
      n4Config,
      '--authkey',
      n4Authkey,
      ...(overrides.force ? ['--force'] : []),
    );
  }

  /** The value of the sample `name` with `labels` of node `nodeid`'s /metrics, or undefined. */
  async function metric(
    nodeid: number,
    name: string,
    labels: Record<string, string> = {},
  ): Promise<number | undefined> {
    return sampleValue(await fetchMetricSamples(cluster.node(nodeid).httpUrl!), name, labels);
  }

  async function versions(nodes = [1, 2, 3]): Promise<number[]> {
    return (await Promise.all(nodes.map((n) => cluster.status(n)))).map((s) => s.cluster.config_version);
  }

  before(async () => {
    cluster = await LocalCluster.start({
      nodes: 3,
      links: 1,
      firstHost: FIRST_HOST,
      basePort: BASE_PORT,
      httpBasePort: HTTP_BASE_PORT,
    });
    await cluster.waitForQuorateMembership(3);
    n4Config = join(cluster.dir, 'n4', 'corosync.conf');
    n4Authkey = join(cluster.dir, 'n4', 'authkey');
    // The store is seeded with the cluster config once the membership is whole.
    await cluster.waitFor((s) => s.cluster.config_version === 1);
  });

  after(async () => {
    await cluster?.stop();
  });

  test('a token file in the old format (it held the secret) is removed by the lowest member and logged', async () => {
    const path = 'join-tokens/0123456789abcdef.json';
    const old = { id: '0123456789abcdef', secretHex: 'ab'.repeat(32), expires: Date.now() + 3_600_000, createdBy: 2 };
    const client = await cluster.client(3);
    try {
      await client.cfsPut(path, JSON.stringify(old));
      const deadline = Date.now() + SETTLE_TIMEOUT_MS;
      while ((await client.cfsLs('join-tokens/')).some((e) => e.path === path)) {
        assert.ok(Date.now() < deadline, `${path} removed within ${SETTLE_TIMEOUT_MS} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const n1 = await cluster.client(1);
      const logs = (await n1.logs({ lines: 400 }).finally(() => n1.close())).map((l) => l.text);
      assert.ok(logs.some((t) => t.includes(`removed ${path}: a join token in an old or unknown format`)));
    } finally {
      await client.close();
    }
  });

  test('refusals: malformed, wrong, expired token, duplicate name and address — each clear, nothing changed', async () => {
    const valid = await token();
    assert.match(valid.token, /^corolink-join-1\./);
    assert.match(valid.fingerprint, /^SHA256:([0-9A-F]{2}:){15}[0-9A-F]{2}$/);

    const garbled = await add('corolink-join-1.not-a-token');
    assert.equal(garbled.code, 1);
    assert.match(garbled.stderr, /join refused: .*token/i);

    // The right token id with another secret: the member cannot authenticate it.
    const forged = formatJoinToken({ ...parseJoinToken(valid.token), secret: new Uint8Array(32).fill(7) });
    const wrong = await add(forged);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /authentication failed/);

    const short = await token('1s');
    const expiresAt = Date.parse(short.expires);
    await cluster.waitFor(() => Date.now() > expiresAt, { timeoutMs: 5000 });
    const expired = await add(short.token);
    assert.equal(expired.code, 1);
    assert.match(expired.stderr, /expired/);

    const duplicateName = await add(valid.token, { name: 'n2' });
    assert.equal(duplicateName.code, 1);
    assert.match(duplicateName.stderr, /a node named 'n2' is already in the cluster/);

    const duplicateAddress = await add(valid.token, { link0: cluster.node(3).addresses[0]! });
    assert.equal(duplicateAddress.code, 1);
    assert.match(duplicateAddress.stderr, /address 127\.0\.10\.\d+ is already used by node n3/);

    const otherNetwork = await add(valid.token, { link0: `127.0.99.${FIRST_HOST + 3}` });
    assert.equal(otherNetwork.code, 1);
    assert.match(otherNetwork.stderr, /is not on link 0's network/);

    assert.deepEqual(await versions(), [1, 1, 1], 'config_version unchanged everywhere');
    // Counted by the member that was asked (n1): the protocol's refusals and the service's.
    assert.equal(await metric(1, 'corolink_join_refused_total', { reason: 'auth_failed' }), 1);
    assert.equal(await metric(1, 'corolink_join_refused_total', { reason: 'expired' }), 1);
    assert.equal(await metric(1, 'corolink_join_refused_total', { reason: 'refused' }), 3);
    assert.equal(await metric(1, 'corolink_joins_total'), 0);
    assert.equal(existsSync(n4Config), false, 'nothing written on the joiner');
    assert.equal((await cluster.status(1)).nodes.length, 3, 'nodelist unchanged');
  });

  test('add: n4 joins with a token, gets config and authkey, and becomes a member; the token is used up', async () => {
    const created = await token();
    const run = await add(created.token);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /joined: this host is node n4 \(nodeid 4\)/);
    assert.deepEqual(readFileSync(n4Authkey), readFileSync(cluster.authkeyPath), 'the cluster authkey handed over');
    await cluster.waitFor((s) => s.cluster.config_version === 2 && s.nodes.length === 4, { nodes: [1, 2, 3] });
    assert.match(readFileSync(n4Config, 'utf8'), /name: n4/);

    await cluster.startJoined({ ...n4, configPath: n4Config, authkeyPath: n4Authkey });
    const statuses = await cluster.waitFor((s) => s.quorum.quorate && s.members.length === 4, {
      timeoutMs: SETTLE_TIMEOUT_MS,
    });
    assert.ok(statuses.every((s) => s.quorum.expected_votes === 4));

    const reused = await add(created.token, { name: 'n5', link0: `127.0.10.${FIRST_HOST + 4}`, force: true });
    assert.equal(reused.code, 1);
    assert.match(reused.stderr, /unknown or already used join token/);
    assert.deepEqual(readFileSync(n4Authkey), readFileSync(cluster.authkeyPath), "n4's files untouched");
    assert.deepEqual(await versions([1, 2, 3, 4]), [2, 2, 2, 2]);
    assert.equal(await metric(1, 'corolink_joins_total'), 1);
    assert.equal(await metric(1, 'corolink_join_refused_total', { reason: 'unknown_token' }), 1);
  });

  test('delnode: refused while n4 runs; after it stopped, removed live and the cluster stays quorate', async () => {
    const refused = await corolink('delnode', 'n4', '--yes', '--socket', socket(1));
    assert.equal(refused.code, 1, 'a refused change: exit 1');
    assert.match(refused.stderr, /node n4 is a member of the running cluster: power it off/);
    assert.deepEqual(await versions([1, 2, 3, 4]), [2, 2, 2, 2]);

    await cluster.kill(4, 'SIGTERM');
    await cluster.waitFor((s) => s.members.length === 3, { nodes: [1, 2, 3] });
    const run = await corolink('delnode', 'n4', '--yes', '--socket', socket(1));
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /config_version 2 → 3: applied/);
    const statuses = await cluster.waitFor((s) => s.cluster.config_version === 3 && s.nodes.length === 3, {
      nodes: [1, 2, 3],
    });
    assert.ok(statuses.every((s) => s.quorum.quorate && s.quorum.expected_votes === 3));
  });

  test('a node back with an older config is not admitted until it took the current one', async () => {
    const before = readFileSync(cluster.configPath, 'utf8');
    await cluster.kill(3, 'SIGTERM');
    await cluster.waitFor((s) => s.members.length === 2 && s.quorum.quorate, { nodes: [1, 2] });
    const change = await corolink('link', 'priority', '0', '7', '--yes', '--socket', socket(1));
    assert.equal(change.code, 0, change.stderr);
    await cluster.waitFor((s) => s.cluster.config_version === 4, { nodes: [1, 2] });
    // n3 comes back with the file it had (config_version 3).
    writeFileSync(cluster.configPath, before);
    await cluster.restart(3);
    await cluster.waitFor((s) => s.quorum.quorate && s.members.length === 3 && s.cluster.config_version === 4, {
      timeoutMs: SETTLE_TIMEOUT_MS,
    });
    const log1 = readFileSync(cluster.node(1).logFile, 'utf8');
    assert.match(
      log1,
      /node 3 runs config_version 3, this node runs 4: not admitted to the membership until it has taken the current cluster config/,
    );
    assert.ok(((await metric(1, 'corolink_totem_config_mismatches_total')) ?? 0) > 0, 'counted by the members');
    const log3 = readFileSync(cluster.node(3).logFile, 'utf8');
    assert.match(log3, /took the cluster's config from node \d: joining the membership/);
    assert.match(readFileSync(cluster.configPath, 'utf8'), /config_version: 4/);
  });

  test('Totem timers and votes change live: new token, n3 with 2 votes → expected votes 4, no membership change', async () => {
    const ringId = (await cluster.status(1)).ring_id;
    const current = readFileSync(cluster.configPath, 'utf8');
    const next = current
      .replace(/config_version: (\d+)/, (_, v: string) => `config_version: ${Number(v) + 1}`)
      .replace(/\ntotem \{\n/, '\ntotem {\n  token: 5000\n')
      .replace(/(nodeid: 3\n +quorum_votes: )1\n/, (_, head: string) => `${head}2\n`);
    assert.notEqual(next.indexOf('quorum_votes: 2'), -1, 'n3 given two votes');
    const file = join(cluster.dir, 'timings.conf');
    writeFileSync(file, next);
    const run = await corolink('config', 'apply', file, '--yes', '--socket', socket(2));
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /totem\.token +\(none\) → 5000/);
    const statuses = await cluster.waitFor(
      (s) => s.cluster.config_version === 5 && s.quorum.expected_votes === 4 && s.quorum.total_votes === 4,
      { nodes: [1, 2, 3] },
    );
    assert.ok(statuses.every((s) => s.quorum.quorate && s.quorum.quorum === 3 && s.ring_id === ringId));
    for (const nodeid of [1, 2, 3]) {
      assert.match(readFileSync(cluster.node(nodeid).logFile, 'utf8'), /timings changed: token \d+ → 5650 ms/);
    }
  });

  test('a token made before the authkey changed is refused before the node is added', async () => {
    const before = await token();
    // The authkey is rotated: every daemon restarts with the new key; the token stays in the store.
    await Promise.all([1, 2, 3].map((n) => cluster.kill(n, 'SIGTERM')));
    const key = readFileSync(cluster.authkeyPath);
    writeFileSync(
      cluster.authkeyPath,
      key.map((byte) => byte ^ 0xff),
    );
    for (const n of [1, 2, 3]) await cluster.restart(n);
    await cluster.waitFor((s) => s.quorum.quorate && s.members.length === 3, { timeoutMs: SETTLE_TIMEOUT_MS });
    const version = (await versions())[0]!;
    const run = await add(before.token, { name: 'n6', link0: `127.0.10.${FIRST_HOST + 5}`, force: true });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /the cluster authkey changed since join token [0-9a-f]{16} was made .*make a new token/);
    assert.deepEqual(await versions(), [version, version, version], 'nothing committed');
    assert.equal((await cluster.status(1)).nodes.length, 3);
  });
});
