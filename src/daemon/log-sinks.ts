/**
 * Where log records go, none of them blocking the event loop on I/O: the log file and stderr through sonic-boom
 * (pino's asynchronous writer: lines are buffered and written by libuv's thread pool; `reopen()` for logrotate),
 * syslog as one datagram per record to the journal's native socket (with COROLINK_* fields) or to /dev/log.
 */
import { fstatSync } from 'node:fs';
import sonicBoom from 'sonic-boom';
import { DatagramSender } from './unix-datagram.ts';

// The CommonJS module is the class itself; its declarations describe it as an ES module with a class export.
const SonicBoom = sonicBoom as unknown as typeof sonicBoom.SonicBoom;
type SonicBoom = InstanceType<typeof SonicBoom>;

export type LogLevel = 'debug' | 'info' | 'notice' | 'warning' | 'error';

/** syslog(3) severities (error is LOG_ERR). */
export const SYSLOG_SEVERITY: Readonly<Record<LogLevel, number>> = {
  error: 3,
  warning: 4,
  notice: 5,
  info: 6,
  debug: 7,
};

/** syslog(3) facilities by the names corosync's `syslog_facility` takes. */
export const SYSLOG_FACILITY: Readonly<Record<string, number>> = {
  kern: 0,
  user: 1,
  mail: 2,
  daemon: 3,
  auth: 4,
  syslog: 5,
  lpr: 6,
  news: 7,
  uucp: 8,
  cron: 9,
  authpriv: 10,
  ftp: 11,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
};

/** The journal's native protocol socket (systemd.journal-fields(7)) and the classic syslog socket. */
export const JOURNAL_SOCKET_PATH = '/run/systemd/journal/socket';
export const DEV_LOG_PATH = '/dev/log';
export const SYSLOG_IDENTIFIER = 'corolink';

/**
 * Bytes of one chunk lines are formatted into. A line is copied once, into the chunk; at the end of the macrotask
 * (or when the chunk is full) the bytes written since go to sonic-boom as one slice, written to the fd from the
 * chunk itself. Given one string per line, sonic-boom took the UTF-8 length of its whole pending string for each:
 * a 100,000-line burst took 3.9× as long, with 5× the collections (docs/daemon.md, "Where the blocks went").
 */
export const LOG_CHUNK_BYTES = 256 * 1024;

/** A sink written through sonic-boom: its write never waits for the disk. */
export class StreamSink {
  private readonly boom: SonicBoom;
  /** After close(), lines are dropped (sonic-boom throws on a write to a closed stream). */
  private closed = false;
  /** Settles once the last reopen opened the file (or failed). */
  private reopened: Promise<void> = Promise.resolve();
  private chunk = Buffer.allocUnsafe(LOG_CHUNK_BYTES);
  /** chunk[handed, used) is formatted but not yet handed to sonic-boom. */
  private handed = 0;
  private used = 0;
  private handOverQueued = false;
  private readonly handOverNow = () => {
    this.handOverQueued = false;
    this.handOver();
  };

  /** `dest`: a file path (appended to, directories made) or a file descriptor (2 for stderr). */
  constructor(dest: string | number, onError: (error: Error) => void) {
    this.boom =
      typeof dest === 'string'
        ? new SonicBoom({ dest, append: true, mkdir: true, sync: false, contentMode: 'buffer' })
        : new SonicBoom({ fd: dest, sync: false, contentMode: 'buffer' });
    // A full or vanished disk must not take the cluster engine down: sonic-boom reports and goes on.
    this.boom.on('error', onError);
  }

  write(line: string): void {
    if (this.closed) return;
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    if (this.used + line.length * 3 > this.chunk.length) {
      this.handOver();
      // sonic-boom still holds the slices of the full chunk: the next lines go to a new one.
      this.chunk = Buffer.allocUnsafe(Math.max(LOG_CHUNK_BYTES, line.length * 3));
      this.handed = this.used = 0;
    }
    this.used += this.chunk.write(line, this.used);
    if (!this.handOverQueued) {
      this.handOverQueued = true;
      setImmediate(this.handOverNow);
    }
  }

  /** Gives sonic-boom the lines formatted since the last hand-over. */
  private handOver(): void {
    if (this.used === this.handed || this.closed) return;
    // Its declarations type write() for strings only; in 'buffer' mode it takes Buffers.
    this.boom.write(this.chunk.subarray(this.handed, this.used) as unknown as string);
    this.handed = this.used;
  }

  /** Closes the file and opens its path again (after logrotate renamed it): no line is lost. */
  reopen(): void {
    if (this.closed) return;
    this.handOver();
    // sonic-boom 5.0.2 defers a reopen asked during a write to the write's end, where an end() asked meanwhile makes
    // it give up with the rest unwritten: close() waits for the reopened file first (test/daemon/logging.test.ts).
    this.reopened = new Promise((resolve) => {
      const done = () => {
        this.boom.off('ready', done).off('error', done);
        resolve();
      };
      this.boom.on('ready', done).on('error', done);
    });
    this.boom.reopen();
  }

  /** Resolves once everything written so far reached the file. */
  flush(): Promise<void> {
    this.handOver();
    return new Promise((resolve) => (this.closed ? resolve() : this.boom.flush(() => resolve())));
  }

  /** Writes what is buffered and closes (at daemon stop). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.handOver();
    this.closed = true;
    await this.reopened;
    await new Promise<void>((resolve) => {
      this.boom.once('close', () => resolve());
      this.boom.end();
    });
  }
}

/**
 * True when stderr is connected to the journal (systemd sets JOURNAL_STREAM to its device:inode): then each line
 * carries its `<N>` priority prefix (sd-daemon(3)), so `journalctl -p warning` filters them.
 */
export function stderrIsJournal(env: NodeJS.ProcessEnv = process.env): boolean {
  const stream = env.JOURNAL_STREAM;
  if (!stream) return false;
  try {
    const { dev, ino } = fstatSync(2);
    return stream === `${dev}:${ino}`;
  } catch {
    return false;
  }
}

/** One journal export-format field: `KEY=value`, or the length-prefixed form when the value has a newline. */
function journalField(key: string, value: string): Buffer {
  if (!value.includes('\n')) return Buffer.from(`${key}=${value}\n`);
  const data = Buffer.from(value);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(data.length));
  return Buffer.concat([Buffer.from(`${key}\n`), length, data, Buffer.from('\n')]);
}

export interface SyslogRecord {
  level: LogLevel;
  subsystem: string;
  message: string;
  time: number;
}

/** The journal's native message for one record (systemd.journal-fields(7), plus corolink's own fields). */
export function journalMessage(record: SyslogRecord, facility: number, nodeId: number | undefined): Buffer {
  return Buffer.concat([
    journalField('MESSAGE', `[${record.subsystem.padEnd(6)}] ${record.message}`),
    journalField('PRIORITY', String(SYSLOG_SEVERITY[record.level])),
    journalField('SYSLOG_FACILITY', String(facility)),
    journalField('SYSLOG_IDENTIFIER', SYSLOG_IDENTIFIER),
    journalField('SYSLOG_PID', String(process.pid)),
    journalField('COROLINK_SUBSYS', record.subsystem),
    ...(nodeId === undefined ? [] : [journalField('COROLINK_NODEID', String(nodeId))]),
  ]);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The local syslog line for /dev/log (RFC 3164 as syslog(3) sends it): `<PRI>Mmm dd hh:mm:ss corolink[pid]: …`. */
export function syslogMessage(record: SyslogRecord, facility: number): Buffer {
  const d = new Date(record.time);
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp = `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  const pri = facility * 8 + SYSLOG_SEVERITY[record.level];
  return Buffer.from(
    `<${pri}>${stamp} ${SYSLOG_IDENTIFIER}[${process.pid}]: [${record.subsystem.padEnd(6)}] ${record.message}`,
  );
}

/**
 * Records to syslog: the journal's native socket when it exists (structured fields), else /dev/log. A datagram the
 * socket refuses (its queue full, the listener gone) is dropped and counted, never waited for.
 */
export class SyslogSink {
  /** Records the socket refused. */
  dropped = 0;

  private constructor(
    private readonly sender: DatagramSender,
    readonly path: string,
    private readonly format: (record: SyslogRecord) => Buffer,
  ) {}

  /** The sink, or the reason there can be none (no socket, no unix datagrams). */
  static open(options: {
    facility: number;
    nodeId: number | undefined;
    journalSocket: string;
    devLog: string;
    exists: (path: string) => boolean;
  }): SyslogSink | string {
    const journal = options.exists(options.journalSocket);
    if (!journal && !options.exists(options.devLog)) {
      return `neither ${options.journalSocket} nor ${options.devLog} exists`;
    }
    const sender = DatagramSender.open();
    if (sender instanceof Error) return sender.message;
    return journal
      ? new SyslogSink(sender, options.journalSocket, (r) => journalMessage(r, options.facility, options.nodeId))
      : new SyslogSink(sender, options.devLog, (r) => syslogMessage(r, options.facility));
  }

  write(record: SyslogRecord): void {
    this.sender.send(this.path, this.format(record), () => {
      this.dropped++;
    });
  }

  close(): void {
    this.sender.close();
  }
}
