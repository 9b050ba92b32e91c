/**
 * The daemon's side of the watchdog supervisor (`HaWatchdog`): connects to the node's supervisor, or starts one
 * (`corolink ha-watchdog`, detached: its own session and process group, so it outlives a killed daemon) and
 * connects; sends it the active resources with their process groups (again whenever the runner records or drops
 * a group) and the feeds, at most one per feed interval. `close` disarms it and asks it to leave. A supervisor
 * left by a killed daemon is found again by the next daemon through its socket; a lab or test that killed the
 * daemon ends the supervisor by the pid in its pid file (docs/ha.md "Fencing on a node").
 */
import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import type { HaResourceSpec, HaWatchdog } from '../../ha/contract.ts';
import { LineDecoder } from '../../ipc/json-lines.ts';
import type { LogLevel } from '../log.ts';
import type { ResourceRunner } from './resource-runner.ts';
import {
  encodeLine,
  parseFromSupervisor,
  type ToSupervisor,
  tryConnect,
  WATCHDOG_LINE_BYTES_MAX,
} from './watchdog-protocol.ts';

/** How long a started supervisor may take to listen, on a loaded machine. */
const SUPERVISOR_START_TIMEOUT_MS = 10_000;
const CONNECT_RETRY_MS = 20;
/** Least time between two attempts to start a supervisor that went away. */
const SUPERVISOR_RECONNECT_MS = 1_000;
/** How long `close` waits for the supervisor to take the `exit`. */
const CLOSE_TIMEOUT_MS = 2_000;

export interface WatchdogOptions {
  socketPath: string;
  pidFile: string;
  runner: ResourceRunner;
  /** The fence timeout, and how often at most a feed is sent (the HA timings, `haTimings` in config/defaults.ts). */
  timings: { fenceTimeoutMs: number; feedIntervalMs: number };
  /** How to run `corolink ha-watchdog` (default: this process's node and script). */
  command?: string[];
  /** The supervisor leaves when this process's stdin closes too (the daemon's `--exit-with-parent`). */
  exitWithParent?: boolean;
  log: (level: LogLevel, message: string) => void;
  /** The supervisor stopped this node's services (the daemon was too late to feed it, or it restarted). */
  onFired?: (services: number, reason: string) => void;
}

export class SupervisedWatchdog implements HaWatchdog {
  private socket: Socket | undefined;
  private active: readonly HaResourceSpec[] = [];
  private lastFeed = Number.NEGATIVE_INFINITY;
  private lastReconnect = Number.NEGATIVE_INFINITY;
  private closing = false;
  private connecting: Promise<void> | undefined;
  private readonly unsubscribe: () => void;
  /** The supervisor's pid (from its hello). */
  supervisorPid: number | undefined;

  private constructor(private readonly options: WatchdogOptions) {
    this.unsubscribe = options.runner.onGroupsChange(() => this.sendActive());
  }

  /** Connects to the node's supervisor, starting one when none listens; resolves once connected. */
  static async start(options: WatchdogOptions): Promise<SupervisedWatchdog> {
    const watchdog = new SupervisedWatchdog(options);
    await watchdog.reconnect();
    if (!watchdog.socket) throw new Error(`the watchdog supervisor did not start on ${options.socketPath}`);
    return watchdog;
  }

  /**
   * The same, connecting in the background (for a daemon's synchronous HA setup): the active list is sent once
   * connected, feeds before that are dropped, and a failed start is logged and tried again at the next feed.
   */
  static open(options: WatchdogOptions): SupervisedWatchdog {
    const watchdog = new SupervisedWatchdog(options);
    void watchdog.reconnect();
    return watchdog;
  }

  setActive(resources: readonly HaResourceSpec[]): void {
    this.active = resources;
    this.sendActive();
  }

  feed(): void {
    const now = performance.now();
    if (!this.socket && !this.connecting && !this.closing && now - this.lastReconnect >= SUPERVISOR_RECONNECT_MS) {
      // The supervisor is gone while the daemon still wants to run services: start it again (once a second at most).
      void this.reconnect();
      return;
    }
    // Fewer feeds than calls only moves the supervisor's deadline earlier: never later than the daemon believes.
    const { fenceTimeoutMs, feedIntervalMs } = this.options.timings;
    if (now - this.lastFeed < feedIntervalMs) return;
    this.lastFeed = now;
    this.send({ type: 'feed', fenceTimeoutMs });
  }

  /** Disarms the supervisor and asks it to leave (call it after the node's services were stopped). */
  async close(): Promise<void> {
    this.closing = true;
    this.unsubscribe();
    // A reconnect under way ends first (it sees `closing`), so the supervisor it may have reached gets the exit too.
    await this.connecting;
    const socket = this.socket;
    if (!socket || socket.destroyed) return;
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.end(encodeLine({ type: 'exit' }));
    const timer = setTimeout(() => socket.destroy(), CLOSE_TIMEOUT_MS);
    await closed;
    clearTimeout(timer);
  }

  private sendActive(): void {
    const { runner } = this.options;
    this.send({
      type: 'active',
      resources: this.active.map((spec) => ({ spec, pgids: [...runner.processGroups(spec.sid)] })),
    });
  }

  private send(message: ToSupervisor): void {
    if (this.socket && !this.socket.destroyed) this.socket.write(encodeLine(message));
  }

  /** Connects (starting a supervisor when none listens); failures are logged. */
  private reconnect(): Promise<void> {
    this.lastReconnect = performance.now();
    this.connecting = this.connect()
      .catch((error: Error) => this.options.log('error', `watchdog: ${error.message}`))
      .finally(() => {
        this.connecting = undefined;
      });
    return this.connecting;
  }

  private async connect(): Promise<void> {
    let socket = await tryConnect(this.options.socketPath);
    if (!socket) {
      const child = this.spawnSupervisor();
      const deadline = performance.now() + SUPERVISOR_START_TIMEOUT_MS;
      while (!socket) {
        if (child.exitCode !== null || performance.now() > deadline)
          throw new Error(`the watchdog supervisor did not start on ${this.options.socketPath}`);
        await new Promise((resolve) => setTimeout(resolve, CONNECT_RETRY_MS));
        socket = await tryConnect(this.options.socketPath);
      }
    }
    this.attach(socket);
  }

  private spawnSupervisor() {
    const { options } = this;
    const [file, ...args] = options.command ?? [process.execPath, process.argv[1]!, 'ha-watchdog'];
    const child = spawn(
      file!,
      [
        ...args,
        '--socket',
        options.socketPath,
        '--pid-file',
        options.pidFile,
        ...(options.exitWithParent ? ['--exit-with-parent'] : []),
      ],
      // Its own session: a signal to the daemon's process group does not reach it. Its log lines go where the
      // daemon's stderr goes; with --exit-with-parent it reads the daemon's stdin to see the parent leave.
      { detached: true, stdio: [options.exitWithParent ? 'inherit' : 'ignore', 'ignore', 'inherit'] },
    );
    child.unref();
    return child;
  }

  private attach(socket: Socket): void {
    this.socket = socket;
    // The connection must not keep a stopping daemon alive.
    socket.unref();
    const decoder = new LineDecoder(WATCHDOG_LINE_BYTES_MAX);
    socket.on('data', (chunk) => {
      let lines: string[] = [];
      try {
        lines = decoder.push(chunk);
      } catch {
        socket.destroy();
      }
      for (const line of lines) {
        const message = parseFromSupervisor(line);
        if (message?.type === 'hello') this.supervisorPid = message.pid;
        if (message?.type === 'fired') {
          this.options.log(
            'error',
            `watchdog: the supervisor stopped ${message.services} services (${message.reason})`,
          );
          this.options.onFired?.(message.services, message.reason);
        }
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.closing || this.socket !== socket) return;
      this.socket = undefined;
      this.options.log('error', 'watchdog: the connection to the supervisor closed (started again at the next feed)');
    });
    this.lastFeed = Number.NEGATIVE_INFINITY;
    this.sendActive();
  }
}
