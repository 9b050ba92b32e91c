/**
 * Real Corosync 3 (Debian's `corosync` package) on the hosts of a `NetnsLab` brought up with `daemons: false`:
 * one config per host (same nodelist, links and timings as corolink's, hires log timestamps to a file), each
 * daemon in its host's namespace with a private /run (corosync locks /run/corosync.pid), stopped by PID.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { labAddress } from '../src/lab/lab-state.ts';
import type { NetnsLab } from '../src/lab/netns-lab.ts';

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    return (
      readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'corosync' &&
      !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ')
    );
  } catch {
    return false;
  }
}

/** Corosync daemons on every host of a lab. */
export class CorosyncHosts {
  private readonly pids = new Map<number, number>();

  constructor(
    private readonly lab: NetnsLab,
    private readonly mode: 'passive' | 'active' | 'rr' = 'passive',
  ) {}

  private hostDir(nodeid: number): string {
    return join(this.lab.dir, `corosync-n${nodeid}`);
  }

  /** The host's corosync log file. */
  logFile(nodeid: number): string {
    return join(this.hostDir(nodeid), 'corosync.log');
  }

  /** The daemon's PID (undefined when it does not run). */
  pid(nodeid: number): number | undefined {
    const pid = this.pids.get(nodeid);
    return pid !== undefined && alive(pid) ? pid : undefined;
  }

  private writeConfig(nodeid: number): string {
    const dir = this.hostDir(nodeid);
    mkdirSync(join(dir, 'run'), { recursive: true });
    mkdirSync(join(dir, 'state'), { recursive: true });
    const links = Array.from({ length: this.lab.linksConfigured }, (_, l) => l);
    const conf = `totem {
  version: 2
  cluster_name: demo
  transport: knet
  crypto_cipher: aes256
  crypto_hash: sha256
  keyfile: ${this.lab.authkeyPath}
  link_mode: ${this.mode}
${links.map((l) => `  interface {\n    linknumber: ${l}\n    knet_link_priority: ${10 * (links.length - l)}\n  }`).join('\n')}
}
nodelist {
${this.lab.nodeids
  .map(
    (n) =>
      `  node {\n    name: n${n}\n    nodeid: ${n}\n${links.map((l) => `    ring${l}_addr: ${labAddress(n, l)}`).join('\n')}\n  }`,
  )
  .join('\n')}
}
quorum {
  provider: corosync_votequorum
}
logging {
  to_stderr: no
  to_syslog: no
  to_logfile: yes
  logfile: ${this.logFile(nodeid)}
  timestamp: hires
  fileline: off
  debug: off
}
system {
  state_dir: ${join(dir, 'state')}
}
`;
    const path = join(dir, 'corosync.conf');
    writeFileSync(path, conf);
    return path;
  }

  /** Starts corosync on host `nodeid` and waits until its log says it is ready. */
  async start(nodeid: number): Promise<void> {
    const dir = this.hostDir(nodeid);
    const conf = this.writeConfig(nodeid);
    rmSync(join(dir, 'run', 'corosync.pid'), { force: true });
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        this.lab.namespace(nodeid),
        'sh',
        '-c',
        `mount --bind '${dir}/run' /run && exec corosync -f -c '${conf}'`,
      ],
      { detached: true, stdio: 'ignore' },
    );
    child.unref();
    if (!child.pid) throw new Error(`cannot start corosync on n${nodeid}`);
    this.pids.set(nodeid, child.pid);
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (
      !(
        existsSync(this.logFile(nodeid)) &&
        readFileSync(this.logFile(nodeid), 'utf8').includes('ready to provide service')
      )
    ) {
      if (Date.now() > deadline) throw new Error(`corosync on n${nodeid} did not start in time`);
      await pause(50);
    }
  }

  /** Sends `signal` to host `nodeid`'s corosync and waits until it is gone. */
  async stop(nodeid: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const pid = this.pid(nodeid);
    this.pids.delete(nodeid);
    if (pid === undefined) return;
    process.kill(pid, signal);
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    while (alive(pid)) {
      if (Date.now() > deadline) process.kill(pid, 'SIGKILL');
      await pause(20);
    }
    // A killed corosync leaves its libqb blackbox in /dev/shm.
    for (const name of readdirSync('/dev/shm'))
      if (name.startsWith(`qb-corosync-${pid}-`)) rmSync(join('/dev/shm', name), { force: true });
  }

  /** Stops every corosync this object started. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.pids.keys()].map((n) => this.stop(n)));
  }
}
