/**
 * The admin socket: a Unix domain socket speaking newline-delimited JSON (docs/contracts.md, "Admin socket").
 * The CLI and the client library use it. A bad line is answered with an error and counted; it never takes
 * the daemon down. Subscriptions push `{event, data}` lines to the connections that asked for them.
 */
import { chmodSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';

export type ErrorCode = 'bad_request' | 'not_found' | 'not_quorate' | 'refused' | 'internal';

/** An error a handler throws to answer with a specific code. */
export class AdminError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** One client connection, as seen by handlers (for subscriptions and per-connection state). */
export interface AdminConnection {
  readonly id: number;
  /** Sends an event line (named `event`, default the topic) if the connection subscribed to `topic`. */
  push(topic: string, data: unknown, event?: string): void;
  readonly topics: Set<string>;
  /** Called when the connection closes (handlers register cleanups, e.g. CPG leave). */
  onClose(cleanup: () => void): void;
  /**
   * Undefined while the client reads what it is sent; else (unread output over OUTPUT_PACE_BYTES) a promise that
   * settles once it was all read ('drain') or the connection closed. Requests that add traffic (a CPG multicast) wait on
   * it, so a sender that falls behind on its own deliveries is slowed instead of closed as a slow client.
   */
  outputBacklog(): Promise<void> | undefined;
}

export type Handler = (params: Record<string, unknown>, connection: AdminConnection) => unknown | Promise<unknown>;

/** Longest request line accepted (a CPG message of 1 MiB in base64 plus the envelope). */
const MAX_LINE_BYTES = 2 * 1024 * 1024;
/** A connection whose unread output exceeds this is too slow for live events and is closed. */
const MAX_PENDING_OUTPUT_BYTES = 16 * 1024 * 1024;
const SOCKET_MODE = 0o660;
/** Unread output above which a connection's new multicasts wait (well below MAX_PENDING_OUTPUT_BYTES). */
const OUTPUT_PACE_BYTES = 4 * 1024 * 1024;

export class AdminSocketServer {
  readonly counters = { requests: 0, badRequests: 0, connections: 0, slowClientsClosed: 0, acceptErrors: 0 };
  private server: Server | undefined;
  private readonly connections = new Set<ConnectionImpl>();
  private nextConnectionId = 1;

  constructor(
    private readonly path: string,
    private readonly handlers: Record<string, Handler>,
  ) {}

  async listen(): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    if (await isListening(this.path)) throw new Error(`another daemon is already listening on ${this.path}`);
    removeStaleSocket(this.path);
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => {
        server.off('error', reject);
        // An accept error (EMFILE, ENFILE: no descriptor left) is counted, never thrown: libuv drops that
        // connection and the socket answers again once descriptors are free.
        server.on('error', () => this.counters.acceptErrors++);
        resolve();
      });
    });
    chmodSync(this.path, SOCKET_MODE);
  }

  /** Sends an event to every connection subscribed to `topic`. */
  broadcast(topic: string, data: unknown): void {
    for (const connection of this.connections) connection.push(topic, data);
  }

  async close(): Promise<void> {
    for (const connection of this.connections) {
      connection.flush();
      connection.socket.destroy();
    }
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(this.path, { force: true });
  }

  private accept(socket: Socket): void {
    this.counters.connections++;
    const connection = new ConnectionImpl(this.nextConnectionId++, socket, () => this.counters.slowClientsClosed++);
    this.connections.add(connection);
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.trim() !== '') void this.handleLine(line, connection);
        newline = buffered.indexOf('\n');
      }
      if (buffered.length > MAX_LINE_BYTES) {
        this.counters.badRequests++;
        connection.reply({
          id: null,
          error: { code: 'bad_request', message: `request line over ${MAX_LINE_BYTES} bytes` },
        });
        connection.flush();
        socket.end();
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.connections.delete(connection);
      connection.runCleanups();
    });
  }

  private async handleLine(line: string, connection: ConnectionImpl): Promise<void> {
    this.counters.requests++;
    let request: unknown;
    try {
      request = JSON.parse(line);
    } catch {
      this.counters.badRequests++;
      connection.reply({ id: null, error: { code: 'bad_request', message: 'request is not valid JSON' } });
      return;
    }
    if (!isRequest(request)) {
      this.counters.badRequests++;
      connection.reply({
        id: null,
        error: {
          code: 'bad_request',
          message: 'a request is {"id": <positive integer>, "method": <string>, "params"?: {}}',
        },
      });
      return;
    }
    const { id, method } = request;
    const handler = Object.hasOwn(this.handlers, method) ? this.handlers[method] : undefined;
    if (!handler) {
      this.counters.badRequests++;
      connection.reply({ id, error: { code: 'not_found', message: `unknown method "${method}"` } });
      return;
    }
    try {
      const result = await handler(request.params ?? {}, connection);
      connection.reply({ id, result });
    } catch (error) {
      if (error instanceof AdminError) {
        if (error.code === 'bad_request') this.counters.badRequests++;
        connection.reply({ id, error: { code: error.code, message: error.message } });
      } else {
        const message = error instanceof Error ? error.message : String(error);
        connection.reply({ id, error: { code: 'internal', message } });
      }
    }
  }
}

class ConnectionImpl implements AdminConnection {
  readonly topics = new Set<string>();
  private readonly cleanups: (() => void)[] = [];
  private drained: Promise<void> | undefined;
  /**
   * Messages written in this turn of the event loop, sent in one socket write when it ends (check phase): a token
   * visit delivers many messages, and writing each one at once put a syscall per message between the socket read
   * of those messages and the read of the token behind them (docs/benchmarks.md, "Token rotation").
   */
  private queued: unknown[] = [];

  constructor(
    readonly id: number,
    readonly socket: Socket,
    private readonly onSlowClient: () => void,
  ) {}

  reply(message: unknown): void {
    this.write(message);
  }

  push(topic: string, data: unknown, event = topic): void {
    if (this.topics.has(topic)) this.write({ event, data });
  }

  onClose(cleanup: () => void): void {
    this.cleanups.push(cleanup);
  }

  outputBacklog(): Promise<void> | undefined {
    // Once waiting, every later request waits too (until 'drain'), so a connection's multicasts keep their order.
    if (this.drained) return this.drained;
    if (this.socket.destroyed || this.socket.writableLength <= OUTPUT_PACE_BYTES) return undefined;
    this.drained = new Promise<void>((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        this.drained = undefined;
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
    return this.drained;
  }

  runCleanups(): void {
    for (const cleanup of this.cleanups.splice(0)) cleanup();
  }

  private write(message: unknown): void {
    if (this.socket.destroyed) return;
    if (this.socket.writableLength > MAX_PENDING_OUTPUT_BYTES) {
      this.onSlowClient();
      this.socket.destroy();
      return;
    }
    if (this.queued.push(message) === 1) setImmediate(this.flush);
  }

  /** Writes the queued messages now, in order, one JSON line each. */
  readonly flush = (): void => {
    const messages = this.queued;
    if (messages.length === 0) return;
    this.queued = [];
    if (this.socket.destroyed) return;
    let text = '';
    for (const message of messages) text += `${JSON.stringify(message)}\n`;
    this.socket.write(text);
  };
}

function isRequest(value: unknown): value is { id: number; method: string; params?: Record<string, unknown> } {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  const paramsOk =
    r.params === undefined || (typeof r.params === 'object' && r.params !== null && !Array.isArray(r.params));
  return typeof r.id === 'number' && Number.isInteger(r.id) && r.id > 0 && typeof r.method === 'string' && paramsOk;
}

/** How long to wait for an old socket to answer before treating it as stale. */
const LIVENESS_PROBE_MS = 500;

/** Whether a live server answers on the socket path (a second daemon must not steal it). */
function isListening(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    const done = (alive: boolean) => {
      probe.destroy();
      resolve(alive);
    };
    probe.setTimeout(LIVENESS_PROBE_MS, () => done(false));
    probe.once('connect', () => done(true));
    probe.once('error', () => done(false));
  });
}

/** Removes a socket file left by a daemon that died; refuses to remove anything that is not a socket. */
function removeStaleSocket(path: string): void {
  let isSocket = false;
  try {
    isSocket = statSync(path).isSocket();
  } catch {
    return;
  }
  if (!isSocket) throw new Error(`${path} exists and is not a socket`);
  rmSync(path, { force: true });
}
