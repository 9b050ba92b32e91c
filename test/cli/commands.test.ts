import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExitCode } from '../../src/cli/exit-codes.ts';
import { checkConfigText, clusterConfigText } from '../../src/config/index.ts';
import { FakeDaemon, FakeDaemonError, tempDir } from '../client/fake-daemon.ts';
import { waitUntil } from '../wait-until.ts';
import { healthyLinks, inquorateStatus, quorateLinks, quorateStatus } from './fixtures.ts';

/** The running config of `quorateStatus`'s cluster (n1, n2, n3 on two links). */
const THREE_NODES_CONFIG = clusterConfigText({
  clusterName: 'demo',
  linkMode: 'passive',
  links: [{ link: 0 }, { link: 1 }],
  nodes: [1, 2, 3].map((id) => ({
    nodeid: id,
    name: `n${id}`,
    addresses: { 0: `127.0.10.${id}`, 1: `127.0.20.${id}` },
  })),
  configVersion: 3,
});

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts `node bin/corolink.mjs …`; the test process keeps running (the fake daemon must answer). */
function start(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; done: Promise<RunResult> } {
  const child = spawn(process.execPath, ['bin/corolink.mjs', ...args], {
    env: { ...process.env, COROLINK_SOCKET: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  const done = new Promise<RunResult>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  void done.then(() => clearTimeout(timer));
  return { child, done };
}

const run = (args: string[], env?: NodeJS.ProcessEnv) => start(args, env).done;

/** Runs several command lines, at most two at a time (each one starts a node + tsx process). */
async function runAll(commandLines: readonly string[][]): Promise<RunResult[]> {
  const results: RunResult[] = new Array(commandLines.length);
  let next = 0;
  const worker = async () => {
    while (next < commandLines.length) {
      const index = next++;
      results[index] = await run(commandLines[index]!);
    }
  };
  await Promise.all([worker(), worker()]);
  return results;
}

describe('corolink CLI without a daemon', () => {
  it('status: unreachable daemon → one line, exit 69 (unavailable)', async () => {
    const result = await run(['status', '--socket', '/tmp/nonexistent.sock']);
    assert.equal(result.code, ExitCode.unavailable);
    assert.equal(
      result.stderr,
      'corolink: cannot reach the corolink daemon at /tmp/nonexistent.sock: no such socket (ENOENT) (is it running?)\n',
    );
    assert.equal(result.stdout, '');
  });

  it('takes the socket from COROLINK_SOCKET', async () => {
    const result = await run(['links'], { COROLINK_SOCKET: '/tmp/corolink-env-missing.sock' });
    assert.equal(result.code, ExitCode.unavailable);
    assert.match(result.stderr, /at \/tmp\/corolink-env-missing\.sock:/);
  });

  it('bad arguments → exit 64 (usage), one message, no stack trace', async () => {
    const cases = [
      ['expected', 'many'],
      ['expected', '0'],
      ['link', 'disable', '8'],
      ['link', 'enable', '-1'],
      ['logs', '-n', 'x'],
      ['status', '--no-such-option'],
      ['cpg', 'send', 'only-group'],
    ];
    const results = await runAll(cases.map((args) => [...args, '--socket', '/tmp/nonexistent.sock']));
    results.forEach((result, index) => {
      const label = cases[index]!.join(' ');
      assert.equal(result.code, ExitCode.usage, label);
      assert.match(result.stderr, /^corolink: [^\n]+\n$/, `${label}: one line, one prefix`);
      assert.doesNotMatch(result.stderr, /\n\s+at /, label);
    });
  });

  it('parser errors read like our own: `corolink: …` with a hint, one line', async () => {
    const result = await run(['status', '--no-such-option']);
    assert.equal(result.code, ExitCode.usage);
    assert.equal(result.stderr, "corolink: unknown option '--no-such-option' (run with --help for usage)\n");
  });

  it('--json: errors are one JSON line on stderr, {error: {code: exit code, message}}; stdout stays empty', async () => {
    const cases: [string[], number, RegExp][] = [
      [['status', '--json', '--socket', '/tmp/nonexistent.sock'], ExitCode.unavailable, /^cannot reach the corolink/],
      [['status', '--json', '--no-such-option'], ExitCode.usage, /^unknown option '--no-such-option'/],
      [['expected', '0', '--json', '--socket', '/tmp/nonexistent.sock'], ExitCode.usage, /^expected votes must be/],
    ];
    const results = await runAll(cases.map(([args]) => args));
    results.forEach((result, index) => {
      const [args, code, message] = cases[index]!;
      const label = args.join(' ');
      assert.equal(result.code, code, label);
      assert.equal(result.stdout, '', label);
      assert.equal(result.stderr.split('\n').length, 2, `${label}: one line`);
      const parsed = JSON.parse(result.stderr) as { error: { code: number; message: string } };
      assert.deepEqual(Object.keys(parsed), ['error'], label);
      assert.equal(parsed.error.code, code, label);
      assert.match(parsed.error.message, message, label);
    });
  });

  it('every command has --help with an example', async () => {
    const commands = [
      'status',
      'nodes',
      'links',
      'quorum',
      'expected',
      'logs',
      'create',
      'link disable',
      'cpg watch',
      'qdevice',
      'qdevice setup',
      'qdevice remove',
      'qdevice status',
    ];
    // create and the qdevice group do not talk to a daemon.
    const offline = new Set(['create', 'qdevice']);
    const results = await runAll(commands.map((command) => [...command.split(' '), '--help']));
    results.forEach((result, index) => {
      const command = commands[index]!;
      assert.equal(result.code, 0, command);
      assert.match(result.stdout, /Example/, command);
      if (!offline.has(command)) assert.match(result.stdout, /--socket <path>/, command);
      if (!offline.has(command)) assert.match(result.stdout, /--json/, command);
    });
  });

  it('a reader that closes the pipe early (`--help | head -1`): exit 0, nothing on stderr', async () => {
    const { child, done } = start(['status', '--help']);
    // Close our end at the first chunk, as `head -1` does; the rest of the help text then meets a closed pipe.
    child.stdout!.once('data', () => child.stdout!.destroy());
    const result = await done;
    assert.equal(result.code, 0);
    assert.equal(result.stderr, '');
  });
});

describe('corolink CLI against a daemon', () => {
  let dir: ReturnType<typeof tempDir>;
  let daemon: FakeDaemon;
  let socket: string;
  before(async () => {
    dir = tempDir();
    socket = join(dir.path, 'corolink.sock');
    daemon = await FakeDaemon.start(socket);
  });
  after(async () => {
    await daemon.stop();
    dir.cleanup();
  });

  it('status prints the pvecm sections and exits 0 when quorate', async () => {
    daemon.handlers.status = () => quorateStatus;
    const result = await run(['status', '--socket', socket]);
    assert.equal(result.code, ExitCode.ok, result.stderr);
    assert.match(result.stdout, /^Cluster information\n-------------------\nName: {13}demo\n/);
    assert.match(result.stdout, /\nNode ID: {10}0x00000001\n/);
    assert.match(result.stdout, /\n {4}link0: DOWN {4}\(no pong for 262 ms\)\n/);
  });

  it('status exits 2 when not quorate; --json prints StatusV1 as is', async () => {
    daemon.handlers.status = () => inquorateStatus;
    const result = await run(['status', '--json', '--socket', socket]);
    assert.equal(result.code, ExitCode.notQuorate);
    assert.deepEqual(JSON.parse(result.stdout), inquorateStatus);
    const quorum = await run(['quorum', '--socket', socket]);
    assert.equal(quorum.code, ExitCode.notQuorate);
    assert.match(quorum.stdout, /\nQuorum: {11}2 Activity blocked\n/);
  });

  it('nodes and links print their tables', async () => {
    daemon.handlers.status = () => quorateStatus;
    daemon.handlers.links = () => quorateLinks;
    const nodes = await run(['nodes', '--socket', socket]);
    assert.equal(nodes.code, 0);
    assert.match(nodes.stdout, /\n {9}1 {10}1 n1 \(local\)\n/);
    const links = await run(['links', '--socket', socket]);
    assert.equal(links.code, ExitCode.faultyLink, 'a link down: exit 1 as corosync-cfgtool -s');
    assert.match(links.stdout, /0x00000003 {2}n3 {4}link0 {2}127\.0\.10\.3 {2}DOWN {3}no {6}.* no pong for 262 ms\n/);
    assert.match(links.stdout, /0x00000003 {2}n3 {4}link1 {2}127\.0\.20\.3 {2}UP {5}yes {5}/, 'link1 carries n3');
    assert.match(links.stdout, /0x00000002 {2}n2 {4}link1 {2}127\.0\.20\.2 {2}UP {5}no {6}/, 'n2: link1 standby');
    const json = await run(['links', '--json', '--socket', socket]);
    assert.equal(json.code, ExitCode.faultyLink);
    assert.deepEqual(JSON.parse(json.stdout), quorateLinks);
    daemon.handlers.links = () => healthyLinks;
    assert.equal((await run(['links', '--socket', socket])).code, ExitCode.ok, 'every link up: exit 0');
  });

  it('expected and link disable send the request; daemon errors map to exit codes', async () => {
    daemon.handlers.setExpected = (params) => ({ ...quorateStatus.quorum, expected_votes: params.votes, members: [] });
    daemon.handlers.setLinkEnabled = (params) => params;
    assert.equal((await run(['expected', '1', '--socket', socket])).code, 0);
    assert.deepEqual(daemon.requestsOf('setExpected').at(-1), { votes: 1 });
    const disable = await run(['link', 'disable', '1', '--socket', socket]);
    assert.equal(disable.stdout, 'link1: disabled\n');
    assert.deepEqual(daemon.requestsOf('setLinkEnabled').at(-1), { link: 1, enabled: false });
    daemon.handlers.setExpected = () => {
      throw new FakeDaemonError('not_quorate', 'refused while not quorate');
    };
    const refused = await run(['expected', '2', '--socket', socket]);
    assert.equal(refused.code, ExitCode.notQuorate);
    assert.equal(refused.stderr, 'corolink: setExpected: refused while not quorate\n');
  });

  it('logs -n prints the formatted lines; logs -f follows until Ctrl-C and exits 0', async () => {
    const record = (text: string) => ({
      time: '2026-11-24T22:00:00Z',
      level: 'info',
      subsystem: 'KNET',
      message: text,
      text,
    });
    daemon.handlers.logs = (params) => ({ lines: [record(`last ${params.lines}`)] });
    const once = await run(['logs', '-n', '3', '--socket', socket]);
    assert.equal(once.stdout, 'last 3\n');
    const follow = start(['logs', '-f', '--socket', socket]);
    let output = '';
    follow.child.stdout!.on('data', (chunk) => {
      output += chunk;
    });
    await waitUntil(() => output.includes('last 50'), 10_000, 'the log history');
    daemon.broadcast('log', 'log', record('[KNET  ] link: host: 2 link: 1 is down'));
    await waitUntil(() => output.includes('is down'), 5000, 'the followed line');
    follow.child.kill('SIGINT');
    const result = await follow.done;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'last 50\n[KNET  ] link: host: 2 link: 1 is down\n');
  });

  it('logs -f --exit ends (exit 0) when the daemon is gone', async () => {
    const follow = start(['logs', '-f', '--exit', '--socket', socket]);
    let output = '';
    follow.child.stdout!.on('data', (chunk) => {
      output += chunk;
    });
    await waitUntil(() => output.includes('last 50'), 10_000, 'the log history');
    await daemon.stop();
    try {
      const result = await follow.done;
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, 'corolink: the daemon is gone: stopped following (--exit)\n');
    } finally {
      await daemon.listen();
    }
  });

  it('cpg watch prints confchg and messages as JSON lines until Ctrl-C', async () => {
    const watch = start(['cpg', 'watch', 'lab', '--json', '--socket', socket]);
    let output = '';
    watch.child.stdout!.on('data', (chunk) => {
      output += chunk;
    });
    await waitUntil(() => output.includes('"confchg"'), 10_000, 'the confchg of the join');
    const sender = await run(['cpg', 'send', 'lab', 'hi there', '--socket', socket]);
    assert.equal(sender.code, 0, sender.stderr);
    await waitUntil(() => output.includes('hi there'), 5000, 'the message');
    watch.child.kill('SIGINT');
    const result = await watch.done;
    assert.equal(result.code, 0, result.stderr);
    const records = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const message = records.find((record) => record.type === 'message');
    assert.equal(message.text, 'hi there');
    assert.equal(Buffer.from(message.data, 'base64').toString(), 'hi there');
    assert.equal(records[0].type, 'confchg');
    assert.deepEqual(daemon.requestsOf('cpgLeave').at(-1), { group: 'lab' });
  });

  it('delnode of a node not in the nodelist, of this node or of a member: refused, exit 1, nothing proposed', async () => {
    daemon.handlers.status = () => quorateStatus;
    daemon.handlers.configGet = () => ({ text: THREE_NODES_CONFIG, config_version: 3 });
    const cases: [string, RegExp][] = [
      ['99', /^corolink: no node 99 in the nodelist \(of 3\)\n$/],
      ['n1', /^corolink: node n1 is this node: run delnode on another member\n$/],
      ['2', /^corolink: node 2 is a member of the running cluster: power it off/],
    ];
    for (const [node, message] of cases) {
      const result = await run(['delnode', node, '--yes', '--socket', socket]);
      assert.equal(result.code, ExitCode.invalid, `delnode ${node}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
    assert.deepEqual(daemon.requestsOf('configPropose'), []);
  });

  it('cpg send joins, multicasts and leaves', async () => {
    const result = await run(['cpg', 'send', 'demo', 'hello', '--socket', socket]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(daemon.requestsOf('cpgMcast').at(-1), {
      group: 'demo',
      data: Buffer.from('hello').toString('base64'),
      seq: 0, // the group's first send (its numbering keeps the order through a refusal)
    });
    assert.deepEqual(daemon.requestsOf('cpgLeave').at(-1), { group: 'demo' });
  });
});

describe('corolink create', () => {
  let dir: ReturnType<typeof tempDir>;
  before(() => {
    dir = tempDir();
  });
  after(() => dir.cleanup());

  it('writes a valid corosync.conf and a 256-byte authkey with mode 0400, then refuses to overwrite', async () => {
    const config = join(dir.path, 'etc', 'corosync.conf');
    const authkey = join(dir.path, 'etc', 'authkey');
    const args = ['create', 'demo', '--link0', '198.18.10.1', '--link1', '198.18.20.1,priority=10'];
    const result = await run([...args, '--name', 'n1', '--nodeid', '3', '-c', config, '-k', authkey]);
    assert.equal(result.code, 0, result.stderr);
    const text = readFileSync(config, 'utf8');
    const checked = checkConfigText(text, config);
    assert.equal(checked.valid, true);
    assert.deepEqual(checked.diagnostics, []);
    for (const line of [
      '  cluster_name: demo',
      '  config_version: 1',
      '  transport: knet',
      '  link_mode: passive',
      '  crypto_cipher: aes256',
      '  crypto_hash: sha256',
      '    knet_link_priority: 10',
      '    nodeid: 3',
      '    ring0_addr: 198.18.10.1',
      '    ring1_addr: 198.18.20.1',
      '  provider: corosync_votequorum',
      '  to_syslog: yes',
    ]) {
      assert.ok(text.split('\n').includes(line), `missing line: ${line}`);
    }
    assert.equal(statSync(authkey).size, 256);
    assert.equal(statSync(authkey).mode & 0o777, 0o400);
    const key = readFileSync(authkey);
    const again = await run([...args, '--name', 'n1', '-c', config, '-k', join(dir.path, 'other-key')]);
    assert.equal(again.code, ExitCode.io);
    assert.match(again.stderr, /^corolink: .*corosync\.conf already exists/);
    assert.equal(existsSync(join(dir.path, 'other-key')), false);
    assert.deepEqual(readFileSync(authkey), key);
  });

  it('refuses an existing authkey without writing a config', async () => {
    const authkey = join(dir.path, 'existing-key');
    writeFileSync(authkey, 'old');
    const config = join(dir.path, 'fresh.conf');
    const result = await run(['create', 'demo', '--link0', '198.18.10.1', '--name', 'n1', '-c', config, '-k', authkey]);
    assert.equal(result.code, ExitCode.io);
    assert.equal(existsSync(config), false);
    assert.equal(readFileSync(authkey, 'utf8'), 'old');
  });

  it('rejects bad arguments with exit 64 and writes nothing', async () => {
    const cases = [
      ['create', 'no spaces', '--link0', '198.18.10.1'],
      ['create', 'a-very-long-cluster-name', '--link0', '198.18.10.1'],
      ['create', 'demo', '--link0', 'not-an-ip'],
      ['create', 'demo', '--link0', '198.18.10.1,priority=300'],
      ['create', 'demo', '--link0', '198.18.10.1,weight=3'],
      ['create', 'demo'],
      ['create', 'demo', '--link0', '198.18.10.1', '--mode', 'fast'],
      ['create', 'demo', '--link0', '198.18.10.1', '--nodeid', '0'],
    ];
    const config = join(dir.path, 'never.conf');
    const results = await runAll(
      cases.map((args) => [...args, '--name', 'n1', '-c', config, '-k', join(dir.path, 'never.key')]),
    );
    results.forEach((result, index) => {
      const label = cases[index]!.join(' ');
      assert.equal(result.code, ExitCode.usage, `${label}: ${result.stderr}`);
      assert.match(result.stderr, /^(corolink: |error: )/, label);
    });
    assert.equal(existsSync(config), false);
    assert.equal(existsSync(join(dir.path, 'never.key')), false);
  });
});
