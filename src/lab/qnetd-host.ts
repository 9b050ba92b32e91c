/**
 * The lab's qnetd host: one more namespace on link0's network (198.18.10.250) running Debian's corosync-qnetd, as
 * the small arbiter host a Proxmox cluster uses. The host has its own /etc/corosync/qnetd: the lab's `qnetd/etc`
 * bind-mounted over it in the host's mount namespace only (`ip netns exec` gives each command a private one), so
 * Debian's unmodified corosync-qnetd-certutil and corosync-qnetd work on it and the machine's own is untouched.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { onPath, run } from './command.ts';
import { labAddress } from './lab-state.ts';

/** The host part of the qnetd host's address on link0 (above every lab node). */
export const QNETD_HOST_NUMBER = 250;
/** corosync-qnetd's port (QNETD_DEFAULT_HOST_PORT). */
export const QNETD_PORT = 5403;
/** The folder corosync-qnetd and its certutil use, hidden under the lab's own copy. */
const QNETD_CONFIG_DIR = '/etc/corosync/qnetd';
/** How long qnetd may take to answer corosync-qnetd-tool after its start. */
const QNETD_START_TIMEOUT_MS = 10_000;
const QNETD_POLL_MS = 100;

/** The qnetd host's address on link0: 198.18.10.250. */
export function qnetdAddress(): string {
  return labAddress(QNETD_HOST_NUMBER, 0);
}

/** Names of the qnetd host's namespace and its cable's switch end. */
export const qnetdNames = {
  namespace: (prefix: string) => `${prefix}-q`,
  switchPort: (prefix: string) => `${prefix}ql0`,
};

/** The qnetd host's files in the lab directory. */
export function qnetdPaths(labDir: string) {
  const root = join(labDir, 'qnetd');
  return {
    /** Bind-mounted over /etc/corosync/qnetd (holds nssdb/). */
    etc: join(root, 'etc'),
    lock: join(root, 'corosync-qnetd.pid'),
    /** corosync-qnetd-tool's socket: `corosync-qnetd-tool -l -p <this>`. */
    socket: join(root, 'corosync-qnetd.sock'),
    log: join(root, 'corosync-qnetd.log'),
  };
}

/** Why the lab cannot have a qnetd host here, or undefined. */
export function qnetdUnavailableReason(): string | undefined {
  for (const tool of ['corosync-qnetd', 'corosync-qnetd-certutil', 'corosync-qnetd-tool', 'certutil']) {
    if (!onPath(tool)) return `--qnetd needs ${tool} (apt-get install corosync-qnetd libnss3-tools)`;
  }
  if (!existsSync(QNETD_CONFIG_DIR) || !statSync(QNETD_CONFIG_DIR).isDirectory()) {
    return `--qnetd needs ${QNETD_CONFIG_DIR} (made by the corosync-qnetd package)`;
  }
  return undefined;
}

/** argv that runs the shell `script` on the qnetd host (its namespace, its /etc/corosync/qnetd). */
export function qnetdShellArgv(namespace: string, labDir: string, script: string): string[] {
  const { etc } = qnetdPaths(labDir);
  return [
    'ip',
    'netns',
    'exec',
    namespace,
    'sh',
    '-c',
    `mount --bind "$0" ${QNETD_CONFIG_DIR} && exec sh -c "$1"`,
    etc,
    script,
  ];
}

/** The script that runs corosync-qnetd in the foreground with its lock and socket in the lab directory. */
export function qnetdDaemonScript(labDir: string): string {
  const { lock, socket } = qnetdPaths(labDir);
  return `exec corosync-qnetd -f -d -S lock_file=${lock},local_socket_file=${socket}`;
}

/** True when `pid` is this lab's corosync-qnetd (guards against reused PIDs). */
export function isQnetd(pid: number | undefined, labDir: string): boolean {
  if (!pid) return false;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.some((a) => a.endsWith('corosync-qnetd')) && argv.some((a) => a.includes(qnetdPaths(labDir).lock));
  } catch {
    return false;
  }
}

/** Waits until corosync-qnetd answers on its local socket (it listens on TCP before that); throws with its log. */
export async function waitForQnetd(labDir: string, alive: () => boolean): Promise<void> {
  const { socket, log } = qnetdPaths(labDir);
  const deadline = Date.now() + QNETD_START_TIMEOUT_MS;
  for (;;) {
    if (!alive()) throw new Error(`corosync-qnetd exited during start:\n${tail(log)}`);
    try {
      await run('corosync-qnetd-tool', ['-s', '-p', socket]);
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`corosync-qnetd did not answer in time:\n${tail(log)}`);
      await new Promise((resolve) => setTimeout(resolve, QNETD_POLL_MS));
    }
  }
}

function tail(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8').trimEnd().split('\n').slice(-10).join('\n') : '(no log)';
}
