/**
 * The HA part of `npm start`: an exec service — a tiny HTTP server (`corolink lab http-echo`) on a loopback
 * address — placed on the node whose cable the drill pulls. It is polled from the moment it answers until after
 * the cable is back, and the demo prints where it ran before and after and how many requests it answered.
 */
import { CorolinkClient } from '../client/client.ts';
import { BIN } from '../lab/daemon-process.ts';
import type { LocalCluster } from '../lab/local-cluster.ts';

/** The service's address and port: loopback, no root; away from the daemons' 127.0.10/20.x links. */
export const DEMO_SERVICE_ADDRESS = '127.0.100.100';
export const DEMO_SERVICE_PORT = 18_080;
const SID = 'exec:web';
const POLL_INTERVAL_MS = 100;
/** One request's limit: longer than a loaded machine needs to answer on loopback. */
const REQUEST_TIMEOUT_MS = 1000;

const quote = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;

/** The resources.cfg sections of the demo: the service in a group that prefers node `node`. */
export function demoSections(node: string, pidFile: string): string {
  const serve = [process.execPath, BIN, 'lab', 'http-echo', '--address', DEMO_SERVICE_ADDRESS].map(quote).join(' ');
  const pid = quote(pidFile);
  return [
    'exec: web',
    `\tstart ${serve} --port ${DEMO_SERVICE_PORT} --name web >/dev/null 2>&1 & echo $! > ${pid}`,
    // LSB: stopping a stopped service succeeds (after a failed monitor, a failed stop would be an error).
    `\tstop kill $(cat ${pid}) 2>/dev/null || true`,
    `\tmonitor kill -0 $(cat ${pid}) 2>/dev/null || exit 7`,
    '\tmonitor_interval 2',
    '\tgroup demo',
    '',
    'group: demo',
    `\tresources ${SID}`,
    `\tnodes ${node}:1`,
    '',
  ].join('\n');
}

async function answers(): Promise<boolean> {
  try {
    const url = `http://${DEMO_SERVICE_ADDRESS}:${DEMO_SERVICE_PORT}/`;
    const response = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    return response.ok && (await response.text()).trim() === 'web';
  } catch {
    return false;
  }
}

/** The node the manager placed the service on and says runs it, or undefined while it does not run. */
async function servedBy(client: CorolinkClient): Promise<string | undefined> {
  const status = await client.ha.status();
  const web = status.services.find((s) => s.sid === SID);
  if (web?.state !== 'started' || web.nodeid === null) return undefined;
  return status.nodes.find((n) => n.nodeid === web.nodeid)?.name ?? String(web.nodeid);
}

export interface HaDemo {
  /** Where it ran when the drill began. */
  readonly before: string;
  /** Stops polling; where it runs now and the requests answered. */
  finish(): Promise<{ after: string | undefined; sent: number; answered: number }>;
}

/** Adds the demo service on `node`, waits until it answers there and polls it until `finish`. */
export async function startHaDemo(cluster: LocalCluster, node: string, waitMs: number): Promise<HaDemo> {
  const client = await CorolinkClient.connect({ socket: cluster.node(1).socket, reconnect: false });
  try {
    await client.ha.add(demoSections(node, `${cluster.dir}/web.pid`));
    const deadline = performance.now() + waitMs;
    let before = await servedBy(client);
    while (before === undefined || !(await answers())) {
      if (performance.now() > deadline) throw new Error(`the HA demo service did not start within ${waitMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
      before = await servedBy(client);
    }
    let sent = 0;
    let answered = 0;
    let polling = true;
    const poll = (async () => {
      while (polling) {
        sent++;
        if (await answers()) answered++;
        await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
      }
    })();
    return {
      before,
      finish: async () => {
        polling = false;
        await poll;
        try {
          return { after: await servedBy(client), sent, answered };
        } finally {
          client.close();
        }
      },
    };
  } catch (error) {
    client.close();
    throw error;
  }
}
