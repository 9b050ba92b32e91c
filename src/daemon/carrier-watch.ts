/**
 * The carrier watch of one engine (docs/daemon.md § Carrier watch): tells the transport when the interface of a
 * local link loses or regains carrier, so a pulled cable takes the link down in milliseconds instead of a ping
 * timeout. It does not poll (wake-ups are the idle CPU the lean ping profile cuts): `ip -o monitor link` prints a
 * line on every link change the kernel reports, and each one makes the watch read the links' carriers again
 * (./carrier.ts, sysfs). A cluster on loopback only has no carrier to watch: no monitor then.
 *
 * The monitor must not outlive the daemon, even one killed with SIGKILL (Node has no PR_SET_PDEATHSIG): it runs
 * under `sh`, whose stdin is a pipe from the daemon; a background reader waits for that pipe's end (the daemon
 * closed it or died) and then kills the shell's PID, which `exec` made the monitor's.
 */
import { type ChildProcessByStdio, execFile, spawn } from 'node:child_process';
import { BlockList, isIPv6 } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { interfaceOf, readCarrier, rememberInterface } from './carrier.ts';
import { CARRIER_ADDRESS_LIST_TIMEOUT_MS, CARRIER_MONITOR_STDERR_BYTES_MAX } from './limits.ts';
import type { LogLevel } from './log.ts';

/** A local link and the address it is bound to. */
export interface LocalLinkAddress {
  link: number;
  address: string;
}

export interface CarrierWatchOptions {
  links: LocalLinkAddress[];
  /** Tells the transport (UdpTransport.setLinkCarrier). */
  setLinkCarrier: (link: number, carrier: boolean) => void;
  log: (level: LogLevel, message: string) => void;
}

/**
 * The monitor and its end when the daemon's pipe closes (see the module comment). The reader gets the pipe as fd 3:
 * sh gives a background job /dev/null as stdin.
 */
const MONITOR_SCRIPT = 'exec 3<&0; (read -r _ <&3; kill $$) & exec ip -o monitor link 3<&-';
/** `ip` is in /usr/sbin or /sbin on some systems, which a user's PATH may lack. */
const IP_ENV = { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` };

const LOOPBACK_ADDRESSES = new BlockList();
LOOPBACK_ADDRESSES.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK_ADDRESSES.addAddress('::1', 'ipv6');

/** True for an address of the loopback interface, which has no carrier: 127.0.0.0/8, ::1. */
export function isLoopbackAddress(address: string): boolean {
  return LOOPBACK_ADDRESSES.check(address, isIPv6(address) ? 'ipv6' : 'ipv4');
}

/** Interface per address in `ip -o addr show` output (`2: eth0    inet 198.18.0.1/24 brd …`). */
export function parseAddressList(text: string): Map<string, string> {
  const interfaces = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^\d+:\s+([^\s@]+)\S*\s+inet6?\s+([^/\s]+)/.exec(line);
    if (match) interfaces.set(match[2]!, match[1]!);
  }
  return interfaces;
}

/**
 * The links whose carrier differs from what the transport was told (`told`; a link not in it has carrier, as the
 * transport assumes of a new link); an unknown carrier (null) changes nothing.
 */
export function carrierChanges(
  told: ReadonlyMap<number, boolean>,
  read: ReadonlyMap<number, boolean | null>,
): { link: number; carrier: boolean }[] {
  const changes: { link: number; carrier: boolean }[] = [];
  for (const [link, carrier] of read) {
    if (carrier !== null && carrier !== (told.get(link) ?? true)) changes.push({ link, carrier });
  }
  return changes;
}

export class CarrierWatch {
  private links: LocalLinkAddress[] = [];
  /** Per link, the carrier last told to the transport (absent: true). */
  private readonly told = new Map<number, boolean>();
  private monitor: ChildProcessByStdio<Writable, Readable, Readable> | undefined;
  /** The monitor could not start or died: the watch goes on without it (the ping timeout still notices). */
  private monitorFailed = false;
  private refreshScheduled = false;
  private stopped = false;

  private constructor(private readonly options: CarrierWatchOptions) {}

  /** Reads the links' carriers and starts watching them (no monitor when every link is on loopback). */
  static start(options: CarrierWatchOptions): CarrierWatch {
    const watch = new CarrierWatch(options);
    watch.follow(options.links);
    return watch;
  }

  /** The local links are now `links` (reconfigure added or removed some). */
  follow(links: LocalLinkAddress[]): void {
    this.links = links;
    for (const link of this.told.keys()) if (!links.some((l) => l.link === link)) this.told.delete(link);
    const watched = links.filter((l) => !isLoopbackAddress(l.address));
    if (watched.length === 0) {
      this.stopMonitor();
      this.options.log('debug', 'link: every local link is on loopback, which has no carrier: not watching carriers');
      return;
    }
    if (this.monitor === undefined && !this.monitorFailed) this.startMonitor();
    void this.findInterfaces(watched).then(() => this.refresh());
  }

  /** Stops watching: the monitor is killed (its PID) and its pipe closed. */
  stop(): void {
    this.stopped = true;
    this.stopMonitor();
  }

  /** The monitor's PID while it runs. */
  get monitorPid(): number | undefined {
    return this.monitor?.pid;
  }

  private startMonitor(): void {
    const monitor = spawn('sh', ['-c', MONITOR_SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'], env: IP_ENV });
    this.monitor = monitor;
    let stderr = '';
    monitor.stdout.on('data', () => this.scheduleRefresh());
    monitor.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(0, CARRIER_MONITOR_STDERR_BYTES_MAX);
    });
    monitor.stdin.on('error', () => undefined); // the monitor died: its exit is reported below
    const failed = (why: string) => {
      if (this.monitor !== monitor) return; // stopped on purpose
      this.monitor = undefined;
      this.monitorFailed = true;
      monitor.stdin.destroy();
      this.options.log(
        'warning',
        `link: the interface monitor (ip -o monitor link, iproute2) ${why}: a pulled cable is noticed by the ping timeout only`,
      );
    };
    monitor.once('error', (error) => failed(`cannot run: ${error.message}`));
    monitor.once('exit', (code, signal) =>
      failed(`exited (${signal ?? `code ${code}`}${stderr.trim() ? `: ${stderr.trim()}` : ''})`),
    );
    // The watch never keeps the daemon's loop alive.
    monitor.unref();
    for (const stream of [monitor.stdin, monitor.stdout, monitor.stderr]) (stream as { unref?(): void }).unref?.();
    this.options.log('debug', `link: watching carriers with ip -o monitor link (pid ${monitor.pid})`);
  }

  private stopMonitor(): void {
    const monitor = this.monitor;
    if (monitor === undefined) return;
    this.monitor = undefined;
    monitor.stdin.end();
    if (monitor.exitCode === null && monitor.signalCode === null) monitor.kill('SIGTERM');
  }

  /**
   * Learns the interfaces of `links`' addresses that `networkInterfaces()` does not list — it lists only interfaces
   * with carrier — from one `ip -o addr show`; failing, those links' carriers stay unknown until seen.
   */
  private async findInterfaces(links: LocalLinkAddress[]): Promise<void> {
    if (links.every((l) => interfaceOf(l.address) !== undefined)) return;
    const text = await new Promise<string>((resolve) =>
      execFile(
        'ip',
        ['-o', 'addr', 'show'],
        { env: IP_ENV, timeout: CARRIER_ADDRESS_LIST_TIMEOUT_MS, killSignal: 'SIGKILL' },
        (error, stdout) => resolve(error ? '' : stdout),
      ),
    );
    for (const [address, name] of parseAddressList(text)) {
      if (links.some((l) => l.address === address)) rememberInterface(address, name);
    }
  }

  /** One read per turn of the loop, however many lines the monitor printed in it. */
  private scheduleRefresh(): void {
    if (this.refreshScheduled) return;
    this.refreshScheduled = true;
    setImmediate(() => {
      this.refreshScheduled = false;
      this.refresh();
    });
  }

  private refresh(): void {
    if (this.stopped) return;
    const read = new Map(this.links.map((l) => [l.link, readCarrier(l.address)]));
    for (const { link, carrier } of carrierChanges(this.told, read)) {
      this.told.set(link, carrier);
      const address = this.links.find((l) => l.link === link)!.address;
      const where = interfaceOf(address) ?? address;
      this.options.log(
        'notice',
        `link: local link ${link} ${carrier ? 'has carrier again' : 'lost carrier'} (${where})`,
      );
      this.options.setLinkCarrier(link, carrier);
    }
  }
}
