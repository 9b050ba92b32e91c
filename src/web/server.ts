/**
 * The daemon's HTTP server (Fastify): the dashboard at `/`, Prometheus metrics at `/metrics`, the JSON API and
 * live stream under `/api/` (docs/dashboard.md, docs/metrics.md). Bound to 127.0.0.1 unless the config says
 * otherwise; reads are open, state changes need the admin token; no CORS headers are ever sent.
 */
import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance } from 'fastify';
import type { ServiceCounters } from '../daemon/daemon.ts';
import type { NodeEngine } from '../daemon/engine.ts';
import type { Logger } from '../daemon/log.ts';
import type { ClusterLinksV1, HaStatusV1 } from '../ipc/schema.ts';
import { registerApi, registerClusterLinksApi, registerHaApi } from './api.ts';
import { allowedHosts, BOUNDED_SERVER_OPTIONS, HttpGuard } from './guard.ts';
import { ClusterHistory } from './history.ts';
import { historyFilePath } from './history-file.ts';
import { DaemonMetrics } from './metrics.ts';
import { RequestSlices } from './request-slices.ts';
import { registerStream } from './stream.ts';
import { loadOrCreateToken } from './token.ts';

/** Default bind address: the dashboard is local unless the admin opens it up. */
export const DEFAULT_HTTP_ADDRESS = '127.0.0.1';

/** The dashboard's static files: URL path → file in ./dashboard/ and its content type. */
const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
  // Browsers ask for /favicon.ico whatever the page says: both paths serve the one SVG icon.
  '/favicon.ico': { file: 'favicon.svg', type: 'image/svg+xml' },
  '/favicon.svg': { file: 'favicon.svg', type: 'image/svg+xml' },
};
/** Only our own scripts, styles and API: the page loads nothing from elsewhere. */
const CONTENT_SECURITY_POLICY = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'";

export interface WebServerOptions {
  engine: NodeEngine;
  logger: Logger;
  address: string;
  port: number;
  /** The admin token file (created 0600 when missing). */
  tokenPath: string;
  /** The daemon's service counters (cfs writes, joins), for the metrics. */
  serviceCounters?: () => ServiceCounters;
  /** The HA status (src/daemon/handlers/ha.ts), on a node with HA: `/api/ha`, the dashboard panel, the metrics. */
  haStatus?: () => HaStatusV1 | undefined;
  /** Every member's view of every path (`/api/cluster-links`, the dashboard's cluster-wide matrix). */
  clusterLinks?: () => ClusterLinksV1;
}

export interface WebServer {
  /** `http://address:port/` */
  readonly url: string;
  close(): Promise<void>;
}

function registerDashboard(app: FastifyInstance): void {
  for (const [path, asset] of Object.entries(ASSETS)) {
    const body = readFileSync(new URL(`./dashboard/${asset.file}`, import.meta.url));
    app.get(path, async (_request, reply) =>
      reply
        .type(asset.type)
        .header('cache-control', 'no-cache')
        .header('content-security-policy', CONTENT_SECURITY_POLICY)
        .send(body),
    );
  }
}

/** Starts the HTTP server; rejects when the address cannot be bound. */
export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const { engine, logger } = options;
  const token = loadOrCreateToken(options.tokenPath);
  const history = new ClusterHistory(engine, {
    file: historyFilePath(engine.options.stateDir, engine.localNodeId),
    warn: (message) => logger.log('warning', 'MAIN', message),
  });
  const guard = new HttpGuard(allowedHosts(engine.checked.config, options.address), logger);
  const metrics = new DaemonMetrics(engine, history, options.serviceCounters, () => guard.refused, options.haStatus);
  const app = Fastify({
    logger: false,
    forceCloseConnections: true,
    ...BOUNDED_SERVER_OPTIONS,
    clientErrorHandler: guard.clientError,
  });
  guard.guardServer(app.server);
  guard.register(app);
  // After the guard's hooks: a refused request is answered at once, never queued.
  const slices = new RequestSlices();
  app.addHook('onRequest', (_request, _reply, done) => slices.admit(done));
  app.setErrorHandler(async (error: { statusCode?: number; validation?: unknown; message: string }, _req, reply) => {
    if (error.validation) return reply.code(400).send({ error: { code: 'bad_request', message: error.message } });
    const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
    return reply
      .code(status)
      .send({ error: { code: status === 500 ? 'internal' : 'bad_request', message: error.message } });
  });
  registerApi(app, engine, history, token, (source, what) => guard.refuse('unauthorized', source, what));
  registerHaApi(app, options.haStatus ?? (() => undefined));
  if (options.clusterLinks) registerClusterLinksApi(app, options.clusterLinks);
  registerStream(app, history);
  registerDashboard(app);
  app.get('/metrics', async (_request, reply) => reply.type(metrics.contentType).send(await metrics.render()));
  app.addHook('onClose', async () => {
    guard.close();
    metrics.close();
    await history.close();
  });
  try {
    await app.listen({ host: options.address, port: options.port });
  } catch (error) {
    await app.close();
    throw error;
  }
  guard.guardAccept(app.server);
  const host = options.address.includes(':') ? `[${options.address}]` : options.address;
  const url = `http://${host}:${options.port}/`;
  logger.log('notice', 'MAIN', `HTTP dashboard and metrics on ${url} (admin token in ${options.tokenPath})`);
  return { url, close: () => app.close() };
}
