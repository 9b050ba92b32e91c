/**
 * The admin socket: a Unix domain socket speaking the contract of src/ipc (docs/contracts.md, "Admin socket") in
 * the framing the client's first bytes choose: JSON lines (the CLI, `socat`) or binary frames (the client
 * library). Every request's params are checked against its method's schema before the handler runs. A bad
 * frame or request is answered with an error and counted; it never takes the daemon down. Subscriptions push
 * `{event, data}` messages to the connections that asked for them. The same server, given an AppSocketGate, is the
 * application socket (app-socket.ts): the gate admits each connection by its peer, and admin-only methods are
 * answered `forbidden`.
 */
import { chmodSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { STAGE_TRACE_ON, stamp } from '../base/stage-trace.ts';
import {
  type Decoded,
  type FrameCodec,
  type FrameDecoder,
  FramingError,
  REQUEST_FRAME_BYTES_MAX,
} from '../ipc/framing.ts';
import { jsonLines } from '../ipc/json-lines.ts';
import { adminOnlyPart, type ErrorCode, isMethod, type Method, type Params, paramsProblem } from '../ipc/methods.ts';
import { negotiate } from '../ipc/negotiate.ts';
import { ADMIN_REQUESTS_PER_SLICE_MAX, ADMIN_SLICE_MS } from './limits.ts';

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
  /** The connection is closed: an answer would go nowhere (work still queued for it can be dropped). */
  readonly closed: boolean;
  /**
   * Undefined while the client reads what it is sent; else (unread output over OUTPUT_PACE_BYTES) a promise that
   * settles once it was all read ('drain') or the connection closed. Requests that add traffic (a CPG multicast) wait on
   * it, so a sender that falls behind on its own deliveries is slowed instead of closed as a slow client.
   */
  outputBacklog(): Promise<void> | undefined;
}

/** A method's handler: its params are checked against the method's schema before it runs. */
export type Handler<M extends Method = Method> = (
  params: Params<M>,
  connection: AdminConnection,
) => unknown | Promise<unknown>;

/** A handler for every method of the contract. */
export type Handlers = { [M in Method]: Handler<M> };
/** A connection whose unread output exceeds this is too slow for live events and is closed. */
const PENDING_OUTPUT_BYTES_MAX = 16 * 1024 * 1024;
const SOCKET_MODE = 0o660;
/** The application socket: anyone may connect, `admit` decides by the peer's credentials. */
const APP_SOCKET_MODE = 0o666;
/**
 * Unread output above which a connection's new multicasts wait (well below PENDING_OUTPUT_BYTES_MAX). 1 MiB, not
 * 4: with a sender on every node, n1 spent 19.0–20.8 µs of CPU per 1 KiB message against 23.3–24.8 and the ring
 * carried 6–15 % more (faster in 6 of 6 phases, 3 alternating pairs), fairness as good (docs/benchmarks.md
 * "2026-12-07 (session 28)"); a 64 KiB sender now waits after 16 unread messages instead of 64 (≈ −5 %).
 */
const OUTPUT_PACE_BYTES = 1024 * 1024;

/**
 * The application socket's gate (docs/security.md): a connection `admit` refuses (it returns why, and logs it) is
 * closed unread; on the connections it admits, admin-only methods are answered `forbidden`.
 */
export interface AppSocketGate {
  admit(socket: Socket): string | undefined;
}

export class AdminSocketServer {
  readonly counters = {
    requests: 0,
    badRequests: 0,
    connections: 0,
    slowClientsClosed: 0,
    acceptErrors: 0,
    /** Admin-only requests refused on the application socket. */
    forbidden: 0,
    /** Connections the application socket's gate closed. */
    peersRefused: 0,
  };
  private server: Server | undefined;
  private readonly connections = new Set<ConnectionImpl>();
  private nextConnectionId = 1;

  /** `app`: this is the application socket, with its gate; else the admin socket (owner only, every method). */
  constructor(
    private readonly path: string,
    private readonly handlers: Handlers,
    private readonly app?: AppSocketGate,
  ) {}

  async listen(): Promise<void> {
    if (!this.app) mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
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
    chmodSync(this.path, this.app ? APP_SOCKET_MODE : SOCKET_MODE);
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
    if (this.app?.admit(socket) !== undefined) {
      this.counters.peersRefused++;
      socket.destroy();
      return;
    }
    const connection = new ConnectionImpl(this.nextConnectionId++, socket, () => this.counters.slowClientsClosed++);
    this.connections.add(connection);
    let decoder: FrameDecoder | undefined;
    let first = Buffer.alloc(0);
    // Decoded requests not handled yet: at most ADMIN_REQUESTS_PER_SLICE_MAX or ADMIN_SLICE_MS of them per turn of
    // the loop (200,000 pipelined requests handled in one task held the loop 461 ms: docs/daemon.md). While any
    // wait, or while the client has not read its answers, the socket is not read: the client is paced by TCP.
    let pending: Decoded[] = [];
    let next = 0;
    /** A slice is due in a later turn (or once the client read its answers): new data waits for it. */
    let waiting = false;
    const handleSlice = (): void => {
      waiting = false;
      if (socket.destroyed) return;
      const backlog = connection.outputBacklog();
      if (backlog) {
        socket.pause();
        waiting = true;
        void backlog.then(handleSlice);
        return;
      }
      const started = performance.now();
      for (let handled = 0; next < pending.length; handled++) {
        if (handled === ADMIN_REQUESTS_PER_SLICE_MAX || performance.now() - started >= ADMIN_SLICE_MS) break;
        const frame = pending[next]!;
        pending[next++] = undefined as never;
        this.handle(frame, connection);
      }
      if (next < pending.length) {
        socket.pause();
        waiting = true;
        setImmediate(handleSlice);
        return;
      }
      pending = [];
      next = 0;
      socket.resume();
    };
    const refuse = (message: string) => {
      this.counters.badRequests++;
      connection.reply({ id: null, error: { code: 'bad_request', message } });
      connection.flush();
      socket.end();
    };
    socket.on('data', (chunk: Buffer) => {
      if (STAGE_TRACE_ON) stamp('ipcRead');
      if (socket.writableEnded) return;
      if (!decoder) {
        first = Buffer.concat([first, chunk]);
        const chosen = negotiate(first);
        if ('incomplete' in chosen) return;
        if ('problem' in chosen) return refuse(chosen.problem);
        if (chosen.hello) socket.write(chosen.hello);
        connection.codec = chosen.codec;
        decoder = chosen.codec.decoder(REQUEST_FRAME_BYTES_MAX);
        chunk = chosen.rest;
      }
      try {
        for (const frame of decoder.push(chunk)) pending.push(frame);
      } catch (error) {
        if (error instanceof FramingError) return refuse(error.message);
        throw error;
      }
      if (!waiting) handleSlice();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.connections.delete(connection);
      connection.runCleanups();
    });
  }

  /**
   * Answers one request: at once when its handler returns a value, once settled when it returns a promise. Not an
   * async function: a promise and a microtask per request were a measurable share of a busy sender's CPU (every
   * CPG multicast is a request; docs/benchmarks.md "CPU per agreed message").
   */
  private handle(frame: Decoded, connection: ConnectionImpl): void {
    this.counters.requests++;
    if ('problem' in frame) {
      this.counters.badRequests++;
      connection.reply({ id: null, error: { code: 'bad_request', message: frame.problem } });
      return;
    }
    const request = frame.message;
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
    if (!isMethod(method)) {
      this.counters.badRequests++;
      connection.reply({ id, error: { code: 'not_found', message: `unknown method "${method}"` } });
      return;
    }
    const params = request.params ?? {};
    const problem = paramsProblem(method, params);
    if (problem !== undefined) {
      this.counters.badRequests++;
      connection.reply({ id, error: { code: 'bad_request', message: problem } });
      return;
    }
    const adminOnly = this.app ? adminOnlyPart(method, params) : undefined;
    if (adminOnly !== undefined) {
      this.counters.forbidden++;
      const message = `forbidden: ${adminOnly} is admin-only; this is the application socket ${this.path} (use the admin socket as root or the daemon's user)`;
      connection.reply({ id, error: { code: 'forbidden', message } });
      return;
    }
    let result: unknown;
    try {
      result = (this.handlers[method] as Handler)(params as Params<Method>, connection);
    } catch (error) {
      this.replyError(connection, id, error);
      return;
    }
    if (!isPromiseLike(result)) {
      connection.reply({ id, result });
      return;
    }
    result.then(
      (settled) => connection.reply({ id, result: settled }),
      (error: unknown) => this.replyError(connection, id, error),
    );
  }

  /** The answer to a request whose handler failed: its AdminError's code, else `internal`. */
  private replyError(connection: ConnectionImpl, id: number, error: unknown): void {
    if (error instanceof AdminError) {
      if (error.code === 'bad_request') this.counters.badRequests++;
      connection.reply({ id, error: { code: error.code, message: error.message } });
    } else {
      const message = error instanceof Error ? error.message : String(error);
      connection.reply({ id, error: { code: 'internal', message } });
    }
  }
}

class ConnectionImpl implements AdminConnection {
  readonly topics = new Set<string>();
  /** The framing the client chose (JSON lines until it chose). */
  codec: FrameCodec = jsonLines;
  private readonly cleanups: (() => void)[] = [];
  private drained: Promise<void> | undefined;
  /**
   * Messages written in this turn of the event loop, sent in one socket write when it ends (check phase): a token
   * visit delivers many messages, and writing each one at once put a syscall per message between the socket read
   * of those messages and the read of the token behind them (docs/benchmarks.md, "Token rotation").
   */
  private queued: Record<string, unknown>[] = [];

  constructor(
    readonly id: number,
    readonly socket: Socket,
    private readonly onSlowClient: () => void,
  ) {}

  get closed(): boolean {
    return this.socket.destroyed;
  }

  reply(message: Record<string, unknown>): void {
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

  private write(message: Record<string, unknown>): void {
    if (this.socket.destroyed) return;
    if (this.socket.writableLength > PENDING_OUTPUT_BYTES_MAX) {
      this.onSlowClient();
      this.socket.destroy();
      return;
    }
    if (STAGE_TRACE_ON) stamp('ipcQueue');
    if (this.queued.push(message) === 1) setImmediate(this.flush);
  }

  /** Writes the queued messages now, in order, in one socket write (large payloads are not copied: ../ipc). */
  readonly flush = (): void => {
    const messages = this.queued;
    if (messages.length === 0) return;
    this.queued = [];
    if (this.socket.destroyed) return;
    const pieces = this.codec.encode(messages);
    if (STAGE_TRACE_ON) stamp('ipcWrite');
    if (pieces.length === 1) {
      this.socket.write(pieces[0]!);
      return;
    }
    this.socket.cork();
    for (const piece of pieces) this.socket.write(piece);
    this.socket.uncork();
  };
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
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
