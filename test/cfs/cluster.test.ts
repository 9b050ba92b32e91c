// The replicated file store on three real daemons on loopback: replication, the read-only inquorate node, and
// durability of acknowledged writes across kill -9 at random points of a write stream.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { CfsFileInfo } from '../../src/client/cfs.ts';
import { CorolinkClient } from '../../src/client/client.ts';
import { DaemonRequestError } from '../../src/client/errors.ts';
import { LocalCluster } from '../../src/lab/local-cluster.ts';

const run = promisify(execFile);
const POLL_MS = 50;

/** Runs `action` against one node with a fresh connection. */
async function at<T>(cluster: LocalCluster, nodeid: number, action: (c: CorolinkClient) => Promise<T>): Promise<T> {
  const client = await CorolinkClient.connect({
    socket: cluster.node(nodeid).socket,
    reconnect: false,
    callTimeoutMs: 30_000,
  });
  try {
    return await action(client);
  } finally {
    client.close();
  }
}

/** Polls `check` until it returns a value (not undefined) or the deadline passes. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  throw new Error(`${what}: not reached within ${timeoutMs} ms (last error: ${String(last)})`);
}

/** A put that retries while the store is synchronising (error `refused`), bounded by `eventually`. */
function put(cluster: LocalCluster, nodeid: number, path: string, text: string) {
  return eventually(`put ${path} on n${nodeid}`, () =>
    at(cluster, nodeid, (c) => c.cfsPut(path, text)).catch((error) => {
      if (error instanceof DaemonRequestError && error.code === 'refused') return undefined;
      throw error;
    }),
  );
}

const listing = (entries: CfsFileInfo[]) =>
  entries.map((e) => `${e.path} ${e.version} ${e.size} ${e.mtime}`).join('\n');

describe('the replicated file store on a 3-node loopback cluster', () => {
  let cluster: LocalCluster;

  before(async () => {
    cluster = await LocalCluster.start({ nodes: 3, links: 1, firstHost: 171, basePort: 55405 });
    await cluster.waitForQuorateMembership(3);
  });
  after(() => cluster?.stop());

  test('a put on node 1 is readable on nodes 2 and 3, through the client and the CLI', async () => {
    const written = await put(cluster, 1, 'app/settings.conf', 'totem { version: 2 }');
    assert.ok(written.version >= 1);
    for (const nodeid of [2, 3]) {
      const file = await eventually(`app/settings.conf on n${nodeid}`, () =>
        at(cluster, nodeid, (c) => c.cfsGet('app/settings.conf')),
      );
      assert.equal(Buffer.from(file.data).toString(), 'totem { version: 2 }');
      assert.equal(file.version, written.version);
    }
    const socket = cluster.node(3).socket;
    const cli = (...args: string[]) => run(process.execPath, ['bin/corolink.mjs', 'cfs', ...args, '--socket', socket]);
    await cli('put', 'nodes/n3/app.conf', 'package.json');
    const got = await cli('get', 'nodes/n3/app.conf');
    assert.match(got.stdout, /"name": "corolink"/);
    const ls = JSON.parse((await cli('ls', 'nodes/', '--json')).stdout) as CfsFileInfo[];
    assert.deepEqual(
      ls.map((e) => e.path),
      ['nodes/n3/app.conf'],
    );
    await assert.rejects(cli('put', '../escape', 'package.json'), (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 64);
      assert.match(e.stderr, /\.\. segments/);
      return true;
    });
  });

  test('acknowledged writes survive kill -9 at random points; every node ends with the same store', async () => {
    const acked = new Map<string, string>();
    let stop = false;
    let attempts = 0;
    const writer = (async () => {
      for (let k = 0; !stop; k++) {
        const nodeid = (k % 3) + 1;
        const path = `stream/w${k}`;
        attempts++;
        try {
          if (!cluster.node(nodeid).process) throw new Error('down');
          await at(cluster, nodeid, (c) => c.cfsPut(path, `value ${k}`));
          acked.set(path, `value ${k}`);
        } catch {
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    })();
    try {
      for (let round = 0; round < 3; round++) {
        await new Promise((r) => setTimeout(r, 200 + Math.random() * 800));
        const victim = 1 + Math.floor(Math.random() * 3);
        await cluster.kill(victim, 'SIGKILL');
        // The others go on writing without it, so the restarted node comes back with an older copy.
        const mark = acked.size;
        await eventually(`writes while n${victim} is down`, async () => (acked.size >= mark + 3 ? true : undefined));
        await new Promise((r) => setTimeout(r, Math.random() * 1500));
        await cluster.restart(victim);
        await cluster.waitForQuorateMembership(3, 30_000);
      }
      const before = acked.size;
      await eventually('more writes after the crashes', async () => (acked.size > before + 5 ? true : undefined));
    } finally {
      stop = true;
      await writer;
    }
    assert.ok(acked.size > 20, `only ${acked.size} of ${attempts} writes acknowledged`);
    const final = await eventually('identical stores on every node', async () => {
      const lists = await Promise.all([1, 2, 3].map((n) => at(cluster, n, (c) => c.cfsLs())));
      if (lists.every((l) => listing(l) === listing(lists[0]!))) return lists[0]!;
      const shape = lists.map(
        (l, i) => `n${i + 1}: ${l.length} files, last version ${Math.max(0, ...l.map((e) => e.version))}`,
      );
      throw new Error(`stores differ (${shape.join('; ')})`);
    });
    const logs = await Promise.all([1, 2, 3].map((n) => at(cluster, n, (c) => c.logs({ lines: 2000 }))));
    const transfers = logs.flat().filter((r) => r.subsystem === 'CFS' && r.message.startsWith('took the state'));
    assert.ok(transfers.length > 0, 'a restarted node took the state of the others');
    const paths = new Set(final.map((e) => e.path));
    for (const path of acked.keys()) assert.ok(paths.has(path), `acknowledged ${path} is missing`);
    for (const nodeid of [1, 2, 3]) {
      await at(cluster, nodeid, async (c) => {
        for (const [path, text] of acked) assert.equal(Buffer.from((await c.cfsGet(path)).data).toString(), text);
      });
    }
  });

  test('an isolated inquorate node refuses writes (reads keep working) and its store does not change', async () => {
    await cluster.kill(2, 'SIGKILL');
    await cluster.kill(3, 'SIGKILL');
    await cluster.waitFor((s) => !s.quorum.quorate, { nodes: [1], timeoutMs: 30_000 });
    const beforeList = listing(await at(cluster, 1, (c) => c.cfsLs()));
    await assert.rejects(
      at(cluster, 1, (c) => c.cfsPut('app/settings.conf', 'minority write')),
      (error: unknown) => error instanceof DaemonRequestError && error.code === 'not_quorate',
    );
    await assert.rejects(
      at(cluster, 1, (c) => c.cfsRm('app/settings.conf')),
      (error: unknown) => error instanceof DaemonRequestError && error.code === 'not_quorate',
    );
    const file = await at(cluster, 1, (c) => c.cfsGet('app/settings.conf'));
    assert.equal(Buffer.from(file.data).toString(), 'totem { version: 2 }');
    assert.equal(listing(await at(cluster, 1, (c) => c.cfsLs())), beforeList);
  });
});
