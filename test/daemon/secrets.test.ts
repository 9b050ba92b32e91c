// Secrets at rest (issue 15, defect 1): a local user other than the daemon's cannot read the store or a join
// secret, and nothing read from disk joins a node. The cluster starts in a state directory left 0755 by an older
// version (the old trigger): the daemons narrow it to 0700 and keep their files 0600.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import type { JoinTokenInfo } from '../../src/client/config.ts';
import { formatJoinToken, parseJoinToken } from '../../src/daemon/join-protocol.ts';
import { LocalCluster } from '../../src/lab/local-cluster.ts';
import { runCli } from './run-cli.ts';

const FIRST_HOST = 231;
const BASE_PORT = 37705;
const NOBODY = '65534';
const isRoot = process.geteuid?.() === 0;

const execFileAsync = promisify(execFile);

/** Runs `command` as user nobody (no groups); resolves with its exit code and stderr. */
async function asNobody(...command: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await execFileAsync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...command]);
    return { code: 0, stderr: '' };
  } catch (error) {
    const failed = error as { code: number; stderr: string };
    return { code: failed.code, stderr: failed.stderr };
  }
}

const mode = (path: string) => statSync(path).mode & 0o7777;

/** One raw admin-socket request (the client library would not send a null). */
async function adminRequest(socket: string, method: string, params: unknown): Promise<Record<string, unknown>> {
  const connection = connect(socket);
  connection.write(`${JSON.stringify({ id: 1, method, params })}\n`);
  let text = '';
  for await (const chunk of connection) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  connection.destroy();
  return JSON.parse(text) as Record<string, unknown>;
}

describe('secrets at rest', { skip: isRoot ? false : 'needs root (runs commands as user nobody)' }, () => {
  let cluster: LocalCluster;
  let dir: string;
  let created: JoinTokenInfo;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'corolink-secrets-'));
    chmodSync(dir, 0o755);
    cluster = await LocalCluster.start({ dir, nodes: 3, links: 1, firstHost: FIRST_HOST, basePort: BASE_PORT });
    await cluster.waitForQuorateMembership(3);
    const run = await runCli(['join-token', '--ttl', '1h', '--json', '--socket', cluster.node(2).socket]);
    assert.equal(run.code, 0, run.stderr);
    created = JSON.parse(run.stdout) as JoinTokenInfo;
  });

  after(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the state directory is narrowed to 0700 (and says so); the store and ring id files are 0600', () => {
    assert.equal(mode(dir), 0o700);
    // The three daemons share the directory and start at once: the first to reach it narrows it and says so.
    const narrowed = [1, 2, 3].filter((n) =>
      /the state directory .* had mode 0755: narrowed to 0700/.test(readFileSync(cluster.node(n).logFile, 'utf8')),
    );
    assert.ok(narrowed.length >= 1, 'no node logged the narrowing');
    const files = readdirSync(dir).filter((f) => /^(cfs_\d+\.sqlite(-wal|-shm)?|ringid_\d+)$/.test(f));
    assert.ok(files.includes('cfs_2.sqlite') && files.includes('ringid_2'), files.join(' '));
    for (const file of files) assert.equal(mode(join(dir, file)), 0o600, file);
  });

  test('user nobody can neither list the directory nor read the store, even were the directory open', async () => {
    const store = join(dir, 'cfs_2.sqlite');
    const list = await asNobody('ls', dir);
    assert.notEqual(list.code, 0);
    assert.match(list.stderr, /Permission denied/);
    chmodSync(dir, 0o711);
    try {
      const read = await asNobody('cat', store);
      assert.notEqual(read.code, 0);
      assert.match(read.stderr, /Permission denied/);
    } finally {
      chmodSync(dir, 0o700);
    }
  });

  test('the store holds no join secret, and what it holds does not join a node', async () => {
    const token = parseJoinToken(created.token);
    const db = new Database(join(dir, 'cfs_2.sqlite'));
    const row = db
      .prepare<{ content: Buffer }>('SELECT content FROM entries WHERE path = ?')
      .get(`join-tokens/${created.id}.json`);
    db.close();
    assert.ok(row, 'the token is in the store');
    const stored = row.content.toString('utf8');
    for (const encoding of ['hex', 'base64', 'base64url'] as const) {
      assert.ok(!stored.includes(Buffer.from(token.secret).toString(encoding)), `no secret in ${encoding}`);
    }
    const { verifierHex } = JSON.parse(stored) as { verifierHex: string };
    const rebuilt = formatJoinToken({ ...token, secret: Buffer.from(verifierHex, 'hex') });
    const n4 = join(dir, 'n4');
    const run = await runCli([
      'add',
      cluster.node(1).addresses[0]!,
      '--link0',
      `127.0.10.${FIRST_HOST + 3}`,
      '--name',
      'rogue',
      '--token',
      rebuilt,
      '--config',
      join(n4, 'corosync.conf'),
      '--authkey',
      join(n4, 'authkey'),
    ]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /authentication failed/);
    const status = await cluster.status(1);
    assert.equal(status.nodes.length, 3, 'nodelist unchanged');
    assert.equal(status.quorum.expected_votes, 3);
  });

  test('joinTokenCreate {ttl_ms: null} is a bad request, not a one-hour token', async () => {
    const answer = await adminRequest(cluster.node(1).socket, 'joinTokenCreate', { ttl_ms: null });
    // The ipc contract checks the params before the handler: the answer names the field.
    assert.deepEqual(answer.error, { code: 'bad_request', message: 'ttl_ms must be integer' });
  });

  test('an authkey other users can read is refused at start, with the command to fix it', async () => {
    const key = join(dir, 'open-authkey');
    copyFileSync(cluster.authkeyPath, key);
    chmodSync(key, 0o644);
    const run = await runCli([
      'daemon',
      '-c',
      cluster.configPath,
      '-k',
      key,
      '--nodeid',
      '1',
      '--socket',
      join(dir, 'other', 'n1.sock'),
      '--state-dir',
      join(dir, 'other'),
    ]);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, new RegExp(`refusing the authkey: ${key} has mode 0644: .*chmod 0400 ${key}`));
  });
});
