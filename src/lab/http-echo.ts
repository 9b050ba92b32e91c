/**
 * A tiny HTTP service for the lab's HA tests: answers every request with its node's name (and the header
 * `x-corolink-node`), so the client's poller records who answered. Bound to one address — the floating address
 * an `ip` resource brought up before it — it runs as an `exec` resource (`corolink lab http-echo`).
 */
import { createServer, type Server } from 'node:http';

export interface HttpEchoOptions {
  /** Address to bind (default: every address). */
  address?: string;
  port: number;
  name: string;
}

export function startHttpEcho(options: HttpEchoOptions): Promise<Server> {
  const body = `${options.name}\n`;
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'x-corolink-node': options.name, connection: 'close' });
    res.end(body);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.address, () => resolve(server));
  });
}
