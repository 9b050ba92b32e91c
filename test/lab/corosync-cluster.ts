/**
 * A real Corosync 3 + corosync-qdevice cluster (Debian's packages) beside a corolink lab, for the interoperability
 * test: every node a namespace with a cable to the lab's link0 switch (198.18.10.201, .202, …). Each command runs
 * with the node's own /etc/corosync and /run bind-mounted from the lab directory, in the private mount namespace
 * `ip netns exec` gives it (as ../shared/anchors/corosync/lab.sh does for /run), so corosync, corosync-qdevice and
 * corosync-qdevice-net-certutil run unmodified with their fixed paths and the machine's own are untouched.
 * Certificates as `corosync-qdevice-net-certutil -Q` makes them, with the copies done on the shared filesystem.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ip, ipIn, onPath, run } from '../../src/lab/command.ts';
import { labAddress, names } from '../../src/lab/lab-state.ts';
import type { NetnsLab } from '../../src/lab/netns-lab.ts';
import { qnetdPaths, qnetdShellArgv } from '../../src/lab/qnetd-host.ts';

/** The host part of the first Corosync node's address on link0 (clear of the lab's nodes and its qnetd host). */
const FIRST_HOST_NUMBER = 201;
const COMMAND_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const POLL_MS = 200;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Why the interoperability test cannot run here, or undefined. */
export function corosyncUnavailableReason(): string | undefined {
  for (const tool of ['corosync', 'corosync-quorumtool', 'corosync-qdevice', 'corosync-qdevice-net-certutil']) {
    if (!onPath(tool)) return `the interoperability test needs ${tool} (apt-get install corosync corosync-qdevice)`;
  }
  return undefined;
}

export class CorosyncCluster {
  private readonly pids: number[] = [];
  private readonly namespaces: string[] = [];

  private constructor(
    private readonly lab: NetnsLab,
    readonly name: string,
    readonly nodeids: number[],
  ) {}

  /** Networks, configures and starts `nodes` Corosync nodes with corosync-qdevice voting through the lab's qnetd. */
  static async up(lab: NetnsLab, name: string, nodes: number): Promise<CorosyncCluster> {
    const cluster = new CorosyncCluster(
      lab,
      name,
      Array.from({ length: nodes }, (_, i) => i + 1),
    );
    try {
      await cluster.build();
    } catch (error) {
      await cluster.down();
      throw error;
    }
    return cluster;
  }

  address(nodeid: number): string {
    return labAddress(FIRST_HOST_NUMBER + nodeid - 1, 0);
  }

  /** Runs the shell `script` on node `nodeid` (its namespace, /etc/corosync, /run); resolves with its stdout. */
  sh(nodeid: number, script: string): Promise<string> {
    const [file, ...args] = this.shellArgv(nodeid, script);
    return run(file!, args, COMMAND_TIMEOUT_MS);
  }

  /** Polls `corosync-quorumtool -s` on every node until `done(output)` holds for each; throws with the last. */
  async waitForQuorumtool(done: (output: string) => boolean, timeoutMs: number): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // Exit status 2 when not quorate: the output is wanted all the same.
      const outputs = await Promise.all(
        this.nodeids.map((n) => this.sh(n, 'corosync-quorumtool -s; true').catch((e: Error) => e.message)),
      );
      if (outputs.every(done)) return outputs;
      if (Date.now() > deadline) {
        throw new Error(`corosync cluster ${this.name}: not there in time:\n${outputs.join('\n')}\n${this.logTail()}`);
      }
      await pause(POLL_MS);
    }
  }

  /** Stops every process started here (SIGTERM, SIGKILL after a grace period) and deletes the namespaces. */
  async down(): Promise<void> {
    // corosync-qdevice first (it was started last), then corosync.
    for (const pid of [...this.pids].reverse()) await stopProcess(pid);
    this.pids.length = 0;
    for (const ns of this.namespaces) await ip('netns', 'del', ns).catch(() => undefined);
    for (const nodeid of this.nodeids) await ip('link', 'del', this.switchPort(nodeid)).catch(() => undefined);
  }

  private get dir(): string {
    return join(this.lab.dir, `corosync-${this.name}`);
  }

  private nodeDir(nodeid: number) {
    const root = join(this.dir, `n${nodeid}`);
    return { root, etc: join(root, 'etc'), run: join(root, 'run'), log: join(root, 'corosync.log') };
  }

  private namespace(nodeid: number): string {
    return `${this.lab.prefix}-c${nodeid}`;
  }

  private switchPort(nodeid: number): string {
    return `${this.lab.prefix}c${nodeid}l0`;
  }

  private shellArgv(nodeid: number, script: string): string[] {
    const { etc, run: runDir } = this.nodeDir(nodeid);
    return [
      'ip',
      'netns',
      'exec',
      this.namespace(nodeid),
      'sh',
      '-c',
      'mount --bind "$0" /etc/corosync && mount --bind "$1" /run && exec sh -c "$2"',
      etc,
      runDir,
      script,
    ];
  }

  private async build(): Promise<void> {
    const authkey = randomBytes(256);
    for (const nodeid of this.nodeids) {
      const { etc, run: runDir } = this.nodeDir(nodeid);
      mkdirSync(join(etc, 'qdevice', 'net'), { recursive: true, mode: 0o700 });
      mkdirSync(join(runDir, 'corosync-qdevice'), { recursive: true });
      writeFileSync(join(etc, 'authkey'), authkey, { mode: 0o400 });
      writeFileSync(join(etc, 'corosync.conf'), this.config(nodeid));
      await this.plug(nodeid);
    }
    await this.certificates();
    for (const nodeid of this.nodeids) this.start(nodeid, 'corosync -f');
    await this.waitForQuorumtool((out) => /^Quorate: +Yes$/m.test(out), 60_000);
    for (const nodeid of this.nodeids) this.start(nodeid, 'corosync-qdevice -f');
  }

  private async plug(nodeid: number): Promise<void> {
    const ns = this.namespace(nodeid);
    const port = this.switchPort(nodeid);
    this.namespaces.push(ns);
    await ip('netns', 'add', ns);
    await ipIn(ns, 'link', 'set', 'lo', 'up');
    await ip('link', 'add', port, 'type', 'veth', 'peer', 'name', names.hostPort(0), 'netns', ns);
    await ip('link', 'set', port, 'master', names.bridge(this.lab.prefix, 0));
    await ip('link', 'set', port, 'up');
    await ipIn(ns, 'addr', 'add', `${this.address(nodeid)}/24`, 'dev', names.hostPort(0));
    await ipIn(ns, 'link', 'set', names.hostPort(0), 'up');
  }

  private config(nodeid: number): string {
    const nodes = this.nodeids
      .map((n) => `  node {\n    name: cs${n}\n    nodeid: ${n}\n    ring0_addr: ${this.address(n)}\n  }\n`)
      .join('');
    return `totem {
  version: 2
  cluster_name: ${this.name}
  transport: knet
  crypto_cipher: aes256
  crypto_hash: sha256
  keyfile: /etc/corosync/authkey
}
nodelist {
${nodes}}
quorum {
  provider: corosync_votequorum
  device {
    votes: 1
    model: net
    net {
      host: ${this.lab.qnetdAddress}
      algorithm: ffsplit
      tls: on
      tie_breaker: lowest
    }
  }
}
logging {
  to_stderr: no
  to_syslog: no
  to_logfile: yes
  logfile: ${this.nodeDir(nodeid).log}
  timestamp: on
}
system {
  state_dir: ${this.nodeDir(nodeid).root}
}
`;
  }

  /**
   * What `corosync-qdevice-net-certutil -Q` does: every node's NSS database with qnetd's CA (-i), a request made on
   * the first node (-r), signed on the qnetd host (corosync-qnetd-certutil -s), turned into a PKCS#12 there (-M)
   * and imported on the others (-m).
   */
  private async certificates(): Promise<void> {
    const qnetdEtc = qnetdPaths(this.lab.dir).etc;
    const [first, ...others] = this.nodeids as [number, ...number[]];
    const nssdb = (nodeid: number) => join(this.nodeDir(nodeid).etc, 'qdevice', 'net', 'nssdb');
    for (const nodeid of this.nodeids) {
      copyFileSync(join(qnetdEtc, 'nssdb', 'qnetd-cacert.crt'), join(this.nodeDir(nodeid).etc, 'qnetd-cacert.crt'));
      await this.sh(nodeid, 'corosync-qdevice-net-certutil -i -c /etc/corosync/qnetd-cacert.crt');
    }
    await this.sh(first, `corosync-qdevice-net-certutil -r -n ${this.name}`);
    copyFileSync(join(nssdb(first), 'qdevice-net-node.crq'), join(qnetdEtc, `${this.name}.crq`));
    const [file, ...args] = qnetdShellArgv(
      this.lab.qnetdNamespace,
      this.lab.dir,
      `corosync-qnetd-certutil -s -c /etc/corosync/qnetd/${this.name}.crq -n ${this.name}`,
    );
    await run(file!, args, COMMAND_TIMEOUT_MS);
    const signed = `cluster-${this.name}.crt`;
    copyFileSync(join(qnetdEtc, 'nssdb', signed), join(this.nodeDir(first).etc, signed));
    await this.sh(first, `corosync-qdevice-net-certutil -M -c /etc/corosync/${signed}`);
    for (const nodeid of others) {
      copyFileSync(join(nssdb(first), 'qdevice-net-node.p12'), join(this.nodeDir(nodeid).etc, 'qdevice-net-node.p12'));
      await this.sh(nodeid, 'corosync-qdevice-net-certutil -m -c /etc/corosync/qdevice-net-node.p12');
    }
  }

  /** Starts `command` (a foreground daemon) on node `nodeid`; `ip` and both shells exec in place: the PID is its. */
  private start(nodeid: number, command: string): void {
    const log = openSync(join(this.nodeDir(nodeid).root, 'stdout.log'), 'a');
    try {
      const [file, ...args] = this.shellArgv(nodeid, `exec ${command}`);
      const child = spawn(file!, args, { detached: true, stdio: ['ignore', log, log] });
      child.unref();
      if (!child.pid) throw new Error(`cannot start ${command} on cs${nodeid}`);
      this.pids.push(child.pid);
    } finally {
      closeSync(log);
    }
  }

  private logTail(): string {
    return this.nodeids
      .flatMap((n) =>
        [this.nodeDir(n).log, join(this.nodeDir(n).root, 'stdout.log')].map((file) =>
          existsSync(file) ? `${file}:\n${readFileSync(file, 'utf8').trimEnd().split('\n').slice(-8).join('\n')}` : '',
        ),
      )
      .join('\n');
  }
}

/** True while `pid` runs one of Corosync's daemons, not a zombie (guards against a reused PID). */
function alive(pid: number): boolean {
  try {
    const argv0 = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
    return (
      /^corosync(-qdevice)?$/.test(basename(argv0)) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))
    );
  } catch {
    return false;
  }
}

async function stopProcess(pid: number): Promise<void> {
  if (!alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (alive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      break;
    }
    await pause(POLL_MS);
  }
}
