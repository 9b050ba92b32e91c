/**
 * The cable-pull lab: N hosts as network namespaces, one bridge ("switch") per link so every link is a separate
 * network, a veth ("cable") from every host to every switch, and a corolink daemon per host. The admin sockets
 * live in the lab directory on the shared filesystem, so the CLI and the tests reach every host from the root
 * namespace. Faults: pulled cables, switch failures, flapping, netem, partitions, crashes. Every step is bounded
 * in time; every daemon is stopped by PID; every created thing is recorded first (lab-state.ts).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LINKS_MAX } from '../base/limits.ts';
import type { StatusV1 } from '../ipc/schema.ts';
import { ip, ipIn } from './command.ts';
import {
  daemonArgs,
  POLL_INTERVAL_MS,
  statusAt,
  waitForSocket,
  waitForStatuses,
  writeClusterFiles,
} from './daemon-process.ts';
import {
  type Cable,
  clearImpairment,
  dropTo,
  type NetemOptions,
  netem,
  netemAvailable,
  removeFilters,
  undropTo,
} from './impair.ts';
import {
  LAB_NODES_MAX,
  type LabState,
  type LinkMode,
  labAddress,
  labDir,
  names,
  newPrefix,
  readState,
  writeState,
} from './lab-state.ts';

/** How `NetnsLab.up` builds the lab. */
export interface LabOptions {
  /** Lab directory (default $COROLINK_LAB_DIR or /run/corolink-lab). */
  dir?: string;
  nodes: number;
  /** Link networks to bring up. */
  links: number;
  /** Links in the config (default: all). */
  linksConfigured?: number;
  /**
   * Hosts in the config (default: all): hosts members+1…nodes are networked but left out of the nodelist and not
   * started, to join later with `corolink add` (their config and key then live in `hostConfigPath`).
   */
  members?: number;
  mode?: LinkMode;
  /** Start a daemon per host (default true). */
  daemons?: boolean;
  totemExtra?: Record<string, string | number>;
}

const STOP_TIMEOUT_MS = 5_000;
/** USER_HZ of /proc/<pid>/stat (100 on every Linux architecture Node runs on). */
const CLOCK_TICKS_PER_SECOND = 100;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** True when `pid` is alive and is the daemon serving `socket` (guards against reused PIDs). */
function isDaemon(pid: number | undefined, socket: string): boolean {
  if (!pid) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(socket);
  } catch {
    return false;
  }
}

/** A running lab, made by `NetnsLab.up` or found again by `NetnsLab.open`. */
/** CPU time (user + system, seconds) process `pid` has used so far, from /proc/PID/stat. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

export class NetnsLab {
  private constructor(
    /** The lab directory. */
    readonly dir: string,
    private readonly state: LabState,
  ) {}

  /** Builds the networks, writes config and key, starts the daemons and waits for their sockets. */
  static async up(options: LabOptions): Promise<NetnsLab> {
    const dir = labDir(options.dir);
    const linksConfigured = options.linksConfigured ?? options.links;
    if (!Number.isInteger(options.nodes) || options.nodes < 1 || options.nodes > LAB_NODES_MAX)
      throw new RangeError(`--nodes must be 1–${LAB_NODES_MAX}`);
    if (!Number.isInteger(options.links) || options.links < 1 || options.links > LINKS_MAX)
      throw new RangeError(`--links must be 1–${LINKS_MAX}`);
    if (!Number.isInteger(linksConfigured) || linksConfigured < 1 || linksConfigured > options.links)
      throw new RangeError(`--links-configured must be 1–${options.links}`);
    const members = options.members ?? options.nodes;
    if (!Number.isInteger(members) || members < 1 || members > options.nodes)
      throw new RangeError(`--members must be 1–${options.nodes}`);
    if (readState(dir)) throw new Error(`a lab is already up in ${dir} (run \`corolink lab down\` first)`);
    mkdirSync(dir, { recursive: true });
    const state: LabState = {
      version: 1,
      prefix: newPrefix(),
      nodes: options.nodes,
      members,
      links: options.links,
      linksConfigured,
      mode: options.mode ?? 'passive',
      namespaces: [],
      bridges: [],
      pids: {},
    };
    writeState(dir, state);
    const lab = new NetnsLab(dir, state);
    try {
      writeClusterFiles(
        {
          linkMode: state.mode,
          links: linksConfigured,
          nodes: lab.memberIds.map((nodeid) => ({
            nodeid,
            name: lab.hostName(nodeid),
            addresses: Object.fromEntries(
              Array.from({ length: linksConfigured }, (_, l) => [l, labAddress(nodeid, l)] as const),
            ),
          })),
          ...(options.totemExtra ? { totemExtra: options.totemExtra } : {}),
        },
        lab.configPath,
        lab.authkeyPath,
      );
      await lab.buildNetwork();
      if (options.daemons !== false) await Promise.all(lab.memberIds.map((n) => lab.start(n)));
    } catch (error) {
      await lab.down();
      throw error;
    }
    return lab;
  }

  /** The lab in `dir` (default $COROLINK_LAB_DIR or /run/corolink-lab); throws when there is none. */
  static open(dir?: string): NetnsLab {
    const path = labDir(dir);
    const state = readState(path);
    if (!state) throw new Error(`no lab in ${path} (run \`corolink lab up\` first)`);
    return new NetnsLab(path, state);
  }

  /** Node ids 1…N. */
  get nodeids(): number[] {
    return Array.from({ length: this.state.nodes }, (_, i) => i + 1);
  }

  /** The hosts in the generated config (spare hosts excluded). */
  get memberIds(): number[] {
    return this.nodeids.slice(0, this.state.members ?? this.state.nodes);
  }

  /** Number of link networks. */
  get links(): number {
    return this.state.links;
  }

  /** Number of configured links. */
  get linksConfigured(): number {
    return this.state.linksConfigured;
  }

  /** Unique prefix of this lab's namespaces, bridges and veths. */
  get prefix(): string {
    return this.state.prefix;
  }

  get configPath(): string {
    return join(this.dir, 'corosync.conf');
  }

  get authkeyPath(): string {
    return join(this.dir, 'authkey');
  }

  /** The corosync.conf host `nodeid`'s daemon reads: the shared one, or its own for a spare host. */
  hostConfigPath(nodeid: number): string {
    return this.isSpare(nodeid) ? join(this.dir, `n${nodeid}`, 'corosync.conf') : this.configPath;
  }

  hostAuthkeyPath(nodeid: number): string {
    return this.isSpare(nodeid) ? join(this.dir, `n${nodeid}`, 'authkey') : this.authkeyPath;
  }

  private isSpare(nodeid: number): boolean {
    return !this.memberIds.includes(this.checkNode(nodeid));
  }

  hostName(nodeid: number): string {
    return `n${nodeid}`;
  }

  /** Network namespace of host `nodeid`. */
  namespace(nodeid: number): string {
    this.checkNode(nodeid);
    return names.namespace(this.state.prefix, nodeid);
  }

  /** Admin socket of host `nodeid`'s daemon. */
  socket(nodeid: number): string {
    return join(this.dir, `n${nodeid}.sock`);
  }

  /** Log file of host `nodeid`'s daemon. */
  logFile(nodeid: number): string {
    return join(this.dir, `n${nodeid}.log`);
  }

  /** True while host `nodeid`'s daemon runs. */
  running(nodeid: number): boolean {
    return isDaemon(this.state.pids[nodeid], this.socket(nodeid));
  }

  /** PID of host `nodeid`'s daemon, or undefined when it does not run. */
  pid(nodeid: number): number | undefined {
    return this.running(nodeid) ? this.state.pids[nodeid] : undefined;
  }

  /** CPU time (user + system, seconds) host `nodeid`'s daemon has used; throws when it does not run. */
  cpuSeconds(nodeid: number): number {
    const pid = this.state.pids[nodeid];
    if (!pid || !this.running(nodeid)) throw new Error(`the daemon of n${nodeid} does not run`);
    return processCpuSeconds(pid);
  }

  /** Pulls host `nodeid`'s cable on `link` (the switch end of the veth goes down: the host loses carrier). */
  cut(nodeid: number, link: number): Promise<string> {
    return ip('link', 'set', this.switchPort(nodeid, link), 'down');
  }

  /** Plugs the cable back in. */
  restore(nodeid: number, link: number): Promise<string> {
    return ip('link', 'set', this.switchPort(nodeid, link), 'up');
  }

  /** Switches off the whole network of `link`. */
  cutSwitch(link: number): Promise<string> {
    this.checkLink(link);
    return ip('link', 'set', names.bridge(this.state.prefix, link), 'down');
  }

  /** Switches the network of `link` on again. */
  restoreSwitch(link: number): Promise<string> {
    this.checkLink(link);
    return ip('link', 'set', names.bridge(this.state.prefix, link), 'up');
  }

  /**
   * Flaps host `nodeid`'s cable on `link`: down for `periodMs`, up for `periodMs`, … for `forMs`; ends plugged
   * in. Resolves with the number of cuts.
   */
  async flap(nodeid: number, link: number, periodMs: number, forMs: number): Promise<number> {
    const end = Date.now() + forMs;
    let cuts = 0;
    try {
      while (Date.now() + periodMs <= end) {
        await this.cut(nodeid, link);
        cuts++;
        await pause(periodMs);
        await this.restore(nodeid, link);
        await pause(Math.min(periodMs, Math.max(0, end - Date.now())));
      }
    } finally {
      await this.restore(nodeid, link);
    }
    return cuts;
  }

  /** Impairs what host `nodeid` sends on `link` (tc netem, or a BPF loss filter without sch_netem). */
  netem(nodeid: number, link: number, options: NetemOptions): Promise<string> {
    return netem(this.cable(nodeid, link), options);
  }

  /** Removes the impairment of host `nodeid` on `link`. */
  clearNetem(nodeid: number, link: number): Promise<void> {
    return clearImpairment(this.cable(nodeid, link));
  }

  /** True when the kernel has sch_netem (delay, jitter, duplication, reordering); loss works without it. */
  netemAvailable(): Promise<boolean> {
    return netemAvailable(names.sink(this.state.prefix));
  }

  /** Breaks (or, with `broken` false, mends) every link between hosts `a` and `b`, both directions. */
  async breakPair(a: number, b: number, broken = true): Promise<void> {
    const edit = broken ? dropTo : undropTo;
    const steps: Promise<void>[] = [];
    for (let l = 0; l < this.state.links; l++) {
      steps.push(edit(this.cable(a, l), labAddress(b, l)));
      steps.push(edit(this.cable(b, l), labAddress(a, l)));
    }
    await Promise.all(steps);
  }

  /** Splits the hosts into groups that cannot reach each other on any link (hosts not named form a group). */
  async partition(groups: number[][]): Promise<void> {
    const named = new Set(groups.flat());
    const rest = this.nodeids.filter((n) => !named.has(n));
    const all = rest.length > 0 ? [...groups, rest] : groups;
    const groupOf = new Map(all.flatMap((g, i) => g.map((n) => [this.checkNode(n), i] as const)));
    await this.heal();
    const pairs: Promise<void>[] = [];
    for (const a of this.nodeids)
      for (const b of this.nodeids) if (a < b && groupOf.get(a) !== groupOf.get(b)) pairs.push(this.breakPair(a, b));
    await Promise.all(pairs);
  }

  /** Undoes every network fault: cables and switches back, partitions and impairments removed, addresses back. */
  async heal(): Promise<void> {
    await Promise.all(
      Array.from({ length: this.state.links }, async (_, l) => {
        await this.restoreSwitch(l);
        await Promise.all(
          this.nodeids.map(async (n) => {
            await this.restore(n, l);
            await removeFilters(this.cable(n, l));
            await this.clearNetem(n, l);
            await this.restoreAddress(n, l);
          }),
        );
      }),
    );
  }

  /** Deletes host `nodeid`'s address on `link` (`ip addr del`; the interface stays up). */
  removeAddress(nodeid: number, link: number): Promise<string> {
    this.checkLink(link);
    return ipIn(this.namespace(nodeid), 'addr', 'del', `${labAddress(nodeid, link)}/24`, 'dev', names.hostPort(link));
  }

  /** Puts host `nodeid`'s address on `link` back (no-op when it is there). */
  restoreAddress(nodeid: number, link: number): Promise<string> {
    this.checkLink(link);
    return ipIn(
      this.namespace(nodeid),
      'addr',
      'replace',
      `${labAddress(nodeid, link)}/24`,
      'dev',
      names.hostPort(link),
    );
  }

  /** SIGKILLs host `nodeid`'s daemon (a crash) and waits until it is gone. */
  async crash(nodeid: number): Promise<void> {
    await this.stopDaemon(nodeid, 'SIGKILL');
  }

  /** Starts host `nodeid`'s daemon (no-op when it runs) and waits for its admin socket. */
  async start(nodeid: number): Promise<void> {
    if (this.running(nodeid)) return;
    const socket = this.socket(nodeid);
    rmSync(socket, { force: true });
    const log = openSync(this.logFile(nodeid), 'a');
    let pid: number | undefined;
    try {
      const child = spawn(
        'ip',
        [
          'netns',
          'exec',
          this.namespace(nodeid),
          process.execPath,
          ...daemonArgs({
            configPath: this.hostConfigPath(nodeid),
            authkeyPath: this.hostAuthkeyPath(nodeid),
            nodeid,
            socket,
          }),
        ],
        { detached: true, stdio: ['ignore', log, log] },
      );
      child.unref();
      pid = child.pid;
    } finally {
      closeSync(log);
    }
    if (!pid) throw new Error(`cannot start the daemon of n${nodeid}`);
    this.state.pids[nodeid] = pid;
    writeState(this.dir, this.state);
    // `ip netns exec` execs node in place, so the PID is the daemon's; until then its cmdline is ip's.
    await waitForSocket(socket, `n${nodeid}`, this.logFile(nodeid), () =>
      existsSync(`/proc/${pid}`) && readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] !== 'Z'
        ? undefined
        : 'process gone',
    );
  }

  /** Host `nodeid`'s status (`corolink status --json` in that host). */
  status(nodeid: number): Promise<StatusV1> {
    this.checkNode(nodeid);
    return statusAt(this.socket(nodeid));
  }

  /** Every host's status keyed by host name; null for a host whose daemon does not answer. */
  async statusAll(): Promise<Record<string, StatusV1 | null>> {
    const entries = await Promise.all(
      this.nodeids.map(async (n) => [this.hostName(n), await this.status(n).catch(() => null)] as const),
    );
    return Object.fromEntries(entries);
  }

  /**
   * Polls the status of the given hosts (default: every host whose daemon runs) until `predicate` holds for
   * all; rejects after `timeoutMs` with the last statuses.
   */
  waitFor(
    predicate: (status: StatusV1) => boolean,
    { timeoutMs = 20_000, nodes }: { timeoutMs?: number; nodes?: number[] } = {},
  ): Promise<StatusV1[]> {
    const ids = nodes ?? this.nodeids.filter((n) => this.running(n));
    return waitForStatuses(
      ids.map((n) => this.socket(n)),
      predicate,
      timeoutMs,
      'lab',
    );
  }

  /**
   * Runs `command` inside host `nodeid`'s namespace with COROLINK_SOCKET and COROLINK_CONFIG preset, output to this process's
   * stdout/stderr; killed after `timeoutMs`. Resolves with the exit code.
   */
  exec(nodeid: number, command: string[], timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const child = spawn(
        'ip',
        [
          'netns',
          'exec',
          this.namespace(nodeid),
          'env',
          `COROLINK_SOCKET=${this.socket(nodeid)}`,
          `COROLINK_CONFIG=${this.hostConfigPath(nodeid)}`,
          ...command,
        ],
        { stdio: 'inherit' },
      );
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('error', reject);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        resolve(code ?? (signal ? 128 + 9 : 1));
      });
    });
  }

  /** Stops every daemon, deletes every namespace and bridge of this lab and the lab directory. */
  async down(): Promise<void> {
    await Promise.all(this.nodeids.map((n) => this.stopDaemon(n, 'SIGTERM')));
    for (const ns of this.state.namespaces) await ip('netns', 'del', ns).catch(() => undefined);
    for (const bridge of this.state.bridges) await ip('link', 'del', bridge).catch(() => undefined);
    // Deleting a namespace deletes its veths and their switch ends; delete any left in the root namespace.
    for (const n of this.nodeids)
      for (let l = 0; l < this.state.links; l++) await ip('link', 'del', this.switchPort(n, l)).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async buildNetwork(): Promise<void> {
    const { prefix } = this.state;
    const sink = names.sink(prefix);
    this.record('bridges', sink);
    await ip('link', 'add', sink, 'type', 'veth', 'peer', 'name', `${sink}p`);
    for (let l = 0; l < this.state.links; l++) {
      const bridge = names.bridge(prefix, l);
      this.record('bridges', bridge);
      await ip('link', 'add', bridge, 'type', 'bridge');
      await ip('link', 'set', bridge, 'up');
    }
    await Promise.all(this.nodeids.map((n) => this.buildHost(n)));
  }

  private async buildHost(nodeid: number): Promise<void> {
    const ns = this.namespace(nodeid);
    this.record('namespaces', ns);
    await ip('netns', 'add', ns);
    await ipIn(ns, 'link', 'set', 'lo', 'up');
    for (let l = 0; l < this.state.links; l++) {
      const port = this.switchPort(nodeid, l);
      const dev = names.hostPort(l);
      await ip('link', 'add', port, 'type', 'veth', 'peer', 'name', dev, 'netns', ns);
      await ip('link', 'set', port, 'master', names.bridge(this.state.prefix, l));
      await ip('link', 'set', port, 'up');
      await ipIn(ns, 'addr', 'add', `${labAddress(nodeid, l)}/24`, 'dev', dev);
      await ipIn(ns, 'link', 'set', dev, 'up');
    }
  }

  /** Records a resource in lab.json before it is created. */
  private record(kind: 'namespaces' | 'bridges', name: string): void {
    this.state[kind].push(name);
    writeState(this.dir, this.state);
  }

  private async stopDaemon(nodeid: number, signal: NodeJS.Signals): Promise<void> {
    const pid = this.state.pids[nodeid];
    if (pid && this.running(nodeid)) {
      process.kill(pid, signal);
      const deadline = Date.now() + STOP_TIMEOUT_MS;
      while (this.running(nodeid)) {
        if (Date.now() > deadline + STOP_TIMEOUT_MS) throw new Error(`daemon n${nodeid} (pid ${pid}) does not exit`);
        if (Date.now() > deadline) process.kill(pid, 'SIGKILL');
        await pause(POLL_INTERVAL_MS);
      }
    }
    delete this.state.pids[nodeid];
    writeState(this.dir, this.state);
  }

  /** Host `nodeid`'s cable on `link`, for the impairment functions. */
  private cable(nodeid: number, link: number): Cable {
    return {
      ns: this.namespace(nodeid),
      hostDev: names.hostPort(link),
      switchDev: this.switchPort(nodeid, link),
      sink: names.sink(this.state.prefix),
    };
  }

  private switchPort(nodeid: number, link: number): string {
    this.checkNode(nodeid);
    this.checkLink(link);
    return names.switchPort(this.state.prefix, nodeid, link);
  }

  private checkNode(nodeid: number): number {
    if (!Number.isInteger(nodeid) || nodeid < 1 || nodeid > this.state.nodes)
      throw new RangeError(`no host ${nodeid} in this lab (hosts 1–${this.state.nodes})`);
    return nodeid;
  }

  private checkLink(link: number): void {
    if (!Number.isInteger(link) || link < 0 || link >= this.state.links)
      throw new RangeError(`no link ${link} in this lab (links 0–${this.state.links - 1})`);
  }
}
