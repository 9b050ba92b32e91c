/**
 * The pre-flight check of `corolink link add`: before a new link is committed, every member binds a UDP socket on
 * its own new address and port and sends a few probes to every other member's; each reports whom it heard. A pair
 * that did not hear each other both ways, an address a node cannot bind, or a member that does not answer makes
 * the change refused (unless forced). The members talk through the probe's service engine
 * (./link-probe-engine.ts), so a request reaches every member at the same point of the agreed order.
 * docs/reconfiguration.md.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { NodeEngine } from './engine.ts';
import {
  LinkProbeEngine,
  PROBE_SERVICE_ID,
  type ProbeMessage,
  type ProbeReport,
  type ProbeRequest,
} from './link-probe-engine.ts';

/** How long each member sends probes, and how often. */
const PROBE_MS = 1000;
const PROBE_EVERY_MS = 100;
/** How long the requester waits for every member's report beyond PROBE_MS. */
const REPORT_SLACK_MS = 3000;

/** The outcome: one line per problem (empty when every pair reached each other both ways). */
export interface ProbeOutcome {
  problems: string[];
}

export class LinkProbeService {
  /** The engine to register with the stack (the node engine's `services`) before `attach`. */
  readonly serviceEngine = new LinkProbeEngine();
  private readonly waiting = new Map<string, { reports: Map<number, ProbeReport>; done: () => void }>();
  private engine: NodeEngine | undefined;

  constructor(private readonly log: (level: 'notice' | 'warning', message: string) => void) {}

  /** Starts serving once `engine` runs a stack with `serviceEngine` registered. */
  attach(engine: NodeEngine): void {
    this.engine = engine;
    engine.on('serviceOutput', (service, output) => {
      if (service !== PROBE_SERVICE_ID) return;
      const message = output as ProbeMessage;
      if (message.type === 'request') void this.answer(engine, message);
      else this.collect(message);
    });
  }

  /** Probes `link` (UDP `port`) between the current members at `addresses` (node id → address). */
  async probe(link: number, port: number, addresses: Record<number, string>): Promise<ProbeOutcome> {
    const engine = this.engine;
    if (engine === undefined) throw new Error('the link probe runs on no node engine yet');
    const members = [...engine.stackSnapshot().totem.members].sort((a, b) => a - b);
    const id = randomBytes(8).toString('hex');
    const reports = new Map<number, ProbeReport>();
    const finished = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, PROBE_MS + REPORT_SLACK_MS);
      this.waiting.set(id, {
        reports,
        done: () => {
          if (members.every((m) => reports.has(m))) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    const request: ProbeRequest = { type: 'request', id, link, port, addresses };
    engine.serviceRequest(PROBE_SERVICE_ID, request);
    await finished;
    this.waiting.delete(id);
    return { problems: judge(link, port, addresses, members, reports) };
  }

  private collect(report: ProbeReport): void {
    const waiting = this.waiting.get(report.id);
    if (!waiting) return;
    waiting.reports.set(report.node, report);
    waiting.done();
  }

  /** Listens on this node's new address, probes every other member's, then reports. */
  private async answer(engine: NodeEngine, request: ProbeRequest): Promise<void> {
    const me = engine.localNodeId;
    const own = request.addresses[me];
    const report: ProbeReport = { type: 'report', id: request.id, node: me, heard: [], error: null };
    if (own === undefined) report.error = 'no address on the new link';
    else {
      try {
        report.heard = await exchange(request, me, own);
      } catch (error) {
        report.error = `cannot bind ${own}:${request.port} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
      }
    }
    if (report.error) this.log('warning', `link ${request.link} probe: ${report.error}`);
    engine.serviceRequest(PROBE_SERVICE_ID, report);
  }
}

/** Binds `own`:port, sends probes to every other address for PROBE_MS, and returns the nodes heard from. */
async function exchange(request: ProbeRequest, me: number, own: string): Promise<number[]> {
  const socket: Socket = createSocket(isIPv6(own) ? 'udp6' : 'udp4');
  const heard = new Set<number>();
  const prefix = `corolink-probe ${request.id} `;
  socket.on('message', (datagram) => {
    const text = datagram.toString('utf8');
    if (text.startsWith(prefix)) heard.add(Number(text.slice(prefix.length)));
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(request.port, own, () => {
      socket.off('error', reject);
      socket.on('error', () => {}); // a send error (unreachable) is what the probe measures: not fatal
      resolve();
    });
  }).catch((error) => {
    socket.close();
    throw error;
  });
  const targets = Object.entries(request.addresses).filter(([node]) => Number(node) !== me);
  const payload = Buffer.from(`${prefix}${me}`);
  const timer = setInterval(() => {
    for (const [, address] of targets) socket.send(payload, request.port, address, () => {});
  }, PROBE_EVERY_MS);
  await new Promise((resolve) => setTimeout(resolve, PROBE_MS));
  clearInterval(timer);
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return [...heard];
}

/** Every problem the reports show: a member that did not report or could not bind, a pair not heard both ways. */
function judge(
  link: number,
  port: number,
  addresses: Record<number, string>,
  members: number[],
  reports: Map<number, ProbeReport>,
): string[] {
  const problems: string[] = [];
  for (const node of members) {
    const report = reports.get(node);
    if (!report) problems.push(`link ${link}: node ${node} did not answer the reachability probe`);
    else if (report.error) problems.push(`link ${link}: node ${node}: ${report.error}`);
  }
  for (const a of members) {
    for (const b of members) {
      if (b <= a || reports.get(a)?.error || reports.get(b)?.error || !reports.has(a) || !reports.has(b)) continue;
      const aHeardB = reports.get(a)!.heard.includes(b);
      const bHeardA = reports.get(b)!.heard.includes(a);
      if (!aHeardB || !bHeardA) {
        const way = !aHeardB && !bHeardA ? 'either way' : !aHeardB ? `${b} → ${a}` : `${a} → ${b}`;
        problems.push(
          `link ${link}: nodes ${a} (${addresses[a]}) and ${b} (${addresses[b]}) cannot reach each other on port ${port} (${way})`,
        );
      }
    }
  }
  return problems;
}
