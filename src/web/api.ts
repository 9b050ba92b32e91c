/**
 * The JSON API under `/api/`: the same versioned documents as the admin socket (built by src/daemon/status.ts),
 * the dashboard's history, and the two state-changing requests, which need the admin token (./token.ts).
 */
import { performance } from 'node:perf_hooks';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { LINK_NUMBER_MAX } from '../base/limits.ts';
import { EngineRefusal, type NodeEngine } from '../daemon/engine.ts';
import { HA_DISABLED_MESSAGE } from '../daemon/handlers/ha.ts';
import { buildLinks, buildQuorum, buildStatus } from '../daemon/status.ts';
import type { ClusterLinksV1, HaStatusV1 } from '../ipc/schema.ts';
import { READ_METHODS } from './guard.ts';
import { type ClusterHistory, EVENTS_KEPT } from './history.ts';
import { HISTORY_RANGE_DEFAULT, HISTORY_RANGES, HISTORY_RANGES_MS, type HistoryRange } from './history-tiers.ts';
import { authorized } from './token.ts';

function apiError(reply: FastifyReply, status: number, code: string, message: string) {
  return reply.code(status).send({ error: { code, message } });
}

/** Answers an EngineRefusal as the admin socket does (not_found → 404, others → 409); rethrows anything else. */
function refusal(reply: FastifyReply, error: unknown) {
  if (!(error instanceof EngineRefusal)) throw error;
  return error.code === 'not_found'
    ? apiError(reply, 404, 'not_found', error.message)
    : apiError(reply, 409, 'refused', error.message);
}

/** Registers the API; `onUnauthorized` is told of every request refused for want of the token (source address). */
export function registerApi(
  app: FastifyInstance,
  engine: NodeEngine,
  history: ClusterHistory,
  token: string,
  onUnauthorized: (source: string, what: string) => void,
): void {
  app.addHook('onRequest', async (request, reply) => {
    if (READ_METHODS.has(request.method) || authorized(request.headers.authorization, token)) return;
    onUnauthorized(request.ip, `${request.method} ${request.url.slice(0, 64)} without the admin token`);
    reply.header('www-authenticate', 'Bearer realm="corolink"');
    return apiError(reply, 401, 'unauthorized', 'this request needs the admin token (Authorization: Bearer …)');
  });

  app.get('/api/status', async () => buildStatus(engine));
  app.get('/api/links', async () => buildLinks(engine, performance.now()));
  app.get('/api/quorum', async () => buildQuorum(engine));
  app.get<{ Querystring: { limit?: number } }>(
    '/api/events',
    { schema: { querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 0 } } } } },
    async (request) => ({ version: 1, events: history.recentEvents(request.query.limit ?? EVENTS_KEPT) }),
  );
  app.get<{ Querystring: { range?: string } }>('/api/history', async (request, reply) => {
    const range = request.query.range ?? HISTORY_RANGE_DEFAULT;
    if (!(HISTORY_RANGES as string[]).includes(range)) {
      const got = JSON.stringify(range).slice(0, 40);
      return apiError(reply, 400, 'bad_request', `range must be one of ${HISTORY_RANGES.join(', ')}, got ${got}`);
    }
    const { stepMs, rows } = history.samples(range as HistoryRange);
    const range_ms = HISTORY_RANGES_MS[range as HistoryRange];
    return { version: 1, local_nodeid: engine.localNodeId, range, range_ms, interval_ms: stepMs, rows };
  });

  app.post<{ Params: { link: number; action: 'enable' | 'disable' } }>(
    '/api/links/:link/:action',
    {
      schema: {
        params: {
          type: 'object',
          required: ['link', 'action'],
          properties: {
            link: { type: 'integer', minimum: 0, maximum: LINK_NUMBER_MAX },
            action: { type: 'string', enum: ['enable', 'disable'] },
          },
        },
      },
    },
    async (request, reply) => {
      const { link, action } = request.params;
      const enabled = action === 'enable';
      try {
        engine.setLinkEnabled(link, enabled);
      } catch (error) {
        return refusal(reply, error);
      }
      return { link, enabled };
    },
  );
  app.post<{ Body: { votes: number } }>(
    '/api/expected',
    {
      schema: {
        body: {
          type: 'object',
          required: ['votes'],
          properties: { votes: { type: 'integer', minimum: 1 } },
        },
      },
    },
    async (request, reply) => {
      try {
        engine.setExpected(request.body.votes);
      } catch (error) {
        return refusal(reply, error);
      }
      return buildQuorum(engine);
    },
  );
}

/** `GET /api/cluster-links`: every member's view of every path, gathered through the ring (`clusterLinks`). */
export function registerClusterLinksApi(app: FastifyInstance, clusterLinks: () => ClusterLinksV1): void {
  app.get('/api/cluster-links', async () => clusterLinks());
}

/** `GET /api/ha`: the HA status (the `haStatus` document); 404 on a node without HA (the dashboard hides its panel). */
export function registerHaApi(app: FastifyInstance, haStatus: () => HaStatusV1 | undefined): void {
  app.get('/api/ha', async (_request, reply) => {
    const status = haStatus();
    return status === undefined ? apiError(reply, 404, 'not_found', HA_DISABLED_MESSAGE) : status;
  });
}
