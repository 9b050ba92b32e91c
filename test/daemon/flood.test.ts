// Connection floods (issue 15, defect 2): 20,000 silent connections to a node's HTTP port, then to its join port,
// while that daemon may hold only 4096 file descriptors (the old code ran out of them, stopped answering on its admin
// socket and died of an uncaught EMFILE). The daemon stays up, its admin socket answers during and after, the
// membership does not change, every refusal is counted, and the log sums them up instead of a line each.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { JoinTokenInfo } from '../../src/client/config.ts';
import { formatJoinToken, parseJoinToken } from '../../src/daemon/join-protocol.ts';
import { LocalCluster } from '../../src/lab/local-cluster.ts';
import { fetchMetricSamples, sampleValue } from '../metrics-samples.ts';
import { runCli } from './run-cli.ts';

const FIRST_HOST = 241;
const BASE_PORT = 37805;
const HTTP_BASE_PORT = 37880;
const CONNECTIONS = 20_000;
/** The flooded daemon's descriptor limit: far below the flood. */
const DAEMON_FILES_MAX = 4096;
/** The flood comes from its own loopback address, so the join service's per-source limit leaves 127.0.0.1 alone. */
const FLOOD_SOURCE = '127.0.77.1';
const isRoot = process.geteuid?.() === 0;

interface FloodReport {
  opened: number;
  failed: number;
  held: number;
  error?: string;
}

/**
 * Starts the flood client and resolves once every attempt settled. It needs few descriptors of its own: the server
 * closes what it does not keep, and at most CONCURRENCY attempts are under way.
 */
async function flood(host: string, port: number): Promise<{ report: FloodReport; client: ChildProcess }> {
  const client = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/daemon/silent-flood.ts', host, String(port), String(CONNECTIONS), FLOOD_SOURCE],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const exited = once(client, 'exit').then(([code]) => {
    throw new Error(`the flood client exited (${code}) before its report`);
  });
  const [line] = (await Promise.race([once(client.stdout!, 'data'), exited])) as [Buffer];
  return { report: JSON.parse(line.toString('utf8')) as FloodReport, client };
}

async function endFlood(client: ChildProcess): Promise<void> {
  const exited = once(client, 'exit');
  client.stdin!.end();
  await exited;
}

describe('connection floods', { skip: isRoot ? false : 'needs root (prlimit on the daemon)' }, () => {
  let cluster: LocalCluster;
  let ringId: string;

  /** Node 1 answers on its admin socket with the unchanged membership, and its process is alive. */
  async function assertUnchanged(when: string): Promise<void> {
    const status = await cluster.status(1);
    assert.deepEqual(
      status.members.map((m) => m.nodeid),
      [1, 2, 3],
      `${when}: membership`,
    );
    assert.ok(status.quorum.quorate, `${when}: quorate`);
    assert.equal(cluster.node(1).process?.exitCode, null, `${when}: daemon alive`);
  }

  /** Node 1's count of `name` refused for `reason` (0 before the first). */
  async function refused(name: string, reason: string): Promise<number> {
    return sampleValue(await fetchMetricSamples(cluster.node(1).httpUrl!), name, { reason }) ?? 0;
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
    execFileSync('prlimit', [
      '--pid',
      String(cluster.node(1).process!.pid),
      `--nofile=${DAEMON_FILES_MAX}:${DAEMON_FILES_MAX}`,
    ]);
    ringId = (await cluster.status(1)).ring_id;
  });

  after(async () => {
    await cluster?.stop();
  });

  test('20,000 silent HTTP connections: the daemon and its admin socket answer; the excess is refused and counted', async () => {
    const url = new URL(cluster.node(1).httpUrl!);
    const { report, client } = await flood(url.hostname, Number(url.port));
    try {
      assert.equal(report.error, undefined, JSON.stringify(report));
      assert.equal(report.opened + report.failed, CONNECTIONS);
      await assertUnchanged('during the HTTP flood');
    } finally {
      await endFlood(client);
    }
    await assertUnchanged('after the HTTP flood');
    assert.ok((await refused('corolink_http_refused_total', 'connection_limit')) > 0);
  });

  test('20,000 silent join connections: the same, and the join service still answers a joiner', async () => {
    const run = await runCli(['join-token', '--ttl', '1h', '--json', '--socket', cluster.node(1).socket]);
    assert.equal(run.code, 0, run.stderr);
    const token = JSON.parse(run.stdout) as JoinTokenInfo;
    const { report, client } = await flood(token.address, token.port);
    try {
      assert.equal(report.error, undefined, JSON.stringify(report));
      assert.equal(report.opened + report.failed, CONNECTIONS);
      await assertUnchanged('during the join flood');
    } finally {
      await endFlood(client);
    }
    await assertUnchanged('after the join flood');
    const limited =
      (await refused('corolink_join_refused_total', 'connection_limit')) +
      (await refused('corolink_join_refused_total', 'rate_limited'));
    assert.ok(limited > 0, 'refusals counted');
    // A joiner from another address is served (its wrong token is refused by the protocol, not by the limits).
    const joiner = await runCli([
      'add',
      token.address,
      '--link0',
      `127.0.10.${FIRST_HOST + 3}`,
      '--name',
      'n4',
      '--token',
      formatJoinToken({ ...parseJoinToken(token.token), secret: randomBytes(32) }),
      '--config',
      `${cluster.dir}/n4/corosync.conf`,
      '--authkey',
      `${cluster.dir}/n4/authkey`,
    ]);
    assert.equal(joiner.code, 1);
    assert.match(joiner.stderr, /authentication failed/);
  });

  test('the log sums the refusals up (tens of lines, not thousands); the ring id never changed', async () => {
    const log = readFileSync(cluster.node(1).logFile, 'utf8');
    const refusalLines = log.split('\n').filter((l) => /refus/.test(l));
    assert.ok(refusalLines.length < 100, `${refusalLines.length} refusal lines`);
    assert.match(log, /HTTP: \d+ connections open: a new one closed \(connection_limit, from 127\.0\.77\.1\)/);
    const changes = log.split('\n').filter((l) => /A new membership|not scheduled|refus|token/.test(l));
    assert.equal((await cluster.status(1)).ring_id, ringId, changes.join('\n'));
  });
});
