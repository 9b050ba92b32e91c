/**
 * The cable-pull lab: N hosts as network namespaces, one bridge ("switch") per link so every link is a separate
 * network, a veth ("cable") from every host to every switch, and a corolink daemon per host. The admin sockets
 * live in the lab directory on the shared filesystem, so the CLI and the tests reach every host from the root
 * namespace. Faults: pulled cables, switch failures, flapping, netem, partitions, crashes. Every step is bounded
 * in time; every daemon is stopped by PID; every created thing is recorded first (lab-state.ts).
 */
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { LINKS_MAX } from '../base/limits.ts';
import { appSocketPath, haWatchdogPaths } from '../config/paths.ts';
import type { StatusV1 } from '../ipc/schema.ts';
import { type ArmedCommand, armIp, ip, ipIn, run } from './command.ts';
import {
  BIN,
  daemonArgs,
  daemonEnv,
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
  CLIENT_SERVICE_ADDRESS,
  LAB_NODES_MAX,
  type LabState,
  type LinkMode,
  labAddress,
  labDir,
  labMac,
  names,
  newPrefix,
  readState,
  SERVICE_NET_PREFIX_LENGTH,
  serviceAddress,
  writeState,
} from './lab-state.ts';
import { type PollOptions, type PollSample, pollInNamespace } from './poller.ts';
import {
  isQnetd,
  qnetdAddress,
  qnetdDaemonScript,
  qnetdNames,
  qnetdPaths,
  qnetdShellArgv,
  qnetdUnavailableReason,
  waitForQnetd,
} from './qnetd-host.ts';

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
  /** Keys of the `corolink { }` section (e.g. `{ ha: 'yes' }`). */
  corolinkExtra?: Record<string, string | number>;
  /** Keys of the `system { }` section over `sched_rr: no` (e.g. `{ sched_rr: 'yes' }`: real-time, as corosync runs). */
  systemExtra?: Record<string, string | number>;
  /** Add a host running Debian's corosync-qnetd on link0's network (qnetd-host.ts). */
  qnetd?: boolean;
  /**
   * Hosts whose daemon keeps its state (store, ring id) on a tmpfs of its own of this many bytes, by nodeid, so a
   * test can fill that disk (`fillStateDisk`) without touching the machine's.
   */
  stateDiskBytes?: Record<number, number>;
}

/** What `start` may add to a daemon's environment (e.g. LD_PRELOAD of libfaketime). */
export interface StartOptions {
  env?: Record<string, string>;
}

const STOP_TIMEOUT_MS = 5_000;
/** Write size of `fillStateDisk` (halved at ENOSPC down to one byte). */
const FILL_CHUNK_BYTES = 64 * 1024;
/** Time limit of corosync-qnetd-certutil -i (it makes two keys). */
const QNETD_INIT_TIMEOUT_MS = 60_000;
/** Neighbour timings of every service interface (see `plugServiceCable`). */
const SERVICE_NEIGHBOUR_SYSCTLS = {
  base_reachable_time_ms: 500,
  delay_first_probe_time: 0,
  ucast_solicit: 3,
  retrans_time_ms: 100,
};
/** USER_HZ of /proc/<pid>/stat (100 on every Linux architecture Node runs on). */
const CLOCK_TICKS_PER_SECOND = 100;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** True when process `pid` has exited but is not reaped yet. */
function isZombie(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] === 'Z';
  } catch {
    return true;
  }
}

/** True when `pid` is alive (not a zombie) and names `socket` on its command line (guards against reused PIDs). */
function isProcessServing(pid: number | undefined, socket: string): boolean {
  if (!pid) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(socket);
  } catch {
    return false;
  }
}

/** PIDs of every live process whose network namespace is the named namespace `ns` (`ip netns add`). */
export function processesInNamespace(ns: string): number[] {
  const inode = statSync(`/run/netns/${ns}`).ino;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (statSync(`/proc/${entry}/ns/net`).ino === inode && !isZombie(Number(entry))) pids.push(Number(entry));
    } catch {
      // It exited meanwhile.
    }
  }
  return pids;
}

/** SIGKILLs every process of `pids` that still exists. */
function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // It exited meanwhile.
    }
  }
}

/** CPU time (user + system, seconds) process `pid` has used so far, from /proc/PID/stat. */
export function processCpuSeconds(pid: number): number {
  return cpuSecondsIn(`/proc/${pid}/stat`);
}

/**
 * CPU time (user + system, seconds) of process `pid`'s main thread alone (the event loop; not V8's compiler and GC
 * helper threads nor libuv's pool), from /proc/PID/task/PID/stat.
 */
export function mainThreadCpuSeconds(pid: number): number {
  return cpuSecondsIn(`/proc/${pid}/task/${pid}/stat`);
}

/**
 * CPU time (user + system, seconds) of process `pid` and its descendants: its own, its live descendants' (children
 * of every thread, /proc/PID/task/TID/children, recursively) and what the reaped ones used (cutime + cstime), so a
 * descendant's CPU counts whether it is alive at the end of a window or exited within it.
 */
export function processTreeCpuSeconds(pid: number): number {
  const children = readdirSync(`/proc/${pid}/task`).flatMap((tid) => {
    try {
      return readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
    } catch {
      return []; // the thread exited meanwhile
    }
  });
  let seconds = cpuSecondsIn(`/proc/${pid}/stat`, true);
  for (const child of children) {
    try {
      seconds += processTreeCpuSeconds(child);
    } catch {
      // It exited meanwhile: its parent's reaped figure has it.
    }
  }
  return seconds;
}

/** user + system from a stat file; with `reaped`, plus the reaped children's (cutime + cstime). */
function cpuSecondsIn(statPath: string, reaped = false): number {
  const stat = readFileSync(statPath, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]) + (reaped ? Number(fields[13]) + Number(fields[14]) : 0);
  return ticks / CLOCK_TICKS_PER_SECOND;
}

/** A running lab, made by `NetnsLab.up` or found again by `NetnsLab.open`. */
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
    const noQnetd = options.qnetd ? qnetdUnavailableReason() : undefined;
    if (noQnetd) throw new Error(noQnetd);
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
      ...(options.qnetd ? { qnetd: {} } : {}),
    };
    writeState(dir, state);
    const lab = new NetnsLab(dir, state);
    try {
      lab.writeCorolinkOnPath();
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
          ...(options.corolinkExtra ? { corolinkExtra: options.corolinkExtra } : {}),
          ...(options.systemExtra ? { systemExtra: options.systemExtra } : {}),
        },
        lab.configPath,
        lab.authkeyPath,
      );
      await lab.buildNetwork();
      for (const [n, bytes] of Object.entries(options.stateDiskBytes ?? {})) await lab.mountStateDisk(Number(n), bytes);
      if (options.qnetd) await lab.buildQnetdHost();
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

  /** Network namespace of the client host on the service network. */
  get clientNamespace(): string {
    if (!this.state.serviceNet) throw new Error('this lab has no service network (made by an older corolink)');
    return names.clientNamespace(this.state.prefix);
  }

  /** Host `nodeid`'s own address on the service network (on its interface `svc0`). */
  serviceAddress(nodeid: number): string {
    return serviceAddress(this.checkNode(nodeid));
  }

  /** Requests `url` from the client host every `intervalMs` for `forMs`: who answered, when (./poller.ts). */
  poll(url: string, options: PollOptions): Promise<PollSample[]> {
    return pollInNamespace(this.clientNamespace, url, options);
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
    return isProcessServing(this.state.pids[nodeid], this.socket(nodeid));
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

  /** `cut(nodeid, link)` prepared now and done when fired (for timing around the pull; see `armIp`). */
  armCut(nodeid: number, link: number): ArmedCommand {
    return armIp(['link', 'set', this.switchPort(nodeid, link), 'down']);
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

  /**
   * Drops (or, with `broken` false, lets through again) what host `from` sends to host `to` on `link`: one
   * direction of one path, everything else untouched.
   */
  cutOneWay(from: number, to: number, link: number, broken = true): Promise<void> {
    return (broken ? dropTo : undropTo)(this.cable(from, link), labAddress(to, link));
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

  /**
   * SIGKILLs host `nodeid`'s daemon (a crash) and waits until it is gone. With `host`, the whole host is gone: every
   * process of its namespace is SIGKILLed (daemon, HA watchdog supervisor, services), its interfaces go down and
   * the service interface loses every address but the host's own (a rebooted host has no floating address);
   * `start` brings it back.
   */
  async crash(nodeid: number, { host = false }: { host?: boolean } = {}): Promise<void> {
    if (!host) return this.stopDaemon(nodeid, 'SIGKILL');
    this.state.crashedHosts = [...new Set([...(this.state.crashedHosts ?? []), nodeid])];
    writeState(this.dir, this.state);
    const ns = this.namespace(nodeid);
    const pids = processesInNamespace(ns);
    killAll(pids);
    await Promise.all(this.hostInterfaces().map((dev) => ipIn(ns, 'link', 'set', dev, 'down')));
    await ipIn(ns, 'addr', 'flush', 'dev', names.servicePort);
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    while (pids.some((pid) => existsSync(`/proc/${pid}`) && !isZombie(pid))) {
      if (Date.now() > deadline) throw new Error(`processes of host n${nodeid} survive SIGKILL`);
      await pause(POLL_INTERVAL_MS);
    }
    delete this.state.pids[nodeid];
    writeState(this.dir, this.state);
  }

  /** The directory host `nodeid`'s daemon keeps its store and ring id in. */
  stateDir(nodeid: number): string {
    return this.state.stateDisks?.[this.checkNode(nodeid)] ?? this.dir;
  }

  /** Fills host `nodeid`'s own state disk (`stateDiskBytes`) to the last byte; `freeStateDisk` undoes it. */
  fillStateDisk(nodeid: number): void {
    const fd = openSync(this.stateDiskFiller(nodeid), 'w', 0o600);
    const chunk = Buffer.alloc(FILL_CHUNK_BYTES);
    try {
      // Bounded: the disk is the lab's own small tmpfs; ENOSPC ends the loop.
      for (let size = chunk.byteLength; size > 0; ) {
        try {
          writeSync(fd, chunk, 0, size);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
          size >>= 1;
        }
      }
    } finally {
      closeSync(fd);
    }
  }

  /** Frees what `fillStateDisk` took. */
  freeStateDisk(nodeid: number): void {
    rmSync(this.stateDiskFiller(nodeid), { force: true });
  }

  private stateDiskFiller(nodeid: number): string {
    if (this.state.stateDisks?.[this.checkNode(nodeid)] === undefined)
      throw new RangeError(`host n${nodeid} has no state disk of its own (stateDiskBytes)`);
    return join(this.stateDir(nodeid), 'filler');
  }

  /** Mounts a tmpfs of `bytes` (mode 0700) as host `nodeid`'s state directory; recorded before it is mounted. */
  private async mountStateDisk(nodeid: number, bytes: number): Promise<void> {
    const path = join(this.dir, `n${this.checkNode(nodeid)}.state`);
    mkdirSync(path, { mode: 0o700 });
    this.state.stateDisks = { ...this.state.stateDisks, [nodeid]: path };
    writeState(this.dir, this.state);
    await run('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0700`, 'tmpfs', path]);
  }

  /** PIDs of every process in host `nodeid`'s network namespace (its daemon, supervisor, services). */
  processes(nodeid: number): number[] {
    return processesInNamespace(this.namespace(nodeid));
  }

  /**
   * Starts host `nodeid`'s daemon (no-op when it runs) and waits for its admin socket; a crashed host (`crash`
   * with `host`) gets its interfaces and its own service address back first.
   */
  async start(nodeid: number, options: StartOptions = {}): Promise<void> {
    if (this.state.crashedHosts?.includes(nodeid)) {
      const ns = this.namespace(nodeid);
      const own = `${serviceAddress(nodeid)}/${SERVICE_NET_PREFIX_LENGTH}`;
      await ipIn(ns, 'addr', 'replace', own, 'dev', names.servicePort);
      await Promise.all(this.hostInterfaces().map((dev) => ipIn(ns, 'link', 'set', dev, 'up')));
      await this.pinNeighbours(nodeid);
      this.state.crashedHosts = this.state.crashedHosts.filter((n) => n !== nodeid);
      writeState(this.dir, this.state);
    }
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
          // env execs in place too, so the PID stays the daemon's.
          ...(options.env ? ['env', ...Object.entries(options.env).map(([k, v]) => `${k}=${v}`)] : []),
          process.execPath,
          ...daemonArgs({
            configPath: this.hostConfigPath(nodeid),
            authkeyPath: this.hostAuthkeyPath(nodeid),
            nodeid,
            socket,
            stateDir: this.stateDir(nodeid),
          }),
        ],
        // `ip netns exec` passes the environment on to the daemon.
        { detached: true, stdio: ['ignore', log, log], env: daemonEnv() },
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
      existsSync(`/proc/${pid}`) && !isZombie(pid) ? undefined : 'process gone',
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
      const [file, ...args] = this.nodeCommand(nodeid, command);
      const child = spawn(file!, args, { stdio: 'inherit' });
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('error', reject);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        resolve(code ?? (signal ? 128 + 9 : 1));
      });
    });
  }

  /** True when the lab has a qnetd host (`lab up --qnetd`). */
  get hasQnetd(): boolean {
    return this.state.qnetd !== undefined;
  }

  /** The qnetd host's address on link0. */
  get qnetdAddress(): string {
    return qnetdAddress();
  }

  /** The qnetd host's namespace. */
  get qnetdNamespace(): string {
    this.checkQnetd();
    return qnetdNames.namespace(this.state.prefix);
  }

  /** corosync-qnetd's local socket (`corosync-qnetd-tool -l -p <it>`) and its log file. */
  get qnetdFiles(): { socket: string; log: string } {
    const { socket, log } = qnetdPaths(this.dir);
    return { socket, log };
  }

  /** True while the qnetd host's corosync-qnetd runs. */
  qnetdRunning(): boolean {
    return isQnetd(this.state.qnetd?.pid, this.dir);
  }

  /** Starts corosync-qnetd on the qnetd host (no-op when it runs) and waits until it answers. */
  async startQnetd(): Promise<void> {
    this.checkQnetd();
    if (this.qnetdRunning()) return;
    const log = openSync(qnetdPaths(this.dir).log, 'a');
    let pid: number | undefined;
    try {
      const [file, ...args] = qnetdShellArgv(this.qnetdNamespace, this.dir, qnetdDaemonScript(this.dir));
      const child = spawn(file!, args, { detached: true, stdio: ['ignore', log, log] });
      child.unref();
      pid = child.pid;
    } finally {
      closeSync(log);
    }
    if (!pid) throw new Error('cannot start corosync-qnetd');
    this.state.qnetd = { pid };
    writeState(this.dir, this.state);
    // ip, then sh twice, exec in place: the PID is corosync-qnetd's.
    await waitForQnetd(this.dir, () => existsSync(`/proc/${pid}`) && !isZombie(pid));
  }

  /** Stops corosync-qnetd (SIGTERM, SIGKILL after a grace period) and waits until it is gone. */
  async stopQnetd(): Promise<void> {
    this.checkQnetd();
    await this.stopProcess(this.state.qnetd?.pid, () => this.qnetdRunning(), 'corosync-qnetd', 'SIGTERM');
    this.state.qnetd = {};
    writeState(this.dir, this.state);
  }

  /**
   * Runs the shell `script` on a lab host, as `ssh root@host script` would: `host` is an address of the host or
   * its name (n2, qnetd). A node's shell has COROLINK_SOCKET and COROLINK_CONFIG preset; the qnetd host's has its
   * own /etc/corosync/qnetd. stdin, stdout and stderr are this process's. Resolves with the exit code.
   */
  rsh(host: string, script: string, timeoutMs: number): Promise<number> {
    const argv = this.hostShellArgv(host, script);
    return new Promise((resolve, reject) => {
      const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit' });
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('error', reject);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        resolve(code ?? (signal ? 128 + 9 : 1));
      });
    });
  }

  private hostShellArgv(host: string, script: string): string[] {
    if (this.hasQnetd && (host === 'qnetd' || host === qnetdAddress())) {
      return qnetdShellArgv(this.qnetdNamespace, this.dir, script);
    }
    const nodeid = this.nodeids.find(
      (n) =>
        host === this.hostName(n) ||
        Array.from({ length: this.state.links }, (_, l) => labAddress(n, l)).includes(host),
    );
    if (nodeid === undefined) throw new RangeError(`no lab host has the name or address '${host}'`);
    return this.nodeCommand(nodeid, ['sh', '-c', script]);
  }

  /**
   * `command` run in host `nodeid`'s namespace with its COROLINK_SOCKET and COROLINK_CONFIG preset, this corolink
   * first on PATH as the package installs it on a real node (`qdevice setup` runs `corolink status` on the other
   * nodes over the remote shell), and COROLINK_LAB_DIR set so that `corolink lab rsh` there finds this lab.
   */
  private nodeCommand(nodeid: number, command: readonly string[]): string[] {
    const env = [
      `COROLINK_SOCKET=${this.socket(nodeid)}`,
      `COROLINK_CONFIG=${this.hostConfigPath(nodeid)}`,
      `COROLINK_LAB_DIR=${this.dir}`,
      `PATH=${this.binDir}:${process.env.PATH ?? ''}`,
    ];
    return ['ip', 'netns', 'exec', this.namespace(nodeid), 'env', ...env, ...command];
  }

  /** The folder with the lab's `corolink` command (runs this checkout's bin/corolink.mjs with this node). */
  private get binDir(): string {
    return join(this.dir, 'bin');
  }

  private writeCorolinkOnPath(): void {
    mkdirSync(this.binDir, { recursive: true });
    writeFileSync(join(this.binDir, 'corolink'), `#!/bin/sh\nexec '${process.execPath}' '${BIN}' "$@"\n`, {
      mode: 0o755,
    });
  }

  /**
   * Stops every daemon, every HA watchdog supervisor and the qnetd host's corosync-qnetd, kills what else runs in
   * the lab's namespaces, deletes every namespace and bridge of this lab and the lab directory.
   */
  async down(): Promise<void> {
    if (this.hasQnetd) await this.stopQnetd();
    await Promise.all(this.nodeids.map((n) => this.stopDaemon(n, 'SIGTERM')));
    await Promise.all(this.nodeids.map((n) => this.stopWatchdog(n)));
    // What the daemons left running in their hosts (HA services after a crash) goes with the host.
    for (const ns of this.state.namespaces) if (existsSync(`/run/netns/${ns}`)) killAll(processesInNamespace(ns));
    for (const ns of this.state.namespaces) await ip('netns', 'del', ns).catch(() => undefined);
    for (const bridge of this.state.bridges) await ip('link', 'del', bridge).catch(() => undefined);
    // Deleting a namespace deletes its veths and their switch ends; delete any left in the root namespace.
    for (const n of this.nodeids)
      for (let l = 0; l < this.state.links; l++) await ip('link', 'del', this.switchPort(n, l)).catch(() => undefined);
    if (this.hasQnetd) await ip('link', 'del', qnetdNames.switchPort(this.state.prefix)).catch(() => undefined);
    for (const path of Object.values(this.state.stateDisks ?? {})) await run('umount', [path]).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
    // The daemons' application sockets live in the sibling folder `<dir>-app` (appSocketPath).
    rmSync(dirname(appSocketPath(this.socket(this.nodeids[0]!))), { recursive: true, force: true });
  }

  /** The qnetd host: a namespace with a cable to link0's switch, its CA made (as Debian's package does), qnetd started. */
  private async buildQnetdHost(): Promise<void> {
    const ns = qnetdNames.namespace(this.state.prefix);
    const port = qnetdNames.switchPort(this.state.prefix);
    this.record('namespaces', ns);
    await ip('netns', 'add', ns);
    await ipIn(ns, 'link', 'set', 'lo', 'up');
    await ip('link', 'add', port, 'type', 'veth', 'peer', 'name', names.hostPort(0), 'netns', ns);
    await ip('link', 'set', port, 'master', names.bridge(this.state.prefix, 0));
    await ip('link', 'set', port, 'up');
    await ipIn(ns, 'addr', 'add', `${qnetdAddress()}/24`, 'dev', names.hostPort(0));
    await ipIn(ns, 'link', 'set', names.hostPort(0), 'up');
    mkdirSync(qnetdPaths(this.dir).etc, { recursive: true, mode: 0o700 });
    const [file, ...args] = qnetdShellArgv(ns, this.dir, 'corosync-qnetd-certutil -i');
    await run(file!, args, QNETD_INIT_TIMEOUT_MS);
    await this.startQnetd();
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
    const serviceBridge = names.serviceBridge(prefix);
    this.record('bridges', serviceBridge);
    await ip('link', 'add', serviceBridge, 'type', 'bridge');
    await ip('link', 'set', serviceBridge, 'up');
    this.state.serviceNet = true;
    const client = names.clientNamespace(prefix);
    this.record('namespaces', client);
    await ip('netns', 'add', client);
    await ipIn(client, 'link', 'set', 'lo', 'up');
    await this.plugServiceCable(client, 0, CLIENT_SERVICE_ADDRESS);
    await Promise.all(this.nodeids.map((n) => this.buildHost(n)));
    await Promise.all(this.nodeids.map((n) => this.pinNeighbours(n)));
  }

  /**
   * Writes host `nodeid`'s neighbour entries for every other host on every link, permanent (`ip neigh replace …
   * nud permanent`, one `ip -batch` per host). Linux bounds the ARP entries of all namespaces together
   * (net.ipv4.neigh.default.gc_thresh3 = 1024, a table shared by the whole machine) and permanent entries are not
   * counted: 32 hosts on 2 links need 32 × 31 × 2 = 1984 entries, and with learnt ones hosts 11–32 never reached
   * each other (measured: each saw only hosts 1–10) and 32 daemons never formed one membership. Cables pulled at
   * the switch keep the entries (carrier loss); an interface set down inside the host flushes them and ARP takes
   * over again.
   */
  private async pinNeighbours(nodeid: number): Promise<void> {
    const lines: string[] = [];
    for (let l = 0; l < this.state.links; l++)
      for (const peer of this.nodeids)
        if (peer !== nodeid)
          lines.push(
            `neigh replace ${labAddress(peer, l)} lladdr ${labMac(this.state.prefix, peer, l)} dev ${names.hostPort(l)} nud permanent`,
          );
    if (lines.length === 0) return;
    const batch = join(this.dir, `n${nodeid}.neigh`);
    writeFileSync(batch, `${lines.join('\n')}\n`);
    try {
      await ipIn(this.namespace(nodeid), '-batch', batch);
    } finally {
      rmSync(batch, { force: true });
    }
  }

  /**
   * A cable from `ns` to the service switch with `address` on it. The neighbour entries of the interface go stale
   * after about a second (Linux: 30 s), so that a floating address that moved is found on its new host quickly
   * even where no gratuitous ARP is sent (no `arping` installed).
   */
  private async plugServiceCable(ns: string, nodeid: number, address: string): Promise<void> {
    const port = names.serviceSwitchPort(this.state.prefix, nodeid);
    const dev = names.servicePort;
    await ip('link', 'add', port, 'type', 'veth', 'peer', 'name', dev, 'netns', ns);
    await ip('link', 'set', port, 'master', names.serviceBridge(this.state.prefix));
    await ip('link', 'set', port, 'up');
    await ipIn(ns, 'addr', 'add', `${address}/${SERVICE_NET_PREFIX_LENGTH}`, 'dev', dev);
    await ipIn(ns, 'link', 'set', dev, 'up');
    for (const [key, value] of Object.entries(SERVICE_NEIGHBOUR_SYSCTLS))
      await run('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `net.ipv4.neigh.${dev}.${key}=${value}`]);
  }

  private async buildHost(nodeid: number): Promise<void> {
    const ns = this.namespace(nodeid);
    this.record('namespaces', ns);
    await ip('netns', 'add', ns);
    await ipIn(ns, 'link', 'set', 'lo', 'up');
    for (let l = 0; l < this.state.links; l++) {
      const port = this.switchPort(nodeid, l);
      const dev = names.hostPort(l);
      const mac = labMac(this.state.prefix, nodeid, l);
      await ip('link', 'add', port, 'type', 'veth', 'peer', 'name', dev, 'address', mac, 'netns', ns);
      await ip('link', 'set', port, 'master', names.bridge(this.state.prefix, l));
      await ip('link', 'set', port, 'up');
      await ipIn(ns, 'addr', 'add', `${labAddress(nodeid, l)}/24`, 'dev', dev);
      await ipIn(ns, 'link', 'set', dev, 'up');
    }
    await this.plugServiceCable(ns, nodeid, serviceAddress(nodeid));
  }

  /** Records a resource in lab.json before it is created. */
  private record(kind: 'namespaces' | 'bridges', name: string): void {
    this.state[kind].push(name);
    writeState(this.dir, this.state);
  }

  private async stopDaemon(nodeid: number, signal: NodeJS.Signals): Promise<void> {
    await this.stopProcess(this.state.pids[nodeid], () => this.running(nodeid), `daemon n${nodeid}`, signal);
    delete this.state.pids[nodeid];
    writeState(this.dir, this.state);
  }

  /**
   * Ends host `nodeid`'s HA watchdog supervisor, by the pid in its pid file (checked against its command line):
   * a daemon stopped cleanly took its supervisor with it, a crashed one (`lab crash`) left it waiting.
   */
  private async stopWatchdog(nodeid: number): Promise<void> {
    const { socketPath, pidFile } = haWatchdogPaths(this.socket(nodeid));
    let pid: number;
    try {
      pid = Number(readFileSync(pidFile, 'utf8').trim());
    } catch {
      return;
    }
    const isSupervisor = () => Number.isInteger(pid) && pid > 1 && isProcessServing(pid, socketPath);
    await this.stopProcess(pid, isSupervisor, `the HA watchdog supervisor of n${nodeid}`, 'SIGTERM');
  }

  /** Sends `signal` to `pid` while `running()`, SIGKILL after a grace period; waits until it is gone. */
  private async stopProcess(
    pid: number | undefined,
    running: () => boolean,
    label: string,
    signal: NodeJS.Signals,
  ): Promise<void> {
    if (!pid || !running()) return;
    process.kill(pid, signal);
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    while (running()) {
      if (Date.now() > deadline + STOP_TIMEOUT_MS) throw new Error(`${label} (pid ${pid}) does not exit`);
      if (Date.now() > deadline) process.kill(pid, 'SIGKILL');
      await pause(POLL_INTERVAL_MS);
    }
  }

  private checkQnetd(): void {
    if (!this.hasQnetd) throw new RangeError('this lab has no qnetd host (lab up --qnetd)');
  }

  /** Every interface of a host but lo: its link cables and its service cable. */
  private hostInterfaces(): string[] {
    return [...Array.from({ length: this.state.links }, (_, l) => names.hostPort(l)), names.servicePort];
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
