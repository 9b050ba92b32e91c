/**
 * The daemon's logger: records from every core (their `log` actions) and from the daemon itself, written in
 * corosync's log-file shape — `Nov 24 21:52:18.149 [9535] host corolink notice  [TOTEM ] text` — to stderr
 * and/or a log file as the `logging {}` section says, kept in a bounded ring for `corolink logs`, and
 * passed to live subscribers (`logs -f`, the dashboard).
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';

export type LogLevel = 'debug' | 'info' | 'notice' | 'warning' | 'error';
export type Subsystem = 'KNET' | 'TOTEM' | 'QUORUM' | 'CPG' | 'CFS' | 'MAIN';

/** One log record as the admin socket returns it. */
export interface LogRecord {
  /** Wall-clock time, ms since the epoch. */
  time: number;
  level: LogLevel;
  subsystem: Subsystem;
  message: string;
  /** The formatted line, as written to the log file. */
  text: string;
}

export interface LoggerOptions {
  toStderr: boolean;
  /** Log file path, or undefined for none. */
  logFile?: string;
  /** Include debug records (logging.debug: on). */
  debug: boolean;
  /** Records kept for `corolink logs`. */
  ringSize?: number;
  /** Name shown in the line (corosync shows the host name). */
  host?: string;
}

const DEFAULT_RING_SIZE = 2000;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `Nov 24 21:52:18.149` in local time, corosync's `timestamp: hires` shape. */
export function formatTimestamp(time: number): string {
  const d = new Date(time);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return (
    `${MONTHS[d.getMonth()]} ${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:` +
    `${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
  );
}

/** The corosync log-file line for one record. */
export function formatLogLine(
  time: number,
  level: LogLevel,
  subsystem: Subsystem,
  message: string,
  pid: number,
  host: string,
): string {
  return `${formatTimestamp(time)} [${pid}] ${host} corolink ${level.padEnd(7)} [${subsystem.padEnd(6)}] ${message}`;
}

export class Logger {
  private readonly ring: LogRecord[] = [];
  private readonly listeners = new Set<(record: LogRecord) => void>();
  private readonly ringSize: number;
  private readonly host: string;

  constructor(private readonly options: LoggerOptions) {
    this.ringSize = options.ringSize ?? DEFAULT_RING_SIZE;
    this.host = options.host ?? hostname();
    if (options.logFile) mkdirSync(dirname(options.logFile), { recursive: true });
  }

  log(level: LogLevel, subsystem: Subsystem, message: string, time = Date.now()): void {
    if (level === 'debug' && !this.options.debug) return;
    const text = formatLogLine(time, level, subsystem, message, process.pid, this.host);
    const record: LogRecord = { time, level, subsystem, message, text };
    this.ring.push(record);
    if (this.ring.length > this.ringSize) this.ring.shift();
    if (this.options.toStderr) process.stderr.write(`${text}\n`);
    if (this.options.logFile) {
      try {
        appendFileSync(this.options.logFile, `${text}\n`);
      } catch {
        // A full or vanished disk must not take the cluster engine down; stderr still has the line.
      }
    }
    for (const listener of this.listeners) listener(record);
  }

  /** The newest `lines` records, oldest first. */
  recent(lines: number): LogRecord[] {
    return this.ring.slice(-Math.max(0, lines));
  }

  /** Calls `listener` for every new record; returns the unsubscribe function. */
  subscribe(listener: (record: LogRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
