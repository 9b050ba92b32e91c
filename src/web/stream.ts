/**
 * `GET /api/stream`: the live feed of the dashboard as server-sent events. Each timeline event goes out as
 * `event: link|membership|quorum|config` with the ClusterEvent as data; every second a `sample` event carries
 * the newest link samples. A client that stops reading is dropped.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { ClusterHistory, LiveItem } from './history.ts';

/** Comment line sent when nothing else was, so proxies keep the connection open. */
const KEEPALIVE_MS = 15_000;
/** A client whose unread output exceeds this is too slow for the live feed and is closed. */
const PENDING_BYTES_MAX = 1024 * 1024;
/** How long a browser waits before reconnecting (SSE `retry:`). */
const RETRY_MS = 2000;

/** The SSE frame for one live item. */
function sseFrame(item: LiveItem): string {
  if (item.kind === 'sample') return `event: sample\ndata: ${JSON.stringify(item.row)}\n\n`;
  return `id: ${item.event.seq}\nevent: ${item.event.type}\ndata: ${JSON.stringify(item.event)}\n\n`;
}

/** Registers the stream route; open streams end when the server closes. */
export function registerStream(app: FastifyInstance, history: ClusterHistory): void {
  const open = new Set<ServerResponse>();
  app.addHook('onClose', async () => {
    for (const response of open) response.end();
  });
  app.get('/api/stream', (request, reply) => {
    reply.hijack();
    const response = reply.raw;
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-content-type-options': 'nosniff',
    });
    response.write(`retry: ${RETRY_MS}\n\n`);
    open.add(response);
    const write = (text: string) => {
      if (response.writableLength > PENDING_BYTES_MAX) {
        response.destroy();
        return;
      }
      response.write(text);
    };
    const unsubscribe = history.subscribe((item) => write(sseFrame(item)));
    const keepalive = setInterval(() => write(': keepalive\n\n'), KEEPALIVE_MS);
    request.raw.once('close', () => {
      open.delete(response);
      unsubscribe();
      clearInterval(keepalive);
    });
  });
}
