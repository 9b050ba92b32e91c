/**
 * What every way of running real corolink daemons shares (the loopback `LocalCluster` and the namespace
 * `NetnsLab`): the authkey, the daemon's command line, reaching a daemon's admin socket and polling the status
 * of several daemons until a condition holds.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DAEMON_MALLOC_ENV, DAEMON_NODE_FLAGS } from '../base/limits.ts';
import { CorolinkClient } from '../client/client.ts';
import { clusterConfigText } from '../config/index.ts';
import type { StatusV1 } from '../ipc/schema.ts';

/** The package's root: the nearest directory above this module (src/lab/ or a dist/ bundle) with bin/corolink.mjs. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'bin/corolink.mjs'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`corolink: no bin/corolink.mjs above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}

/** The corolink executable. */
export const BIN = join(packageRoot(), 'bin/corolink.mjs');
const AUTHKEY_BYTES = 256;
/** How long a daemon may take to open its admin socket on a loaded machine. */
export const START_TIMEOUT_MS = 30_000;
/** Interval of every status poll. */
export const POLL_INTERVAL_MS = 50;
/** Lines of a failed daemon's log quoted in an error. */
const LOG_TAIL_LINES = 5;

/** The cluster a generated corosync.conf describes. */
export interface ClusterFilesSpec {
  clusterName?: string;
  linkMode?: 'passive' | 'active' | 'rr';
  /** Number of configured links (0…links−1). */
  links: number;
  /** UDP port of link 0 (link l uses basePort + l); default 5405. */
  basePort?: number;
  /** Link priorities by link number (default: link0 highest). */
  priorities?: number[];
  nodes: { nodeid: number; name: string; addresses: Record<number, string> }[];
  totemExtra?: Record<string, string | number>;
  quorumExtra?: Record<string, string | number>;
  corolinkExtra?: Record<string, string | number>;
  /**
   * `system { }` keys over `sched_rr: no`: a test or demo daemon never runs real-time unless asked (a busy loop at
   * SCHED_RR could starve the test runner; docs/daemon.md "Scheduling").
   */
  systemExtra?: Record<string, string | number>;
}

/** Writes the corosync.conf for `spec` to `configPath` and a fresh authkey to `authkeyPath`. */
export function writeClusterFiles(spec: ClusterFilesSpec, configPath: string, authkeyPath: string): void {
  const basePort = spec.basePort ?? 5405;
  const text = clusterConfigText({
    clusterName: spec.clusterName ?? 'demo',
    linkMode: spec.linkMode ?? 'passive',
    links: Array.from({ length: spec.links }, (_, l) => ({
      link: l,
      priority: spec.priorities?.[l] ?? 10 * (spec.links - l),
      port: basePort + l,
    })),
    nodes: spec.nodes,
    logging: { to_syslog: 'no', to_stderr: 'yes' },
    system: { sched_rr: 'no', ...spec.systemExtra },
    ...(spec.totemExtra ? { totemExtra: spec.totemExtra } : {}),
    ...(spec.quorumExtra ? { quorumExtra: spec.quorumExtra } : {}),
    ...(spec.corolinkExtra ? { corolinkExtra: spec.corolinkExtra } : {}),
  });
  writeFileSync(configPath, text);
  writeAuthkey(authkeyPath);
}

/** Writes a fresh random authkey (mode 0400). */
function writeAuthkey(path: string): void {
  writeFileSync(path, randomBytes(AUTHKEY_BYTES), { mode: 0o400 });
}

/** Where one daemon reads its config and key and opens its admin socket. */
export interface DaemonFiles {
  configPath: string;
  authkeyPath: string;
  nodeid: number;
  socket: string;
  /** Default: the socket's directory. */
  stateDir?: string;
}

/**
 * Extra node flags for every daemon started by the lab or `LocalCluster` (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`
 * to profile a benchmark), from COROLINK_DAEMON_NODE_ARGS, space-separated; NODE_OPTIONS refuses some of them.
 * They come after DAEMON_NODE_FLAGS, so one of those can be overridden for a run.
 */
function daemonNodeArgs(): string[] {
  return process.env.COROLINK_DAEMON_NODE_ARGS?.split(' ').filter((a) => a !== '') ?? [];
}

/** The environment of a daemon the lab or `LocalCluster` starts: DAEMON_MALLOC_ENV under this process's own. */
export function daemonEnv(): NodeJS.ProcessEnv {
  return { ...DAEMON_MALLOC_ENV, ...process.env };
}

/** The arguments after the node executable that start one daemon. */
export function daemonArgs(files: DaemonFiles): string[] {
  return [
    ...DAEMON_NODE_FLAGS,
    ...daemonNodeArgs(),
    BIN,
    'daemon',
    '-c',
    files.configPath,
    '-k',
    files.authkeyPath,
    '--nodeid',
    String(files.nodeid),
    '--socket',
    files.socket,
    // The ring id file lives next to the socket: one per node, kept across restarts of that node.
    '--state-dir',
    files.stateDir ?? dirname(files.socket),
  ];
}

/** The last lines of a daemon's log file ('' when there is none). */
export function logTail(path: string, lines = LOG_TAIL_LINES): string {
  if (!existsSync(path)) return '';
  return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/** One daemon's status over a fresh connection. */
export async function statusAt(socket: string): Promise<StatusV1> {
  const client = await CorolinkClient.connect({ socket, reconnect: false });
  try {
    return await client.status();
  } finally {
    client.close();
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until the daemon at `socket` answers. `exitedReason` tells whether its process is gone (then the wait
 * fails at once with the log tail).
 */
export async function waitForSocket(
  socket: string,
  label: string,
  logFile: string,
  exitedReason: () => string | undefined,
): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const exited = exitedReason();
    if (exited) throw new Error(`daemon ${label} exited during start (${exited}):\n${logTail(logFile)}`);
    try {
      (await CorolinkClient.connect({ socket, reconnect: false })).close();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`daemon ${label} did not open ${socket} in time`);
      await pause(POLL_INTERVAL_MS);
    }
  }
}

/**
 * Polls the status of every socket until `predicate` holds for all of them; rejects after `timeoutMs` with a
 * summary of the last statuses. `what` names the waiter in the error.
 */
export async function waitForStatuses(
  sockets: string[],
  predicate: (status: StatusV1) => boolean,
  timeoutMs: number,
  what: string,
): Promise<StatusV1[]> {
  const deadline = Date.now() + timeoutMs;
  let last: StatusV1[] = [];
  for (;;) {
    try {
      last = await Promise.all(sockets.map(statusAt));
      if (last.every(predicate)) return last;
    } catch {
      // A daemon that is (re)starting does not answer yet.
    }
    if (Date.now() > deadline) {
      const summary = last.map(
        (s) =>
          `n${s.local_nodeid}: ring ${s.ring_id} members ${s.members.map((m) => m.nodeid)} quorate ${s.quorum.quorate}`,
      );
      throw new Error(`${what}: condition not met within ${timeoutMs} ms (${summary.join('; ') || 'no status'})`);
    }
    await pause(POLL_INTERVAL_MS);
  }
}
