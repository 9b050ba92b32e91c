/**
 * The daemon's logger: records from every core (their `log` actions) and from the daemon itself, in corosync's
 * log-file shape — `Nov 24 21:52:18.149 [9535] host corolink notice  [TOTEM ] text` — routed as the `logging {}`
 * section says (src/daemon/log-config.ts): to stderr, the log file and syslog/the journal, each with its own least
 * severe level, per subsystem (`logger_subsys`). None of them blocks the event loop on I/O (./log-sinks.ts).
 * Records are also kept in a bounded ring for `corolink logs` and passed to live subscribers (`logs -f`, the
 * dashboard).
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import {
  DEV_LOG_PATH,
  JOURNAL_SOCKET_PATH,
  type LogLevel,
  StreamSink,
  SYSLOG_FACILITY,
  SYSLOG_SEVERITY,
  SyslogSink,
  stderrIsJournal,
} from './log-sinks.ts';

export type { LogLevel } from './log-sinks.ts';
export type Subsystem = 'KNET' | 'TOTEM' | 'QUORUM' | 'QDEVICE' | 'CPG' | 'CFS' | 'HA' | 'CFG' | 'MAIN';
export const SUBSYSTEMS: readonly Subsystem[] = [
  'KNET',
  'TOTEM',
  'QUORUM',
  'QDEVICE',
  'CPG',
  'CFS',
  'HA',
  'CFG',
  'MAIN',
];
export type TimestampMode = 'off' | 'on' | 'hires';

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

/** Per destination, the least severe level it takes; a destination left out is off. */
export interface LogRoute {
  stderr?: LogLevel;
  file?: LogLevel;
  syslog?: LogLevel;
  /** The ring of `corolink logs` and the live subscribers. */
  ring: LogLevel;
}

export interface LoggerOptions {
  /** The route of every subsystem without one of its own. */
  route: LogRoute;
  /** `logger_subsys` overrides. */
  subsys?: Partial<Record<Subsystem, LogRoute>>;
  /** Log file path (needed when a route has `file`). */
  logFile?: string;
  /** syslog facility number (default daemon). */
  syslogFacility?: number;
  timestamp?: TimestampMode;
  /** Records kept for `corolink logs`. */
  ringSize?: number;
  /** Name shown in the line (corosync shows the host name). */
  host?: string;
  /** This node's id, a journal field (COROLINK_NODEID). */
  nodeId?: number;
  /** Socket paths, for tests. */
  journalSocket?: string;
  devLog?: string;
}

const DEFAULT_RING_SIZE = 2000;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The last second formatted: a burst of records within one second formats its date once (bench:log). */
let cachedSecond = { start: Number.NaN, text: '' };

/** `Nov 24 21:52:18.149` in local time (`timestamp: hires`), without the milliseconds for `on`. */
export function formatTimestamp(time: number, mode: TimestampMode = 'hires'): string {
  const ms = ((time % 1000) + 1000) % 1000;
  const start = time - ms;
  if (start !== cachedSecond.start) {
    const d = new Date(start);
    const pad = (n: number) => String(n).padStart(2, '0');
    const text =
      `${MONTHS[d.getMonth()]} ${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:` + pad(d.getSeconds());
    cachedSecond = { start, text };
  }
  return mode === 'hires' ? `${cachedSecond.text}.${String(ms).padStart(3, '0')}` : cachedSecond.text;
}

/** The corosync log-file line for one record. */
export function formatLogLine(
  time: number,
  level: LogLevel,
  subsystem: Subsystem,
  message: string,
  pid: number,
  host: string,
  timestamp: TimestampMode = 'hires',
): string {
  const stamp = timestamp === 'off' ? '' : `${formatTimestamp(time, timestamp)} `;
  return `${stamp}[${pid}] ${host} corolink ${level.padEnd(7)} [${subsystem.padEnd(6)}] ${message}`;
}

/** Whether a record of `level` passes a destination that takes `least` and more severe. */
const passes = (level: LogLevel, least: LogLevel | undefined) =>
  least !== undefined && SYSLOG_SEVERITY[level] <= SYSLOG_SEVERITY[least];

export class Logger {
  private readonly ring: LogRecord[] = [];
  private readonly listeners = new Set<(record: LogRecord) => void>();
  private readonly ringSize: number;
  private readonly host: string;
  private readonly routes: Record<Subsystem, LogRoute & { least: LogLevel }>;
  private readonly stderr: StreamSink | undefined;
  private readonly stderrPrefix: boolean;
  private readonly file: StreamSink | undefined;
  private readonly syslog: SyslogSink | undefined;
  private readonly timestamp: TimestampMode;
  /** What the options asked that cannot be done, said once by the caller (`startupWarnings`). */
  private readonly warnings: string[] = [];

  constructor(options: LoggerOptions) {
    this.ringSize = options.ringSize ?? DEFAULT_RING_SIZE;
    this.host = options.host ?? hostname();
    this.timestamp = options.timestamp ?? 'hires';
    const least = (route: LogRoute): LogLevel =>
      [route.stderr, route.file, route.syslog, route.ring].reduce<LogLevel>(
        (a, b) => (b !== undefined && SYSLOG_SEVERITY[b] > SYSLOG_SEVERITY[a] ? b : a),
        'error',
      );
    this.routes = Object.fromEntries(
      SUBSYSTEMS.map((s) => {
        const route = options.subsys?.[s] ?? options.route;
        return [s, { ...route, least: least(route) }];
      }),
    ) as Record<Subsystem, LogRoute & { least: LogLevel }>;
    const wanted = (key: 'stderr' | 'file' | 'syslog') =>
      Object.values(this.routes).some((route) => route[key] !== undefined);
    const onError = (what: string) => (error: Error) => this.warnOnce(`cannot write ${what}: ${error.message}`);
    this.stderr = wanted('stderr') ? new StreamSink(2, onError('to stderr')) : undefined;
    this.stderrPrefix = this.stderr !== undefined && stderrIsJournal();
    if (wanted('file') && !options.logFile) this.warnings.push('to_logfile is on but no logfile is set: no log file');
    this.file =
      wanted('file') && options.logFile ? new StreamSink(options.logFile, onError(options.logFile)) : undefined;
    let syslog: SyslogSink | undefined;
    if (wanted('syslog')) {
      const sink = SyslogSink.open({
        facility: options.syslogFacility ?? SYSLOG_FACILITY.daemon!,
        nodeId: options.nodeId,
        journalSocket: options.journalSocket ?? JOURNAL_SOCKET_PATH,
        devLog: options.devLog ?? DEV_LOG_PATH,
        exists: existsSync,
      });
      if (typeof sink === 'string') this.warnings.push(`to_syslog is on but nothing goes to syslog: ${sink}`);
      else syslog = sink;
    }
    this.syslog = syslog;
  }

  /** What the options asked that this logger cannot do (the daemon logs them once at start). */
  startupWarnings(): readonly string[] {
    return this.warnings;
  }

  /** Where syslog records go (the journal's socket or /dev/log), if anywhere. */
  get syslogPath(): string | undefined {
    return this.syslog?.path;
  }

  /** syslog datagrams the socket refused (dropped, not waited for). */
  get syslogDropped(): number {
    return this.syslog?.dropped ?? 0;
  }

  log(level: LogLevel, subsystem: Subsystem, message: string, time = Date.now()): void {
    const route = this.routes[subsystem];
    if (!passes(level, route.least)) return;
    const text = formatLogLine(time, level, subsystem, message, process.pid, this.host, this.timestamp);
    if (this.stderr && passes(level, route.stderr)) {
      this.stderr.write(this.stderrPrefix ? `<${SYSLOG_SEVERITY[level]}>${text}\n` : `${text}\n`);
    }
    if (this.file && passes(level, route.file)) this.file.write(`${text}\n`);
    if (this.syslog && passes(level, route.syslog)) this.syslog.write({ level, subsystem, message, time });
    if (!passes(level, route.ring)) return;
    const record: LogRecord = { time, level, subsystem, message, text };
    this.ring.push(record);
    if (this.ring.length > this.ringSize) this.ring.shift();
    for (const listener of this.listeners) listener(record);
  }

  /** Reopens the log file at its path (SIGHUP, `corolink logs --reopen`: after logrotate moved it). */
  reopen(): boolean {
    this.file?.reopen();
    return this.file !== undefined;
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

  /** Writes out what is buffered and closes the file and the syslog socket (stderr stays open). */
  async close(): Promise<void> {
    this.syslog?.close();
    await Promise.all([this.file?.close(), this.stderr?.flush()]);
  }

  private warnedAbout = new Set<string>();

  /** A write error, told once on stderr (the logger cannot log its own failure through itself). */
  private warnOnce(message: string): void {
    if (this.warnedAbout.has(message)) return;
    this.warnedAbout.add(message);
    process.stderr.write(`corolink: ${message}\n`);
  }
}
