// Issue 17's setup half on real (namespaced) hosts: a 2-node lab with a qnetd host running Debian's
// corosync-qnetd; `corolink qdevice setup` gets a cluster certificate signed by that qnetd, installs it on both
// nodes, and adds the device to the running config; qnetd accepts the certificate for this cluster only.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { RemoteShell } from '../../src/cli/qdevice/remote-shell.ts';
import { remoteVoteSource } from '../../src/cli/qdevice/verify.ts';
import { CorolinkClient } from '../../src/client/client.ts';
import { qdeviceTlsFiles } from '../../src/config/index.ts';
import { onPath } from '../../src/lab/command.ts';
import { BIN } from '../../src/lab/daemon-process.ts';
import { NetnsLab } from '../../src/lab/netns-lab.ts';
import { QNETD_PORT, qnetdUnavailableReason } from '../../src/lab/qnetd-host.ts';
import { healthy, skipReason } from './helpers.ts';

const execFileAsync = promisify(execFile);
const PROBE = join(import.meta.dirname, 'fixtures/qnetd-probe.mjs');
const CLUSTER = 'demo';
const skip = skipReason ?? qnetdUnavailableReason() ?? (onPath('openssl') ? undefined : 'qdevice setup needs openssl');

interface ProbeResult {
  result: string;
  preinit?: { type: number; tlsSupported: number; clientCertRequired: number };
  handshake?: boolean;
  type?: number;
  code?: string;
  message?: string;
}

describe('netns lab: qdevice setup against Debian corosync-qnetd', { skip }, () => {
  let lab: NetnsLab;
  const corolink = (args: string[]) =>
    execFileAsync(process.execPath, [BIN, ...args], {
      env: { ...process.env, COROLINK_SOCKET: lab.socket(1), COROLINK_CONFIG: lab.configPath },
    });
  const sshCommand = () => `${process.execPath} ${BIN} lab rsh --dir ${lab.dir}`;
  /** Runs the protocol probe in host `nodeid`'s namespace. */
  const probe = async (nodeid: number, cluster: string, tlsFiles: string[] = []): Promise<ProbeResult> => {
    const args = ['netns', 'exec', lab.namespace(nodeid), process.execPath, PROBE, lab.qnetdAddress];
    const { stdout } = await execFileAsync('ip', [...args, String(QNETD_PORT), cluster, ...tlsFiles]);
    return JSON.parse(stdout) as ProbeResult;
  };
  const runningConfig = async (nodeid: number) => {
    const client = await CorolinkClient.connect({ socket: lab.socket(nodeid), reconnect: false });
    try {
      return await client.configGet();
    } finally {
      client.close();
    }
  };

  before(async () => {
    lab = await NetnsLab.up({ nodes: 2, links: 2, qnetd: true, dir: mkdtempSync(join(tmpdir(), 'corolink-lab-')) });
    await lab.waitFor(healthy(2), { timeoutMs: 60_000 });
  });
  after(async () => {
    // From lab.json, which holds the PIDs of what the CLI verbs started too.
    if (lab && existsSync(lab.dir)) await NetnsLab.open(lab.dir).down();
  });

  test('the qnetd host answers on its port from a node: TLS supported, client certificate required', async () => {
    const answer = await probe(2, CLUSTER);
    assert.deepEqual(answer, { result: 'preinit', preinit: { type: 1, tlsSupported: 1, clientCertRequired: 1 } });
  });

  test('--dry-run shows the device section and changes nothing', async () => {
    const { stdout } = await corolink(['qdevice', 'setup', lab.qnetdAddress, '--dry-run']);
    assert.match(stdout, /\+ {4}model: net\n/);
    assert.match(stdout, /\+ {6}host: 198\.18\.10\.250\n/);
    assert.equal((await runningConfig(1)).config_version, 1);
    assert.equal(existsSync(qdeviceTlsFiles(lab.configPath).dir), false);
  });

  test('setup: certificate files 0600 on the nodes, the device section on both, config_version 1 → 2', async () => {
    const { stdout, stderr } = await corolink([
      'qdevice',
      'setup',
      lab.qnetdAddress,
      '--ssh-command',
      sshCommand(),
      '--yes',
      // The vote itself comes from the qdevice-net client; this test is about the setup.
      '--wait',
      '0',
    ]);
    assert.match(stdout, /config_version 1 → 2: applied/);
    assert.match(stderr, /signing it on 198\.18\.10\.250 \(corosync-qnetd-certutil -s -n demo\)/);
    assert.match(stderr, /installing them on n2 \(198\.18\.10\.2\)/);
    const files = qdeviceTlsFiles(lab.configPath);
    assert.equal(statSync(files.dir).mode & 0o777, 0o700);
    for (const file of [files.ca, files.cert, files.key]) assert.equal(statSync(file).mode & 0o777, 0o600, file);
    await lab.waitFor((s) => s.cluster.config_version === 2, { timeoutMs: 20_000 });
    for (const nodeid of [1, 2]) {
      const config = await runningConfig(nodeid);
      assert.equal(config.config_version, 2);
      assert.match(
        config.text,
        /quorum \{\n {2}provider: corosync_votequorum\n {2}device \{\n {4}votes: 1\n {4}model: net\n {4}net \{\n {6}host: 198\.18\.10\.250\n {6}algorithm: ffsplit\n {6}tls: on\n {6}tie_breaker: lowest\n {4}\}\n {2}\}\n\}/,
      );
    }
    // On the qnetd host, the certificate it signed for this cluster.
    assert.ok(existsSync(join(lab.dir, 'qnetd/etc/nssdb/cluster-demo.crt')));
  });

  test('qnetd accepts the installed certificate for this cluster and refuses it for another', async () => {
    const files = qdeviceTlsFiles(lab.configPath);
    const tlsFiles = [files.ca, files.cert, files.key];
    const accepted = await probe(2, CLUSTER, tlsFiles);
    assert.equal(accepted.result, 'reply', JSON.stringify(accepted));
    assert.equal(accepted.handshake, true);
    assert.equal(accepted.type, 4, 'an init reply');
    const refused = await probe(2, 'other', tlsFiles);
    assert.deepEqual([refused.result, refused.handshake], ['closed', true], JSON.stringify(refused));
    assert.match(readFileSync(lab.qnetdFiles.log, 'utf8'), /Client doesn't sent certificate with valid CN/);
    // A certificate with the right name that qnetd's CA did not sign fails in the handshake.
    const own = mkdtempSync(join(tmpdir(), 'corolink-qdevice-test-'));
    await execFileAsync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${CLUSTER}`,
      '-days',
      '1',
      '-keyout',
      join(own, 'key.pem'),
      '-out',
      join(own, 'cert.pem'),
    ]);
    const selfSigned = await probe(2, CLUSTER, [files.ca, join(own, 'cert.pem'), join(own, 'key.pem')]);
    rmSync(own, { recursive: true });
    // TLS 1.3: the client's side of the handshake completes first; qnetd's verdict comes as an alert.
    assert.equal(selfSigned.result, 'tls_error', JSON.stringify(selfSigned));
    assert.match(String(selfSigned.message), /alert unknown ca/);
  });

  test("the vote check reads another node's status over the remote shell (corolink status --json there)", async () => {
    // The lab's node shells have its `corolink` on PATH, as the package installs it on a real node.
    const n2 = remoteVoteSource(new RemoteShell(sshCommand()), '198.18.10.2', 'n2');
    const status = await n2.status();
    assert.equal(status.local_nodeid, 2);
    assert.equal(status.cluster.config_version, 2);
  });

  test('setup again is refused; remove: the section and the files go, config_version 2 → 3', async () => {
    await assert.rejects(corolink(['qdevice', 'setup', lab.qnetdAddress, '--ssh-command', sshCommand(), '--yes']), {
      code: 1,
      stderr: /a quorum device is configured already/,
    });
    const { stdout } = await corolink(['qdevice', 'remove', '--ssh-command', sshCommand(), '--yes']);
    assert.match(stdout, /config_version 2 → 3: applied/);
    await lab.waitFor((s) => s.cluster.config_version === 3, { timeoutMs: 20_000 });
    for (const nodeid of [1, 2]) assert.doesNotMatch((await runningConfig(nodeid)).text, /device|tie_breaker/);
    assert.equal(existsSync(qdeviceTlsFiles(lab.configPath).dir), false);
  });

  test('--no-ssh: the printed steps done by hand, then --finish installs and applies', async () => {
    const files = qdeviceTlsFiles(lab.configPath);
    const { stdout } = await corolink(['qdevice', 'setup', lab.qnetdAddress, '--no-ssh']);
    assert.match(stdout, /6\. here: corolink qdevice setup 198\.18\.10\.250 --no-ssh --finish/);
    // Steps 2–5 as a user would do them (step 1 was done when the qnetd host was made).
    const qnetdDb = join(lab.dir, 'qnetd/etc/nssdb');
    cpSync(join(qnetdDb, 'qnetd-cacert.crt'), join(files.dir, 'qnetd-cacert.crt'));
    const { stdout: signed } = await execFileAsync(process.execPath, [
      BIN,
      'lab',
      'rsh',
      '--dir',
      lab.dir,
      'qnetd',
      `corosync-qnetd-certutil -s -c ${join(files.dir, 'qdevice-net-node.crq')} -n ${CLUSTER}`,
    ]);
    assert.match(signed, /Certificate stored in/);
    cpSync(join(qnetdDb, `cluster-${CLUSTER}.crt`), join(files.dir, `cluster-${CLUSTER}.crt`));
    const finished = await corolink([
      'qdevice',
      'setup',
      lab.qnetdAddress,
      '--no-ssh',
      '--finish',
      '--yes',
      '--wait',
      '0',
    ]);
    assert.match(finished.stdout, /config_version 3 → 4: applied/);
    assert.match(finished.stderr, /copy them to n2 before applying: scp -p/);
    for (const file of [files.ca, files.cert, files.key]) assert.equal(statSync(file).mode & 0o777, 0o600, file);
    assert.equal(existsSync(join(files.dir, 'qdevice-net-node.crq')), false, 'the staged files are removed');
    const accepted = await probe(1, CLUSTER, [files.ca, files.cert, files.key]);
    assert.equal(accepted.result, 'reply', JSON.stringify(accepted));
  });

  test('lab qnetd stop|start: the port closes and answers again', async () => {
    const labStatus = async () =>
      (await execFileAsync(process.execPath, [BIN, 'lab', 'status', '--dir', lab.dir])).stdout
        .trimEnd()
        .split('\n')
        .at(-1);
    await execFileAsync(process.execPath, [BIN, 'lab', 'qnetd', 'stop', '--dir', lab.dir]);
    assert.equal(NetnsLab.open(lab.dir).qnetdRunning(), false);
    assert.deepEqual(await probe(1, CLUSTER), { result: 'connect_error', code: 'ECONNREFUSED' });
    assert.equal(await labStatus(), 'qnetd 198.18.10.250:5403 stopped');
    await execFileAsync(process.execPath, [BIN, 'lab', 'qnetd', 'start', '--dir', lab.dir]);
    assert.equal((await probe(1, CLUSTER)).result, 'preinit');
    assert.equal(await labStatus(), 'qnetd 198.18.10.250:5403 running');
    lab = NetnsLab.open(lab.dir); // the CLI recorded the new PID in lab.json
    assert.ok(lab.qnetdRunning());
  });

  test('lab down: no namespace, veth or corosync-qnetd of the lab left', async () => {
    const pid = JSON.parse(readFileSync(join(lab.dir, 'lab.json'), 'utf8')).qnetd.pid as number;
    await lab.down();
    assert.equal(
      existsSync(`/proc/${pid}/cmdline`) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('qnetd'),
      false,
    );
    const { stdout: namespaces } = await execFileAsync('ip', ['netns', 'list']);
    const { stdout: links } = await execFileAsync('ip', ['-br', 'link']);
    assert.doesNotMatch(namespaces + links, new RegExp(lab.prefix));
    assert.equal(existsSync(lab.dir), false);
  });
});
