/**
 * The systemd service protocol (sd_notify(3)): `READY=1` once the daemon serves, `STATUS=` lines as quorum and
 * membership change, `WATCHDOG=1` from a timer on the event loop (a hung loop stops the pings and systemd restarts
 * the unit after WatchdogSec=), `RELOADING=1`/`STOPPING=1`. Each message is one datagram to $NOTIFY_SOCKET.
 * Outside systemd (no NOTIFY_SOCKET) everything here is a no-op.
 */
import type { RunningDaemon } from './daemon.ts';
import { buildStatus } from './status.ts';
import { DatagramSender } from './unix-datagram.ts';

export interface SystemdEnv {
  NOTIFY_SOCKET?: string | undefined;
  WATCHDOG_USEC?: string | undefined;
  WATCHDOG_PID?: string | undefined;
}

/** systemd's recommendation: ping at half the watchdog interval (sd_watchdog_enabled(3)). */
const WATCHDOG_PING_DIVISOR = 2;

/** The watchdog interval systemd asks for (ms), or undefined when it asks for none or for another process. */
export function watchdogIntervalMs(env: SystemdEnv, pid = process.pid): number | undefined {
  if (env.WATCHDOG_PID !== undefined && Number(env.WATCHDOG_PID) !== pid) return undefined;
  const usec = Number(env.WATCHDOG_USEC);
  return Number.isInteger(usec) && usec > 0 ? usec / 1000 : undefined;
}

export class SystemdNotifier {
  private watchdog: NodeJS.Timeout | undefined;

  private constructor(
    private readonly path: string,
    private readonly sender: DatagramSender,
    private readonly warn: (message: string) => void,
  ) {}

  /**
   * The notifier for $NOTIFY_SOCKET, or undefined outside systemd. A socket that cannot be reached is one warning
   * through `warn` (then undefined): the daemon runs on, and systemd's start timeout reports the missing READY=1.
   */
  static fromEnv(env: SystemdEnv, warn: (message: string) => void): SystemdNotifier | undefined {
    const path = env.NOTIFY_SOCKET;
    if (path === undefined || path === '') return undefined;
    if (path.startsWith('@')) {
      warn(`NOTIFY_SOCKET ${path} is an abstract socket, which unix-dgram cannot address: no readiness is sent`);
      return undefined;
    }
    const sender = DatagramSender.open();
    if (sender instanceof Error) {
      warn(`cannot notify systemd at ${path}: ${sender.message}`);
      return undefined;
    }
    return new SystemdNotifier(path, sender, warn);
  }

  /** Sends `KEY=value` lines as one datagram. */
  notify(...assignments: string[]): void {
    this.sender.send(this.path, Buffer.from(assignments.join('\n')), (error) =>
      this.warn(`cannot notify systemd at ${this.path}: ${error.message}`),
    );
  }

  /** READY=1 with a first STATUS= line, and the watchdog pings if systemd asked for them. */
  ready(status: string, env: SystemdEnv): void {
    this.notify('READY=1', `STATUS=${status}`, `MAINPID=${process.pid}`);
    const interval = watchdogIntervalMs(env);
    if (interval !== undefined) {
      this.watchdog = setInterval(() => this.notify('WATCHDOG=1'), interval / WATCHDOG_PING_DIVISOR);
      this.watchdog.unref();
    }
  }

  status(text: string): void {
    this.notify(`STATUS=${text}`);
  }

  /** STOPPING=1; then no more pings, and the socket is closed. */
  stopping(): void {
    clearInterval(this.watchdog);
    this.notify('STOPPING=1');
    this.sender.close();
  }
}

/** `quorate, 3 members: 1 2 3`: the STATUS= line `systemctl status corolink` shows. */
export function statusLine(quorate: boolean, members: readonly number[]): string {
  return `${quorate ? 'quorate' : 'NOT quorate'}, ${members.length} member${members.length === 1 ? '' : 's'}: ${members.join(' ')}`;
}

/**
 * Tells systemd (if it runs this daemon) that the node serves, keeps STATUS= current and feeds the watchdog.
 * Call once the links are bound and the admin socket listens; returns the function that says STOPPING=1.
 */
export function notifySystemd(
  daemon: Pick<RunningDaemon, 'engine' | 'logger'>,
  env: SystemdEnv = process.env,
): () => void {
  const { engine, logger } = daemon;
  const notifier = SystemdNotifier.fromEnv(env, (message) => logger.log('warning', 'MAIN', message));
  if (notifier === undefined) return () => {};
  const status = buildStatus(engine);
  notifier.ready(
    statusLine(
      status.quorum.quorate,
      status.members.map((m) => m.nodeid),
    ),
    env,
  );
  const onQuorum = (event: { quorate: boolean; members: number[] }) =>
    notifier.status(statusLine(event.quorate, event.members));
  engine.on('quorum', onQuorum);
  return () => {
    engine.off('quorum', onQuorum);
    notifier.stopping();
  };
}
