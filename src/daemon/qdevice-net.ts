/**
 * The qdevice-net client's driver: puts the pure core (src/qdevice/client.ts) on a real TCP connection to
 * corosync-qnetd, upgraded in place to TLS after STARTTLS (client certificate from `corolink qdevice setup`,
 * server certificate checked against qnetd's CA and its CN `Qnetd Server`, as corosync-qdevice does with NSS),
 * with real timers on performance.now().
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { lazyBuiltin } from '../base/lazy-module.ts';
import {
  type QdeviceNetAction,
  QdeviceNetCore,
  type QdeviceNetCounters,
  type QdeviceNetEvent,
} from '../qdevice/client.ts';
import { QNETD_SERVER_CN } from '../qdevice/settings.ts';
import type { LogLevel } from './log.ts';
import type { QdeviceClusterView, QdeviceNetOptions, QdeviceNetStatus, QdeviceVoteSource } from './qdevice-contract.ts';

/** TLS, loaded once a QDevice is configured (src/base/lazy-module.ts). */
const tls = lazyBuiltin<typeof import('node:tls')>('node:tls');

/** Where the client's log lines go (subsystem `QDEVICE`, corosync-qdevice's words). */
export type QdeviceLog = (level: LogLevel, subsystem: 'QDEVICE', message: string) => void;

/** One TCP connection (and its TLS layer once upgraded); its events count only while it is the current one. */
interface Connection {
  raw: net.Socket;
  stream: net.Socket;
  /** Settles when the last plain write has reached the kernel (STARTTLS must leave before the TLS hello). */
  lastRawWrite: Promise<void>;
  closedFed: boolean;
  closed: Promise<void>;
  error?: string;
}

export class QdeviceNetClient implements QdeviceVoteSource {
  private readonly core: QdeviceNetCore;
  private connection: Connection | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly options: QdeviceNetOptions,
    private readonly log: QdeviceLog,
    /** Called after every step of the core (a message, a timer, a view): for metrics and status events. */
    private readonly onChange?: (status: QdeviceNetStatus) => void,
  ) {
    this.core = new QdeviceNetCore(options, Math.random);
  }

  start(): void {
    this.feed({ type: 'start' });
  }

  async stop(): Promise<void> {
    const connection = this.connection;
    this.feed({ type: 'stop' });
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await connection?.closed;
  }

  update(view: QdeviceClusterView): void {
    this.feed({ type: 'view', view });
  }

  /** corosync-qdevice's poll: the vote to poll votequorum with, or null for no poll (see QdeviceNetCore.poll). */
  poll(): ReturnType<QdeviceVoteSource['poll']> {
    return this.core.poll();
  }

  status(): QdeviceNetStatus {
    const s = this.core.status();
    return {
      state: s.connected ? 'connected' : s.connecting ? 'connecting' : 'disconnected',
      server: `${this.options.host}:${this.options.port}`,
      algorithm: this.options.algorithm,
      tieBreaker: this.options.tieBreaker,
      tls: s.usingTls,
      lastVote: s.lastVote,
      castVote: s.castVote,
      lastHeartbeatAt: s.lastHeartbeatAt,
      connectedSince: s.connectedSince,
    };
  }

  /** Bad messages, connects and disconnects, for metrics. */
  counters(): Readonly<QdeviceNetCounters> {
    return this.core.counters;
  }

  private feed(event: QdeviceNetEvent): void {
    for (const action of this.core.step(event, performance.now())) this.apply(action);
    this.schedule();
    this.onChange?.(this.status());
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const deadline = this.core.nextDeadline();
    if (deadline === null) return;
    this.timer = setTimeout(() => this.feed({ type: 'tick' }), Math.max(0, deadline - performance.now()));
  }

  private apply(action: QdeviceNetAction): void {
    switch (action.type) {
      case 'log':
        this.log(action.level, action.subsystem, action.message);
        break;
      case 'connect':
        this.connect(action.host, action.port);
        break;
      case 'send':
        this.send(action.bytes);
        break;
      case 'startTls':
        this.startTls();
        break;
      case 'disconnect':
        this.connection?.raw.destroy();
        this.connection = null;
        break;
    }
  }

  private connect(host: string, port: number): void {
    const raw = net.connect({ host, port });
    raw.setNoDelay(true);
    let resolveClosed = (): void => {};
    const connection: Connection = {
      raw,
      stream: raw,
      lastRawWrite: Promise.resolve(),
      closedFed: false,
      closed: new Promise((resolve) => {
        resolveClosed = resolve;
      }),
    };
    this.connection = connection;
    const current = (): boolean => this.connection === connection;
    raw.on('connect', () => {
      if (current()) this.feed({ type: 'connected' });
    });
    raw.on('data', (bytes: Buffer) => {
      if (current() && connection.stream === raw) this.feed({ type: 'data', bytes });
    });
    raw.on('error', (error) => {
      connection.error = error.message;
    });
    raw.on('close', () => {
      resolveClosed();
      this.closed(connection);
    });
  }

  private closed(connection: Connection): void {
    if (this.connection !== connection || connection.closedFed) return;
    connection.closedFed = true;
    this.feed(connection.error === undefined ? { type: 'closed' } : { type: 'closed', error: connection.error });
  }

  private send(bytes: Uint8Array): void {
    const connection = this.connection;
    if (!connection || connection.stream.destroyed) return;
    if (connection.stream !== connection.raw) {
      connection.stream.write(bytes);
      return;
    }
    connection.lastRawWrite = new Promise((resolve) => connection.raw.write(bytes, () => resolve()));
  }

  private startTls(): void {
    const connection = this.connection;
    if (!connection) return;
    const files = this.options.tlsFiles;
    let material: { ca: Buffer; cert: Buffer; key: Buffer };
    try {
      if (!files) throw new Error('no certificate files configured (corolink qdevice setup makes them)');
      material = { ca: readFileSync(files.ca), cert: readFileSync(files.cert), key: readFileSync(files.key) };
    } catch (error) {
      this.log('error', 'QDEVICE', `Can't start TLS: ${(error as Error).message}`);
      connection.error = "can't start TLS";
      connection.raw.destroy();
      return;
    }
    void connection.lastRawWrite.then(() => {
      if (this.connection !== connection) return;
      const secure = tls().connect({
        socket: connection.raw,
        ...material,
        checkServerIdentity: (_host, cert) =>
          cert.subject?.CN === QNETD_SERVER_CN
            ? undefined
            : new Error(`server certificate CN is ${cert.subject?.CN}, expected ${QNETD_SERVER_CN}`),
      });
      connection.stream = secure;
      secure.on('secureConnect', () => {
        if (this.connection === connection) this.feed({ type: 'tlsStarted' });
      });
      secure.on('data', (bytes: Buffer) => {
        if (this.connection === connection) this.feed({ type: 'data', bytes });
      });
      secure.on('error', (error) => {
        connection.error = error.message;
        connection.raw.destroy();
      });
    });
  }
}

/** The daemon's factory for `quorum.device.model: net`. */
export function createQdeviceNet(
  options: QdeviceNetOptions,
  log: QdeviceLog,
  onChange?: (status: QdeviceNetStatus) => void,
): QdeviceNetClient {
  return new QdeviceNetClient(options, log, onChange);
}
