// The application socket (issue 15): users and groups of `uidgid { }` (here in uidgid.d/ beside corosync.conf)
// use CPG and reads on it, admin methods are refused there, anyone else is closed unread, logged and counted, and
// the admin socket stays closed to all of them.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { CorolinkClient } from '../../src/client/client.ts';
import type { CpgMessage } from '../../src/client/cpg-group.ts';
import { appSocketPath } from '../../src/config/paths.ts';
import { LocalCluster } from '../../src/lab/local-cluster.ts';
import { fetchMetricSamples, sampleValue } from '../metrics-samples.ts';
import { runCli } from './run-cli.ts';

const FIRST_HOST = 211;
const BASE_PORT = 38105;
const HTTP_BASE_PORT = 38191;
const isRoot = process.geteuid?.() === 0;
const execFileAsync = promisify(execFile);
const CLIENT_SOURCE = join(import.meta.dirname, 'app-socket-client.mjs');
/** The client library, which the users below read only when the checkout lets other users in. */
const LIBRARY = join(import.meta.dirname, '../../src/client/index.ts');

/** Listed by name in uidgid.d/. */
const NOBODY = { uid: 65534, gid: 65534, groups: [] as number[] };
/** Not listed: user `daemon`. */
const UNLISTED = { uid: 1, gid: 1, groups: [] as number[] };
/** User `bin`, not listed, with group `voice` (22) as a supplementary group: `voice` is listed by name. */
const VOICE_MEMBER = { uid: 2, gid: 2, groups: [22] };

interface ClientRun {
  connected: boolean;
  replies: Record<string, { result?: unknown; error?: { code: string; message: string } }>;
  events: { event: string; data: Record<string, unknown> }[];
  error: string | null;
  closed: boolean;
}

/** Runs `script` (a copy of app-socket-client.mjs) as `user` against `socket`. */
async function runAs(
  script: string,
  user: { uid: number; gid: number; groups: number[] },
  socket: string,
  requests: { method: string; params?: Record<string, unknown> }[],
  untilEvent?: string,
): Promise<ClientRun> {
  const groups = user.groups.length === 0 ? ['--clear-groups'] : [`--groups=${user.groups.join(',')}`];
  const { stdout } = await execFileAsync('setpriv', [
    `--reuid=${user.uid}`,
    `--regid=${user.gid}`,
    ...groups,
    process.execPath,
    script,
    socket,
    JSON.stringify(requests),
    ...(untilEvent === undefined ? [] : [untilEvent]),
  ]);
  return JSON.parse(stdout) as ClientRun;
}

describe('the application socket', { skip: isRoot ? false : 'needs root (runs clients as other users)' }, () => {
  let cluster: LocalCluster;
  let dir: string;
  let admin: string;
  let app: string;
  /** A copy of app-socket-client.mjs that every user can read, wherever the checkout is. */
  let clientScript: string;

  /** Node 1's count of admin requests refused for `reason` (0 before the first). */
  async function refusals(reason: string): Promise<number> {
    const samples = await fetchMetricSamples(cluster.node(1).httpUrl!);
    return sampleValue(samples, 'corolink_admin_refused_total', { reason }) ?? 0;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'corolink-appsock-'));
    const clientDir = mkdtempSync(join(tmpdir(), 'corolink-appsock-client-'));
    chmodSync(clientDir, 0o755);
    clientScript = join(clientDir, 'app-socket-client.mjs');
    copyFileSync(CLIENT_SOURCE, clientScript);
    chmodSync(clientScript, 0o644);
    mkdirSync(join(dir, 'uidgid.d'));
    writeFileSync(join(dir, 'uidgid.d', 'apps'), 'uidgid {\n  uid: nobody\n}\nuidgid {\n  gid: voice\n}\n');
    cluster = await LocalCluster.start({
      dir,
      nodes: 1,
      links: 1,
      firstHost: FIRST_HOST,
      basePort: BASE_PORT,
      httpBasePort: HTTP_BASE_PORT,
    });
    await cluster.waitForQuorateMembership(1);
    admin = cluster.node(1).socket;
    app = appSocketPath(admin);
  });

  after(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${dir}-app`, { recursive: true, force: true });
    if (clientScript !== undefined) rmSync(dirname(clientScript), { recursive: true, force: true });
  });

  test('it is a 0666 socket in a 0755 folder of root beside the 0700 admin folder; the log says who it admits', () => {
    assert.equal(app, `${dir}-app/n1.sock`);
    assert.equal(statSync(app).mode & 0o777, 0o666);
    assert.equal(statSync(`${dir}-app`).mode & 0o7777, 0o755);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.match(
      readFileSync(cluster.node(1).logFile, 'utf8'),
      /application socket \S+-app\/n1\.sock: root, the daemon's user, uid 65534, gid 22\n/,
    );
  });

  test('nobody (listed in uidgid.d) joins a CPG group and sends; a member on the admin socket receives it', async () => {
    let client: CorolinkClient | undefined;
    try {
      client = await cluster.client(1);
      const group = await client.cpgJoin('apps');
      const received = new Promise<CpgMessage>((resolve) => group.once('message', resolve));
      const data = Buffer.from('from nobody').toString('base64');
      const run = await runAs(
        clientScript,
        NOBODY,
        app,
        [
          { method: 'cpgJoin', params: { group: 'apps' } },
          { method: 'cpgMcast', params: { group: 'apps', data } },
          { method: 'cfsLs', params: {} },
          { method: 'status' },
        ],
        'cpgDeliver',
      );
      assert.ok(run.connected, JSON.stringify(run));
      for (const id of ['1', '2', '3', '4']) assert.equal(run.replies[id]?.error, undefined, JSON.stringify(run));
      const own = run.events.find((e) => e.event === 'cpgDeliver');
      assert.equal(own?.data.data, data, 'nobody gets its own message back');
      const message = await received;
      assert.equal(Buffer.from(message.data).toString(), 'from nobody');
    } finally {
      await client?.close();
    }
  });

  test('admin methods and the log topic are refused there: forbidden, naming the method, counted', async () => {
    const before = (await cluster.status(1)).quorum.expected_votes;
    const forbiddenBefore = await refusals('forbidden');
    const run = await runAs(clientScript, NOBODY, app, [
      { method: 'setExpected', params: { votes: 7 } },
      { method: 'setLinkEnabled', params: { link: 0, enabled: false } },
      { method: 'cfsPut', params: { path: 'x', data: '' } },
      { method: 'joinTokenCreate', params: {} },
      { method: 'subscribe', params: { topics: ['membership', 'log'] } },
      { method: 'quorum' },
    ]);
    const refused = ['setExpected', 'setLinkEnabled', 'cfsPut', 'joinTokenCreate'];
    refused.forEach((method, i) => {
      const error = run.replies[String(i + 1)]?.error;
      assert.equal(error?.code, 'forbidden', JSON.stringify(run.replies));
      assert.match(error?.message ?? '', new RegExp(`method "${method}" is admin-only`));
    });
    assert.equal(run.replies['5']?.error?.code, 'forbidden');
    assert.match(run.replies['5']?.error?.message ?? '', /topic "log"/);
    assert.equal(run.replies['6']?.error, undefined, 'a read still works on the same connection');
    assert.equal((await cluster.status(1)).quorum.expected_votes, before);
    assert.equal(await refusals('forbidden'), forbiddenBefore + 5);
  });

  test('a member of a group listed in uidgid (a supplementary group) is admitted', async () => {
    const run = await runAs(clientScript, VOICE_MEMBER, app, [{ method: 'quorum' }]);
    assert.equal(run.replies['1']?.error, undefined, JSON.stringify(run));
    assert.ok(run.replies['1']?.result !== undefined);
  });

  test('a user not listed is closed unread, and the refusal is logged and counted', async () => {
    const refusedBefore = await refusals('peer_not_allowed');
    const run = await runAs(clientScript, UNLISTED, app, [{ method: 'status' }]);
    assert.ok(run.closed, JSON.stringify(run));
    assert.deepEqual(run.replies, {});
    assert.equal(await refusals('peer_not_allowed'), refusedBefore + 1);
    assert.match(
      readFileSync(cluster.node(1).logFile, 'utf8'),
      /application socket: refused pid \d+ \(uid 1, gid 1\): not root, not the daemon's user, not in any uidgid section/,
    );
  });

  test('the client library, given only COROLINK_SOCKET, lands on the application socket for other users', async (t) => {
    const readable = await execFileAsync('setpriv', [`--reuid=${NOBODY.uid}`, '--clear-groups', 'test', '-r', LIBRARY])
      .then(() => true)
      .catch(() => false);
    if (!readable) return t.skip(`user nobody cannot read this checkout (${LIBRARY})`);
    // What an application does: connect() with no socket option, as its own user.
    const script = `import { CorolinkClient } from ${JSON.stringify(LIBRARY)};
      try {
        const client = await CorolinkClient.connect({ reconnect: false });
        const quorum = await client.quorum();
        const refused = await client.setExpected(9).catch((error) => error.code);
        console.log(JSON.stringify({ socket: client.socketPath, quorate: quorum.quorate, refused }));
        await client.close();
      } catch (error) {
        console.log(JSON.stringify({ error: error.message }));
      }`;
    const runLibrary = async (user: { uid: number; gid: number }) => {
      const { stdout } = await execFileAsync(
        'setpriv',
        [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', process.execPath].concat([
          '--import',
          'tsx',
          '--input-type=module',
          '--eval',
          script,
        ]),
        { env: { ...process.env, COROLINK_SOCKET: admin } },
      );
      return JSON.parse(stdout) as Record<string, unknown>;
    };
    assert.deepEqual(await runLibrary(NOBODY), { socket: app, quorate: true, refused: 'forbidden' });
    const unlisted = await runLibrary(UNLISTED);
    assert.match(String(unlisted.error), /the daemon closed the connection at the hello/);
    assert.ok(String(unlisted.error).includes(app), String(unlisted.error));
  });

  test('the admin socket stays unreachable to the listed and the unlisted user', async () => {
    for (const user of [NOBODY, UNLISTED, VOICE_MEMBER]) {
      const run = await runAs(clientScript, user, admin, [{ method: 'status' }]);
      assert.equal(run.connected, false);
      assert.equal(run.error, 'EACCES');
    }
  });

  test('a bad entry in uidgid.d stops the daemon at start with file:line:col', async () => {
    const bad = mkdtempSync(join(tmpdir(), 'corolink-appsock-bad-'));
    try {
      copyFileSync(cluster.configPath, join(bad, 'corosync.conf'));
      copyFileSync(cluster.authkeyPath, join(bad, 'authkey'));
      mkdirSync(join(bad, 'uidgid.d'));
      writeFileSync(join(bad, 'uidgid.d', 'apps'), 'uidgid {\n  uid: no body\n}\n');
      const run = await runCli([
        'daemon',
        ...['-c', join(bad, 'corosync.conf'), '-k', join(bad, 'authkey'), '--nodeid', '1'],
        ...['--socket', join(bad, 'run', 'n1.sock'), '--state-dir', join(bad, 'state')],
      ]);
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, new RegExp(`${bad}/uidgid.d/apps:2:8: error: uid: 'no body' is neither a user name`));
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });
});
