// Issue 7 on real (namespaced) hosts: a 4th host joins the running 3-node, 2-link cluster with `corolink add` and
// a join token made on a member — the seed's `pvecm add … --ring0_addr … --ring1_addr …` — and `corolink delnode`
// removes it again once it is powered off.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { JoinTokenInfo } from '../../src/client/config.ts';
import { assertStreamIntact, linkState, STREAM_INTERVAL_MS, skipReason, useLab } from './helpers.ts';

const execFileAsync = promisify(execFile);
const MEMBERS = [1, 2, 3];

describe('netns lab: a 4th host joins with corolink add, delnode removes it', { skip: skipReason }, () => {
  const suite = useLab({ nodes: 4, members: 3, links: 2 });

  /** `corolink …` in host `nodeid`'s namespace. */
  const corolinkIn = (nodeid: number, args: string[]) =>
    execFileAsync('ip', ['netns', 'exec', suite.lab.namespace(nodeid), process.execPath, 'bin/corolink.mjs', ...args]);

  test('join-token on n1 → corolink add on n4 → 4 members, every link UP; delnode n4 → 3 nodes, quorate', async () => {
    const { lab, stream } = suite;
    stream.start(MEMBERS, STREAM_INTERVAL_MS);
    assert.ok(await stream.progress(MEMBERS, 50, 10_000), 'stream flowing before the join');

    const created = JSON.parse(
      (await corolinkIn(1, ['join-token', '--ttl', '10m', '--json', '--socket', lab.socket(1)])).stdout,
    ) as JoinTokenInfo;
    assert.equal(created.address, '198.18.10.1');
    const joined = await corolinkIn(4, [
      'add',
      created.address,
      '--link0',
      '198.18.10.4',
      '--link1',
      '198.18.20.4',
      '--name',
      'n4',
      '--token',
      created.token,
      '--config',
      lab.hostConfigPath(4),
      '--authkey',
      lab.hostAuthkeyPath(4),
    ]);
    assert.match(joined.stdout, /joined: this host is node n4 \(nodeid 4\)/);
    assert.deepEqual(readFileSync(lab.hostAuthkeyPath(4)), readFileSync(lab.authkeyPath));
    await lab.waitFor((s) => s.cluster.config_version === 2 && s.nodes.length === 4 && s.quorum.quorate, {
      nodes: MEMBERS,
    });

    await lab.start(4);
    const everyLinkUp = (s: Awaited<ReturnType<typeof lab.status>>) =>
      s.quorum.quorate &&
      s.members.length === 4 &&
      [1, 2, 3, 4].every((n) => linkState(s, n, 0) === 'UP' && linkState(s, n, 1) === 'UP');
    const statuses = await lab.waitFor(everyLinkUp, { nodes: [1, 2, 3, 4], timeoutMs: 30_000 });
    assert.ok(statuses.every((s) => s.quorum.expected_votes === 4 && s.cluster.config_version === 2));
    assert.ok(await stream.progress(MEMBERS, 50, 10_000), 'stream flowing after the join');

    await lab.crash(4);
    await lab.waitFor((s) => s.members.length === 3 && s.quorum.quorate, { nodes: MEMBERS, timeoutMs: 15_000 });
    const removed = await corolinkIn(1, ['delnode', 'n4', '--yes', '--socket', lab.socket(1)]);
    assert.match(removed.stdout, /config_version 2 → 3: applied/);
    const after = await lab.waitFor((s) => s.cluster.config_version === 3 && s.nodes.length === 3, {
      nodes: MEMBERS,
    });
    assert.ok(after.every((s) => s.quorum.quorate && s.quorum.expected_votes === 3));
    await assertStreamIntact(stream, { senders: MEMBERS, on: MEMBERS });
  });
});
