/**
 * A small in-test daemon speaking the admin socket contract (docs/contracts.md) in either framing (the client's
 * first bytes choose, as with the real daemon): requests, answers, subscriptions and CPG groups. Tests set
 * handlers per method and can stop and restart it on one path.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DAEMON_FRAME_BYTES_MAX, type FrameCodec, type FrameDecoder, type Message } from '../../src/ipc/framing.ts';
import { jsonLines } from '../../src/ipc/json-lines.ts';
import { negotiate } from '../../src/ipc/negotiate.ts';

/** Throw from a handler to answer with `{"error": {code, message}}`. */
export class FakeDaemonError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** One client connection as the fake daemon sees it. */
export interface FakeConnection {
  socket: Socket;
  topics: Set<string>;
  groups: Set<string>;
  pid: number;
  /** The framing the client chose. */
  codec: FrameCodec;
}

/** A method handler: returns the result (or a promise of it), throws `FakeDaemonError`, or returns NO_ANSWER. */
export type Handler = (params: Record<string, unknown>, connection: FakeConnection) => unknown;

/** Returned by a handler that should never answer (for timeout tests). */
export const NO_ANSWER = Symbol('no answer');

/** A fresh directory for sockets and files; `cleanup()` removes it. */
export function tempDir(): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'corolink-test-'));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The fake daemon. */
export class FakeDaemon {
  /** Every request received, in order (across restarts). */
  readonly requests: { method: string; params: Record<string, unknown> }[] = [];
  readonly connections = new Set<FakeConnection>();
  readonly handlers: Record<string, Handler> = {};
  /** When true, `cpgMcast` is refused with `refused` / "backpressure". */
  cpgQueueFull = false;
  /** Per group: the answers of its next `cpgJoin` / `cpgLeave` requests, one each, before they are served. */
  readonly cpgRefusals = new Map<string, FakeDaemonError[]>();
  /** When set, every outgoing line is written in pieces of this many bytes, 1 ms apart. */
  writeChunkBytes: number | null = null;
  private server: Server | null = null;
  private nextPid = 1000;
  private readonly writeChains = new WeakMap<FakeConnection, Promise<void>>();

  private constructor(readonly path: string) {}

  /** Starts listening on `path`. */
  static async start(path: string): Promise<FakeDaemon> {
    const daemon = new FakeDaemon(path);
    await daemon.listen();
    return daemon;
  }

  /** Stops accepting connections and drops every connection (like a daemon crash). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const connection of this.connections) connection.socket.destroy();
    this.connections.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Listens (again) on the path. */
  async listen(): Promise<void> {
    rmSync(this.path, { force: true });
    const server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => resolve());
    });
    this.server = server;
  }

  /** Sends an event to every connection subscribed to `topic`. */
  broadcast(topic: string, event: string, data: unknown): void {
    for (const connection of this.connections) {
      if (connection.topics.has(topic)) this.send(connection, { event, data });
    }
  }

  /** Sends raw text to every connection (for protocol-error tests). */
  sendRaw(text: string): void {
    for (const connection of this.connections) connection.socket.write(text);
  }

  /** The params of every request of one method. */
  requestsOf(method: string): Record<string, unknown>[] {
    return this.requests.filter((request) => request.method === method).map((request) => request.params);
  }

  private accept(socket: Socket): void {
    const connection: FakeConnection = {
      socket,
      topics: new Set(),
      groups: new Set(),
      pid: this.nextPid++,
      codec: jsonLines,
    };
    this.connections.add(connection);
    let decoder: FrameDecoder | undefined;
    let first = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      if (!decoder) {
        first = Buffer.concat([first, chunk]);
        const chosen = negotiate(first);
        if (!('codec' in chosen)) return;
        if (chosen.hello) socket.write(chosen.hello);
        connection.codec = chosen.codec;
        decoder = chosen.codec.decoder(DAEMON_FRAME_BYTES_MAX);
        chunk = chosen.rest;
      }
      for (const frame of decoder.push(chunk)) {
        if ('message' in frame) void this.handle(connection, frame.message);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => this.connections.delete(connection));
  }

  private async handle(connection: FakeConnection, message: Message): Promise<void> {
    const request = message as { id: number; method: string; params?: Record<string, unknown> };
    const params = request.params ?? {};
    this.requests.push({ method: request.method, params });
    try {
      const handler = this.handlers[request.method] ?? this.builtIn(request.method);
      if (!handler) throw new FakeDaemonError('not_found', `unknown method ${request.method}`);
      const result = await handler(params, connection);
      if (result === NO_ANSWER) return;
      this.send(connection, { id: request.id, result });
    } catch (error) {
      const code = error instanceof FakeDaemonError ? error.code : 'internal';
      this.send(connection, { id: request.id, error: { code, message: (error as Error).message } });
    }
  }

  private builtIn(method: string): Handler | undefined {
    switch (method) {
      case 'subscribe':
        return (params, connection) => {
          for (const topic of params.topics as string[]) connection.topics.add(topic);
          return { ok: true };
        };
      case 'cpgJoin':
        return (params, connection) => {
          const group = params.group as string;
          this.throwRefusal(group);
          connection.groups.add(group);
          this.groupEvent(group, 'cpgConfchg', {
            members: this.groupMembers(group),
            left: [],
            joined: [{ nodeid: 1, pid: connection.pid }],
          });
          return { ok: true, nodeid: 1, pid: connection.pid };
        };
      case 'cpgMembership':
        return (params) => ({ group: params.group, members: this.groupMembers(params.group as string) });
      case 'cpgGroups':
        return () => {
          const names = new Set([...this.connections].flatMap((c) => [...c.groups]));
          return { groups: [...names].sort().map((group) => ({ group, members: this.groupMembers(group) })) };
        };
      case 'cpgLeave':
        return (params, connection) => {
          this.throwRefusal(params.group as string);
          connection.groups.delete(params.group as string);
          return { ok: true };
        };
      case 'cpgMcast':
        return (params, connection) => {
          if (this.cpgQueueFull) throw new FakeDaemonError('refused', 'backpressure: the send queue is full');
          this.groupEvent(params.group as string, 'cpgDeliver', { nodeid: 1, pid: connection.pid, data: params.data });
          return { ok: true };
        };
      default:
        return undefined;
    }
  }

  /** Throws the next refusal queued for `group` in `cpgRefusals`, if any. */
  private throwRefusal(group: string): void {
    const refusal = this.cpgRefusals.get(group)?.shift();
    if (refusal) throw refusal;
  }

  private groupMembers(group: string): { nodeid: number; pid: number }[] {
    return [...this.connections].filter((c) => c.groups.has(group)).map((c) => ({ nodeid: 1, pid: c.pid }));
  }

  private groupEvent(group: string, event: string, data: Record<string, unknown>): void {
    for (const connection of this.connections) {
      if (connection.groups.has(group)) this.send(connection, { event, data: { group, ...data } });
    }
  }

  private send(connection: FakeConnection, message: Message): void {
    const bytes = Buffer.concat(connection.codec.encode([message]));
    const chunk = this.writeChunkBytes;
    if (chunk === null) {
      connection.socket.write(bytes);
      return;
    }
    // Pieces of consecutive messages must not interleave: each connection writes through one chain.
    const previous = this.writeChains.get(connection) ?? Promise.resolve();
    const next = previous.then(async () => {
      for (let offset = 0; offset < bytes.length; offset += chunk) {
        if (connection.socket.destroyed) return;
        connection.socket.write(bytes.subarray(offset, offset + chunk));
        await sleep(1);
      }
    });
    this.writeChains.set(connection, next);
  }
}
