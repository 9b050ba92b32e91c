/**
 * A cluster of real corolink daemons on this machine's loopback: each node is a child process bound to its
 * own 127.0.<subnet>.<host> address per link (Linux routes all of 127/8 to lo, so no root is needed). Used by
 * `npm start`, the integration and browser tests and the benchmarks. Every process it starts is stopped by PID,
 * and each daemon is tied to this process (`--exit-with-parent`: it leaves when the stdin pipe from here closes),
 * so that no daemon outlives it, even when it is killed with SIGKILL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CorolinkClient } from '../client/client.ts';
import { appSocketPath } from '../config/paths.ts';
import type { StatusV1 } from '../ipc/schema.ts';
import {
  daemonArgs,
  daemonEnv,
  statusAt,
  waitForSocket,
  waitForStatuses,
  writeClusterFiles,
} from './daemon-process.ts';

const STOP_TIMEOUT_MS = 10_000;

export interface LocalClusterOptions {
  /** Working directory for configs, keys, sockets and logs (default: a new temp dir, removed on stop). */
  dir?: string;
  /** Where the daemons' log files go instead (kept on stop: `corolink start --keep-logs DIR`). */
  logDir?: string;
  nodes?: number;
  links?: number;
  linkMode?: 'passive' | 'active' | 'rr';
  /** Third octet of each link's 127.0.X.0/24 network (default 10, 20, 30, …). */
  linkSubnets?: number[];
  /** Host octet of node 1 (node n gets firstHost + n − 1); tests pick distinct ones to run side by side. */
  firstHost?: number;
  /** UDP port of link 0 (link l uses basePort + l); default 5405. */
  basePort?: number;
  clusterName?: string;
  totemExtra?: Record<string, string | number>;
  quorumExtra?: Record<string, string | number>;
  /** `corolink {}` keys, e.g. `{ ha: 'yes' }`. */
  corolinkExtra?: Record<string, string | number>;
  /** `system {}` keys over `sched_rr: no` (e.g. `{ sched_rr: 'yes' }`, or `{ priority: 5 }`). */
  systemExtra?: Record<string, string | number>;
  /** Link priorities by link number (default: link0 highest). */
  priorities?: number[];
  /** HTTP dashboard/metrics port of node 1 on 127.0.0.1 (node n gets httpBasePort + n − 1); default: no HTTP. */
  httpBasePort?: number;
}

export interface LocalNode {
  nodeid: number;
  name: string;
  /** The corosync.conf and authkey this node's daemon reads (shared, except for a node that joined later). */
  configPath: string;
  authkeyPath: string;
  socket: string;
  logFile: string;
  addresses: Record<number, string>;
  /** The node's dashboard URL (`http://127.0.0.1:port/`), when the cluster has HTTP ports. */
  httpUrl: string | undefined;
  process: ChildProcess | undefined;
}

export class LocalCluster {
  readonly nodes: LocalNode[];
  readonly configPath: string;
  readonly authkeyPath: string;
  /** Where the log files are (the working directory unless `logDir` was given). */
  readonly logDir: string;

  private constructor(
    readonly dir: string,
    private readonly ownsDir: boolean,
    options: Required<Pick<LocalClusterOptions, 'nodes' | 'links' | 'firstHost'>> & LocalClusterOptions,
  ) {
    const subnets = options.linkSubnets ?? Array.from({ length: options.links }, (_, l) => 10 * (l + 1));
    this.configPath = join(dir, 'corosync.conf');
    this.authkeyPath = join(dir, 'authkey');
    this.logDir = options.logDir ?? dir;
    this.nodes = Array.from({ length: options.nodes }, (_, i) => {
      const nodeid = i + 1;
      const host = options.firstHost + i;
      const addresses: Record<number, string> = {};
      for (let l = 0; l < options.links; l++) addresses[l] = `127.0.${subnets[l]}.${host}`;
      return {
        nodeid,
        name: `n${nodeid}`,
        configPath: join(dir, 'corosync.conf'),
        authkeyPath: join(dir, 'authkey'),
        socket: join(dir, `n${nodeid}.sock`),
        logFile: join(this.logDir, `n${nodeid}.log`),
        addresses,
        httpUrl: options.httpBasePort === undefined ? undefined : `http://127.0.0.1:${options.httpBasePort + i}/`,
        process: undefined,
      };
    });
    writeClusterFiles(
      {
        ...options,
        nodes: this.nodes.map((n) => ({ nodeid: n.nodeid, name: n.name, addresses: n.addresses })),
      },
      this.configPath,
      this.authkeyPath,
    );
  }

  /** Writes the config and key, starts every daemon and waits until each answers on its admin socket. */
  static async start(options: LocalClusterOptions = {}): Promise<LocalCluster> {
    const ownsDir = options.dir === undefined;
    const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'corolink-'));
    mkdirSync(dir, { recursive: true });
    if (options.logDir !== undefined) mkdirSync(options.logDir, { recursive: true });
    const cluster = new LocalCluster(dir, ownsDir, {
      ...options,
      nodes: options.nodes ?? 3,
      links: options.links ?? 2,
      firstHost: options.firstHost ?? 1,
    });
    try {
      for (const node of cluster.nodes) cluster.spawn(node);
      await Promise.all(cluster.nodes.map((node) => cluster.waitForSocket(node)));
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  node(nodeid: number): LocalNode {
    const node = this.nodes.find((n) => n.nodeid === nodeid);
    if (!node) throw new RangeError(`no node ${nodeid} in this local cluster`);
    return node;
  }

  /** A client connected to one node's daemon (the caller closes it). */
  client(nodeid: number): Promise<CorolinkClient> {
    return CorolinkClient.connect({ socket: this.node(nodeid).socket, reconnect: false });
  }

  /** One node's status (a fresh connection each time). */
  status(nodeid: number): Promise<StatusV1> {
    return statusAt(this.node(nodeid).socket);
  }

  /**
   * Polls the status of the given nodes (default: every running node) until `predicate` holds for all of them;
   * rejects after `timeoutMs` with the last statuses in the message.
   */
  waitFor(
    predicate: (status: StatusV1) => boolean,
    { timeoutMs = 20_000, nodes }: { timeoutMs?: number; nodes?: number[] } = {},
  ): Promise<StatusV1[]> {
    const ids = nodes ?? this.nodes.filter((n) => n.process).map((n) => n.nodeid);
    return waitForStatuses(
      ids.map((id) => this.node(id).socket),
      predicate,
      timeoutMs,
      'local cluster',
    );
  }

  /** Waits until every running node sees one quorate membership of all running nodes. */
  waitForQuorateMembership(count = this.nodes.filter((n) => n.process).length, timeoutMs = 20_000) {
    return this.waitFor((s) => s.quorum.quorate && s.members.length === count, { timeoutMs });
  }

  /** Kills one daemon (SIGKILL by default: a crash) and waits for it to exit. */
  async kill(nodeid: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const node = this.node(nodeid);
    const child = node.process;
    node.process = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }

  /** Starts a stopped daemon again and waits for its admin socket. */
  async restart(nodeid: number): Promise<void> {
    const node = this.node(nodeid);
    if (node.process) return;
    this.spawn(node);
    await this.waitForSocket(node);
  }

  /**
   * Starts the daemon of a node that joined the running cluster (`corolink add` wrote its own config and authkey)
   * and waits for its admin socket.
   */
  async startJoined(
    node: Pick<LocalNode, 'nodeid' | 'name' | 'configPath' | 'authkeyPath' | 'addresses'>,
  ): Promise<LocalNode> {
    if (this.nodes.some((n) => n.nodeid === node.nodeid)) throw new RangeError(`node ${node.nodeid} exists`);
    const joined: LocalNode = {
      ...node,
      socket: join(this.dir, `n${node.nodeid}.sock`),
      logFile: join(this.logDir, `n${node.nodeid}.log`),
      httpUrl: undefined,
      process: undefined,
    };
    this.nodes.push(joined);
    this.spawn(joined);
    await this.waitForSocket(joined);
    return joined;
  }

  /** Stops every daemon (SIGTERM: a clean leave) and removes the temp dir it made. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => this.kill(node.nodeid, 'SIGTERM')));
    if (!this.ownsDir) return;
    rmSync(this.dir, { recursive: true, force: true });
    // The application sockets' folder beside it (left behind by a daemon that was killed).
    rmSync(dirname(appSocketPath(join(this.dir, 'n1.sock'))), { recursive: true, force: true });
  }

  private spawn(node: LocalNode): void {
    const log = openSync(node.logFile, 'a');
    try {
      node.process = spawn(
        process.execPath,
        [
          ...daemonArgs({
            configPath: node.configPath,
            authkeyPath: node.authkeyPath,
            nodeid: node.nodeid,
            socket: node.socket,
          }),
          ...(node.httpUrl === undefined ? [] : ['--http-port', new URL(node.httpUrl).port]),
          '--exit-with-parent',
        ],
        // stdin: the pipe the daemon watches; this process never writes to it, its end means this process is gone.
        { stdio: ['pipe', log, log], env: daemonEnv() },
      );
    } finally {
      closeSync(log);
    }
  }

  private waitForSocket(node: LocalNode): Promise<void> {
    return waitForSocket(node.socket, `n${node.nodeid}`, node.logFile, () => {
      const child = node.process;
      return !child || child.exitCode !== null ? `exit ${child?.exitCode}` : undefined;
    });
  }
}
