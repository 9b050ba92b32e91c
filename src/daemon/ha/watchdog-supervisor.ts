/**
 * The watchdog supervisor: a small process of its own per node (`corolink ha-watchdog`, started by the daemon,
 * detached so it outlives it) that the daemon feeds while this node may run HA services. Not fed within the fence
 * timeout, or the daemon's connection closed without a `disarm` (the daemon was killed), it stops every active
 * resource itself — SIGTERM then SIGKILL to each exec resource's process groups, `systemctl stop` for units, `ip
 * addr del` for floating addresses — logs `[HA    ] watchdog: fence timeout expired, stopping N services`, and
 * waits for a daemon to connect again. It never touches /dev/watchdog (docs/ha.md "Fencing on a node").
 */
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { LineDecoder } from '../../ipc/json-lines.ts';
import { formatLogLine, type LogLevel } from '../log.ts';
import { killGroup } from './process-group.ts';
import { ResourceRunner } from './resource-runner.ts';
import {
  type ActiveResource,
  encodeLine,
  type FromSupervisor,
  parseToSupervisor,
  tryConnect,
  WATCHDOG_LINE_BYTES_MAX,
} from './watchdog-protocol.ts';

export interface SupervisorOptions {
  socketPath: string;
  pidFile: string;
  killGraceMs: number;
  /** Where its lines go (default: stderr, which the daemon's is). */
  log?: (level: LogLevel, message: string) => void;
}

export class WatchdogSupervisor {
  private readonly server: Server;
  private readonly runner: ResourceRunner;
  private readonly log: (level: LogLevel, message: string) => void;
  private client: Socket | undefined;
  private active: ActiveResource[] = [];
  private armed = false;
  private timer: NodeJS.Timeout | undefined;
  private firing: Promise<void> | undefined;
  private closed = false;
  /** Lines from the daemon that were not messages (dropped). */
  badMessages = 0;
  fences = 0;
  private resolveExited: () => void = () => {};
  /** Resolves when a daemon asked it to leave (`exit`). */
  readonly exited = new Promise<void>((resolve) => {
    this.resolveExited = resolve;
  });

  private constructor(private readonly options: SupervisorOptions) {
    this.runner = new ResourceRunner({ killGraceMs: options.killGraceMs });
    this.log =
      options.log ??
      ((level, message) =>
        process.stderr.write(`${formatLogLine(Date.now(), level, 'HA', message, process.pid, hostname())}\n`));
    this.server = createServer((socket) => this.accept(socket));
  }

  /** Listens on the socket (a stale file is replaced) and writes the pid file. */
  static async start(options: SupervisorOptions): Promise<WatchdogSupervisor> {
    const running = await tryConnect(options.socketPath);
    if (running) {
      running.destroy();
      throw new Error(`a watchdog supervisor already listens on ${options.socketPath}`);
    }
    const supervisor = new WatchdogSupervisor(options);
    // Nothing listens: a file left there is stale.
    rmSync(options.socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      supervisor.server.once('error', reject);
      supervisor.server.listen(options.socketPath, resolve);
    });
    // Only root (the daemon) may feed or disarm it.
    chmodSync(options.socketPath, 0o600);
    writeFileSync(options.pidFile, `${process.pid}\n`);
    supervisor.log('notice', `watchdog: supervisor ${process.pid} listening on ${options.socketPath}`);
    return supervisor;
  }

  /** True while it would stop services when not fed (fed and not disarmed). */
  get isArmed(): boolean {
    return this.armed;
  }

  /**
   * Stops every active resource when it is armed or holds any (the supervisor never leaves services unguarded),
   * then closes the socket and removes its files.
   */
  async close(reason: string): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.armed || this.active.length > 0) await this.fire(reason);
    await this.firing;
    this.client?.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.options.pidFile, { force: true });
    this.log('notice', 'watchdog: supervisor exiting');
  }

  private accept(socket: Socket): void {
    if (this.client || this.closed) {
      this.log('warning', 'watchdog: a second connection refused (one daemon feeds a supervisor)');
      socket.destroy();
      return;
    }
    this.client = socket;
    const decoder = new LineDecoder(WATCHDOG_LINE_BYTES_MAX);
    let disarmed = false;
    this.send({ type: 'hello', pid: process.pid });
    socket.on('data', (chunk) => {
      let lines: string[];
      try {
        lines = decoder.push(chunk);
      } catch (error) {
        this.badMessages++;
        this.log('error', `watchdog: ${(error as Error).message} from the daemon: connection closed`);
        socket.destroy();
        return;
      }
      for (const line of lines) {
        const message = parseToSupervisor(line);
        if ('problem' in message) {
          this.badMessages++;
          this.log('warning', `watchdog: dropped ${message.problem}`);
          continue;
        }
        disarmed = message.type === 'disarm' || message.type === 'exit';
        this.handle(message);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.client = undefined;
      if (this.closed) return;
      if (!disarmed && (this.armed || this.active.length > 0)) void this.fire('the daemon is gone without disarming');
    });
  }

  private handle(message: Exclude<ReturnType<typeof parseToSupervisor>, { problem: string }>): void {
    switch (message.type) {
      case 'feed':
        this.armed = true;
        clearTimeout(this.timer);
        this.timer = setTimeout(() => void this.fire('fence timeout expired'), message.fenceTimeoutMs);
        return;
      case 'active':
        this.active = message.resources;
        return;
      case 'disarm':
        this.disarm();
        return;
      case 'exit':
        this.disarm();
        void this.close('asked to exit').then(this.resolveExited);
        return;
    }
  }

  private disarm(): void {
    this.armed = false;
    clearTimeout(this.timer);
  }

  /** Stops every active resource once (concurrent calls wait for the running one). */
  private fire(reason: string): Promise<void> {
    this.disarm();
    const targets = this.active;
    this.active = [];
    if (targets.length === 0) return this.firing ?? Promise.resolve();
    this.fences++;
    this.log('error', `watchdog: ${reason}, stopping ${targets.length} services`);
    const stops = Promise.all(targets.map((resource) => this.stop(resource))).then(() => {
      this.send({ type: 'fired', services: targets.length, reason });
    });
    this.firing = Promise.all([this.firing, stops]).then(() => undefined);
    return this.firing;
  }

  private async stop({ spec, pgids }: ActiveResource): Promise<void> {
    if (spec.type === 'exec') {
      if (pgids.length === 0) this.log('warning', `watchdog: ${spec.sid}: no process group known, nothing to kill`);
      for (const pgid of pgids) {
        const gone = await killGroup(pgid, this.options.killGraceMs);
        if (gone) this.log('notice', `watchdog: ${spec.sid}: process group ${pgid} stopped`);
        else this.log('error', `watchdog: ${spec.sid}: process group ${pgid} survived SIGKILL`);
      }
      return;
    }
    const result = await this.runner.run('stop', spec);
    if (result.exitCode === 0) this.log('notice', `watchdog: ${spec.sid} stopped`);
    else this.log('error', `watchdog: ${spec.sid}: stop failed (exit ${result.exitCode}): ${result.output}`);
  }

  private send(message: FromSupervisor): void {
    if (this.client && !this.client.destroyed) this.client.write(encodeLine(message));
  }
}
