// Three real daemons on loopback with two links, checked through the CLI (--json) and the client library.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { CorolinkClient } from '../../src/client/client.ts';
import type { CpgGroup } from '../../src/client/cpg-group.ts';
import type { QuorumV1, StatusV1 } from '../../src/ipc/schema.ts';
import { LocalCluster } from '../../src/lab/local-cluster.ts';
import { waitUntil } from '../wait-until.ts';

const run = promisify(execFile);
const MESSAGES_TOTAL = 10_000;
const SENDERS = 3;
/** Token + consensus at the default timings for 3 nodes (3650 + 4380 ms), plus a margin. */
const CRASH_DEADLINE_MS = 3650 + 4380 + 3000;

async function cliJson(cluster: LocalCluster, nodeid: number, ...args: string[]): Promise<StatusV1> {
  const { stdout } = await run(process.execPath, [
    'bin/corolink.mjs',
    ...args,
    '--json',
    '--socket',
    cluster.node(nodeid).socket,
  ]);
  return JSON.parse(stdout) as StatusV1;
}

function linkState(status: StatusV1, nodeid: number, link: number): string | undefined {
  return status.members.find((m) => m.nodeid === nodeid)?.links.find((l) => l.link === link)?.state;
}

describe('a 3-node loopback cluster with two links', () => {
  let cluster: LocalCluster;
  const clients: CorolinkClient[] = [];
  const groups: CpgGroup[] = [];
  const delivered: string[][] = [[], [], []];

  before(async () => {
    cluster = await LocalCluster.start({ nodes: 3, links: 2, firstHost: 101, basePort: 15405 });
    await cluster.waitForQuorateMembership(3);
    for (let i = 0; i < 3; i++) {
      const client = await cluster.client(i + 1);
      clients.push(client);
      const group = await client.cpgJoin('integration');
      group.on('message', (m) => delivered[i]!.push(`${m.nodeid}:${Buffer.from(m.data).toString()}`));
      groups.push(group);
    }
  });

  after(async () => {
    for (const client of clients) client.close();
    await cluster?.stop();
  });

  test('CLI --json: one quorate membership of 3, link0 and link1 UP for every node', async () => {
    const statuses = await Promise.all([1, 2, 3].map((id) => cliJson(cluster, id, 'status')));
    const ringIds = new Set(statuses.map((s) => s.ring_id));
    assert.equal(ringIds.size, 1, `one ring id everywhere, got ${[...ringIds]}`);
    for (const status of statuses) {
      assert.equal(status.quorum.quorate, true);
      assert.deepEqual(
        status.members.map((m) => m.nodeid),
        [1, 2, 3],
      );
      for (const member of status.members) {
        assert.equal(linkState(status, member.nodeid, 0), 'UP', `n${status.local_nodeid} sees n${member.nodeid} link0`);
        assert.equal(linkState(status, member.nodeid, 1), 'UP', `n${status.local_nodeid} sees n${member.nodeid} link1`);
      }
    }
  });

  test('CPG: 10,000 messages from 3 senders are delivered in one order on every node', async () => {
    const perSender = Math.ceil(MESSAGES_TOTAL / SENDERS);
    await Promise.all(
      groups.map(async (group, i) => {
        // Every send handed over at once, paced only by the library's flow control (writable / drain).
        const sends: Promise<void>[] = [];
        for (let n = 0; n < perSender; n++) {
          sends.push(group.send(`s${i + 1}-${n}`));
          if (!group.writable) await once(group, 'drain');
        }
        await Promise.all(sends);
      }),
    );
    const expected = perSender * SENDERS;
    const deadline = Date.now() + 60_000;
    while (delivered.some((d) => d.length < expected) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const d of delivered) assert.equal(d.length, expected);
    assert.deepEqual(delivered[1], delivered[0]);
    assert.deepEqual(delivered[2], delivered[0]);
    for (let s = 1; s <= SENDERS; s++) {
      const own = delivered[0]!.filter((m) => m.includes(`:s${s}-`)).map((m) => Number(m.split('-')[1]));
      assert.deepEqual(
        own,
        [...own].sort((a, b) => a - b),
        `sender ${s} FIFO`,
      );
      assert.equal(new Set(own).size, perSender, `sender ${s}: no loss, no duplicate`);
    }
  });

  test('link disable 0 on node 3: no configuration change, messages keep flowing, status shows link0 down', async () => {
    const before = await cluster.status(1);
    for (const d of delivered) d.length = 0;
    const stream = (async () => {
      for (let n = 0; n < 300; n++) {
        await groups[0]!.send(`during-${n}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await clients[2]!.setLinkEnabled(0, false);
    const [seenBy1, seenBy2] = await cluster.waitFor((s) => linkState(s, 3, 0) === 'DOWN', { nodes: [1, 2] });
    await stream;
    const deadline = Date.now() + 20_000;
    while (delivered.some((d) => d.length < 300) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const after = await cluster.status(1);
    assert.equal(after.ring_id, before.ring_id, 'no configuration change');
    assert.equal(seenBy1!.ring_id, before.ring_id);
    assert.equal(after.quorum.quorate, true);
    assert.equal(linkState(seenBy2!, 3, 1), 'UP');
    const expected = Array.from({ length: 300 }, (_, n) => `1:during-${n}`);
    for (const d of delivered) assert.deepEqual(d, expected);
    await clients[2]!.setLinkEnabled(0, true);
    await cluster.waitFor((s) => linkState(s, 3, 0) === 'UP', { nodes: [1, 2] });
  });

  test('votes 2 --node 3 (quorumtool -v -n) reaches every node; quorum --monitor (-m) prints each change', async () => {
    const monitor = spawn(
      process.execPath,
      ['bin/corolink.mjs', 'quorum', '--monitor', '--json', '--socket', cluster.node(1).socket],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const seen: QuorumV1[] = [];
    let buffered = '';
    monitor.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) seen.push(JSON.parse(line) as QuorumV1);
    });
    const exited = once(monitor, 'exit');
    try {
      const waitSeen = (what: string, ok: (q: QuorumV1) => boolean) =>
        waitUntil(() => seen.some(ok), 20_000, `the monitor printed ${what}`, 50);
      await waitSeen('the state at start', (q) => q.total_votes === 3);
      await cliJson(cluster, 1, 'votes', '2', '--node', '3');
      await cluster.waitFor((s) => s.quorum.total_votes === 4, { nodes: [1, 2, 3] });
      await waitSeen('the change to 4 votes', (q) => q.total_votes === 4);
      await cliJson(cluster, 2, 'votes', '1', '--node', '3');
      // `votes` answers once the change is multicast, as corosync-quorumtool -v does: node 2 checks `expected 3`
      // against the total it has applied, so it waits for its own delivery of the change first.
      await cluster.waitFor((s) => s.quorum.total_votes === 3, { nodes: [2] });
      // Expected votes followed the total up to 4 and stay there (votequorum never lowers them by itself).
      await cliJson(cluster, 2, 'expected', '3');
      await cluster.waitFor((s) => s.quorum.total_votes === 3 && s.quorum.expected_votes === 3, { nodes: [1, 2, 3] });
      await waitSeen(
        'the change back',
        (q, i = seen.indexOf(q)) => q.total_votes === 3 && seen.slice(0, i).some((p) => p.total_votes === 4),
      );
    } finally {
      monitor.kill('SIGINT');
    }
    const [code] = await exited;
    assert.equal(code, 0, 'Ctrl-C ends the monitor with exit 0');
  });

  test('SIGKILL of node 3: nodes 1+2 form a quorate membership of 2 in time; node 3 rejoins after restart', async () => {
    clients.pop()?.close();
    groups.pop();
    const killedAt = Date.now();
    await cluster.kill(3);
    await cluster.waitFor((s) => s.quorum.quorate && s.members.length === 2, {
      nodes: [1, 2],
      timeoutMs: CRASH_DEADLINE_MS,
    });
    assert.ok(Date.now() - killedAt <= CRASH_DEADLINE_MS);
    await cluster.restart(3);
    const statuses = await cluster.waitForQuorateMembership(3);
    assert.equal(new Set(statuses.map((s) => s.ring_id)).size, 1);
  });

  test('corolink shutdown of node 3 (cfgtool -H): it leaves cleanly and exits; the others go on quorate', async () => {
    const daemon = cluster.node(3).process!;
    const exited = once(daemon, 'exit');
    await run(process.execPath, ['bin/corolink.mjs', 'shutdown', '--socket', cluster.node(3).socket]);
    const [code] = await exited;
    assert.equal(code, 0, 'the daemon exits as on SIGTERM');
    cluster.node(3).process = undefined;
    const [s1] = await cluster.waitFor((s) => s.quorum.quorate && s.members.length === 2, { nodes: [1] });
    assert.deepEqual(
      s1!.members.map((m) => m.nodeid),
      [1, 2],
    );
    await cluster.restart(3);
    await cluster.waitForQuorateMembership(3);
  });
});
