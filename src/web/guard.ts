/**
 * What stands between the HTTP server and the network or a browser (docs/security.md): the bounds of the server
 * (connections, header/body/idle timeouts), the Host allow-list against DNS rebinding (a foreign Host is answered
 * 421), the Origin check of state-changing requests (403), the security headers of every answer, and the count and
 * rate-limited log of every refusal.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { hostname } from 'node:os';
import type { FastifyHttpOptions, FastifyInstance, FastifyReply } from 'fastify';
import type { CheckedConfig } from '../config/index.ts';
import {
  HTTP_BODY_BYTES_MAX,
  HTTP_CONNECTIONS_MAX,
  HTTP_HEADERS_TIMEOUT_MS,
  HTTP_IDLE_TIMEOUT_MS,
  HTTP_KEEPALIVE_TIMEOUT_MS,
  HTTP_REQUEST_TIMEOUT_MS,
  HTTP_TIMEOUT_CHECK_INTERVAL_MS,
} from '../daemon/limits.ts';
import type { Logger } from '../daemon/log.ts';
import { LogSummary } from '../daemon/log-summary.ts';

/** Why the HTTP server turned a connection or request away (the `reason` label of corolink_http_refused_total). */
export const HTTP_REFUSALS = [
  'unauthorized',
  'foreign_host',
  'foreign_origin',
  'connection_limit',
  'timeout',
  'bad_request',
  'accept_failed',
] as const;
export type HttpRefusal = (typeof HTTP_REFUSALS)[number];

/** Methods that only read: everything else changes state. */
export const READ_METHODS = new Set(['GET', 'HEAD']);

/** Fastify's server options for the bounds of ./limits.ts (the rest is set on the Node server by guardServer). */
export const BOUNDED_SERVER_OPTIONS: FastifyHttpOptions<Server> = {
  connectionTimeout: HTTP_IDLE_TIMEOUT_MS,
  keepAliveTimeout: HTTP_KEEPALIVE_TIMEOUT_MS,
  requestTimeout: HTTP_REQUEST_TIMEOUT_MS,
  bodyLimit: HTTP_BODY_BYTES_MAX,
  http: { headersTimeout: HTTP_HEADERS_TIMEOUT_MS, connectionsCheckingInterval: HTTP_TIMEOUT_CHECK_INTERVAL_MS },
};

/** Sent with every answer: no sniffing, no framing, no referrer to elsewhere. */
const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

/**
 * Host names a browser may use for this server: its address, the nodes' names and addresses, loopback, and this
 * host's own name with the names /etc/hosts gives it (its FQDN, as `hostname -f` finds it) — an admin types those.
 */
export function allowedHosts(config: CheckedConfig['config'], address: string, hostsFile = HOSTS_FILE): Set<string> {
  const hosts = ['localhost', '127.0.0.1', '::1', address, ...ownHostNames(hostsFile)];
  for (const node of config.nodes) {
    if (node.name) hosts.push(node.name);
    for (const a of node.addresses) hosts.push(a.address);
  }
  return new Set(hosts.map((h) => h.toLowerCase()));
}

const HOSTS_FILE = '/etc/hosts';

/** This host's name and every name of an /etc/hosts line that lists it (an unreadable file adds nothing). */
export function ownHostNames(hostsFile: string): string[] {
  const own = hostname().toLowerCase();
  let text = '';
  try {
    text = readFileSync(hostsFile, 'utf8');
  } catch {
    return [own];
  }
  const aliases = text
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim().split(/\s+/).slice(1))
    .filter((names) => names.some((n) => n.toLowerCase() === own || n.toLowerCase().split('.')[0] === own));
  return [...new Set([own, ...aliases.flat().map((n) => n.toLowerCase())])];
}

/** The host name of a Host header or an Origin URL's authority (brackets of IPv6 removed, port dropped). */
function hostName(authority: string): string {
  const match = /^\[([^\]]+)\](?::\d+)?$/.exec(authority) ?? /^([^:]+)(?::\d+)?$/.exec(authority);
  return (match?.[1] ?? authority).toLowerCase();
}

function originHost(origin: string): string | undefined {
  try {
    return hostName(new URL(origin).host);
  } catch {
    return undefined;
  }
}

export class HttpGuard {
  readonly refused: Record<string, number> = {};
  private readonly summary: LogSummary;

  constructor(
    private readonly hosts: Set<string>,
    logger: Logger,
  ) {
    this.summary = new LogSummary((message) => logger.log('warning', 'MAIN', message));
  }

  /** Counts a refusal and logs it (the first of a kind and source at once, then one summary per interval). */
  refuse(reason: HttpRefusal, source: string, detail: string): void {
    this.refused[reason] = (this.refused[reason] ?? 0) + 1;
    this.summary.note(
      `${reason} ${source}`,
      `HTTP: ${detail} (${reason}, from ${source})`,
      (count, seconds) => `HTTP: ${count} more ${reason} refusals from ${source} in the last ${seconds} s`,
    );
  }

  /** Sets the bounds Fastify does not take as options and reports what the Node server refuses by itself. */
  guardServer(server: Server): void {
    server.maxConnections = HTTP_CONNECTIONS_MAX;
    server.on('drop', (dropped) =>
      this.refuse(
        'connection_limit',
        dropped?.remoteAddress ?? 'unknown',
        `${HTTP_CONNECTIONS_MAX} connections open: a new one closed`,
      ),
    );
  }

  /** After listen: an accept error (EMFILE, ENFILE) is reported, never thrown (libuv drops that connection). */
  guardAccept(server: Server): void {
    server.on('error', (error: NodeJS.ErrnoException) =>
      this.refuse('accept_failed', 'accept', `cannot accept a connection: ${error.code ?? error.message}`),
    );
  }

  /** Fastify's clientErrorHandler: a timed-out or malformed request is counted and its connection closed. */
  readonly clientError = (error: NodeJS.ErrnoException, socket: Socket): void => {
    const timeout = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' || error.code === 'ERR_HTTP_HEADERS_TIMEOUT';
    this.refuse(timeout ? 'timeout' : 'bad_request', socket.remoteAddress ?? 'unknown', error.message);
    if (socket.writable) {
      socket.end(
        timeout
          ? 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n'
          : 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n',
      );
    }
    socket.destroy();
  };

  /** Host allow-list, Origin check and security headers, before any route runs. */
  register(app: FastifyInstance): void {
    app.addHook('onRequest', async (request, reply) => {
      reply.headers(SECURITY_HEADERS);
      const host = hostName(request.headers.host ?? '');
      if (!this.hosts.has(host)) {
        this.refuse('foreign_host', request.ip, `Host ${JSON.stringify(host.slice(0, 64))} is not one of this node's`);
        return guardError(reply, 421, 'foreign_host', 'this server does not answer for that host name');
      }
      const origin = request.headers.origin;
      if (READ_METHODS.has(request.method) || origin === undefined) return;
      const from = originHost(origin);
      if (from === undefined || !this.hosts.has(from)) {
        this.refuse(
          'foreign_origin',
          request.ip,
          `a ${request.method} from origin ${JSON.stringify(origin.slice(0, 64))}`,
        );
        return guardError(reply, 403, 'foreign_origin', 'state changes are accepted from this node’s own pages only');
      }
    });
  }

  close(): void {
    this.summary.close();
  }
}

function guardError(reply: FastifyReply, status: number, code: string, message: string) {
  return reply.code(status).header('connection', 'close').send({ error: { code, message } });
}
