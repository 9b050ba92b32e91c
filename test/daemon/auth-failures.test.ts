// A node with the wrong authkey (issue 15, defect 5): its packets used to show only in /metrics; now each member
// names it in its log, rate-limited: "N packets from <address> failed authentication in the last 10 s — wrong
// authkey?", and `corolink links` (text and --json auth_failures) shows it; the membership stays without it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LocalCluster } from '../../src/lab/local-cluster.ts';
import { runCli } from './run-cli.ts';

const FIRST_HOST = 221;
const BASE_PORT = 37605;
/** Two log intervals (10 s each) and a margin. */
const LOG_TIMEOUT_MS = 30_000;
const POLL_MS = 200;

describe('a node with the wrong authkey', () => {
  let cluster: LocalCluster;

  before(async () => {
    cluster = await LocalCluster.start({ nodes: 3, links: 1, firstHost: FIRST_HOST, basePort: BASE_PORT });
    await cluster.waitForQuorateMembership(3);
  });
  after(() => cluster?.stop());

  test('is named in the members’ logs and kept out of the membership', async () => {
    await cluster.kill(3, 'SIGTERM');
    await cluster.waitFor((s) => s.members.length === 2, { nodes: [1, 2] });
    const rogue = cluster.node(3);
    const wrongKey = join(cluster.dir, 'wrong-authkey');
    writeFileSync(wrongKey, randomBytes(256), { mode: 0o400 });
    rogue.authkeyPath = wrongKey;
    await cluster.restart(3);
    const address = rogue.addresses[0]!.replaceAll('.', '\\.');
    const line = new RegExp(`\\d+ packets from ${address} failed authentication in the last 10 s — wrong authkey\\?`);
    const deadline = Date.now() + LOG_TIMEOUT_MS;
    while (!line.test(readFileSync(cluster.node(1).logFile, 'utf8'))) {
      assert.ok(Date.now() < deadline, 'node 1 names the source within two log intervals');
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    assert.deepEqual(
      (await cluster.status(1)).members.map((m) => m.nodeid),
      [1, 2],
    );
    const links = await runCli(['links', '--socket', cluster.node(1).socket]);
    // Node 3's link is down as node 1 sees it (its packets fail authentication): `links` exits 1 as cfgtool -s does.
    assert.equal(links.code, 1, links.stderr);
    assert.match(links.stdout, new RegExp(`\\d+ packets from ${address} failed authentication \\(wrong authkey\\?\\)`));
    const json = await runCli(['links', '--json', '--socket', cluster.node(1).socket]);
    const failures = (JSON.parse(json.stdout) as { auth_failures: { source: string; packets: number }[] })
      .auth_failures;
    assert.ok(
      failures.some((f) => f.source === rogue.addresses[0] && f.packets > 0),
      json.stdout,
    );
  });
});
