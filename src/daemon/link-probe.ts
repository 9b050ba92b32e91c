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
import { performance } from 'node:perf_hooks';
import type { LinkProbeResult } from '../ipc/methods.ts';
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

/** A member's error when its report did not come in time. */
const NO_ANSWER = 'did not answer the reachability probe';

/** The outcome: one line per problem (empty when every pair reached each other both ways) and what was found. */
export interface ProbeOutcome {
  problems: string[];
  result: LinkProbeResult;
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
    const result = found(link, port, addresses, members, reports);
    return { problems: judge(result), result };
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
        const { heard, rtt } = await exchange(request, me, own);
        report.heard = heard;
        report.rtt_ms = rtt;
      } catch (error) {
        report.error = `cannot bind ${own}:${request.port} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
      }
    }
    if (report.error) this.log('warning', `link ${request.link} probe: ${report.error}`);
    engine.serviceRequest(PROBE_SERVICE_ID, report);
  }
}

/**
 * Binds `own`:port, sends probes to every other address for PROBE_MS and echoes every probe it hears; returns the
 * nodes heard from and the lowest round trip of an echo from each node.
 */
async function exchange(
  request: ProbeRequest,
  me: number,
  own: string,
): Promise<{ heard: number[]; rtt: Record<string, number> }> {
  const socket: Socket = createSocket(isIPv6(own) ? 'udp6' : 'udp4');
  const heard = new Set<number>();
  const rtt: Record<string, number> = {};
  const prefix = `corolink-probe ${request.id} `;
  const echoPrefix = `corolink-probe-echo ${request.id} `;
  socket.on('message', (datagram, from) => {
    const text = datagram.toString('utf8');
    if (text.startsWith(prefix)) {
      // `<node> <sent at>`: heard from node; the echo carries the sender's own clock back to it.
      const [node, sentAt] = text.slice(prefix.length).split(' ');
      heard.add(Number(node));
      socket.send(`${echoPrefix}${me} ${sentAt}`, from.port, from.address, () => {});
    } else if (text.startsWith(echoPrefix)) {
      const [node, sentAt] = text.slice(echoPrefix.length).split(' ').map(Number);
      const ms = performance.now() - sentAt!;
      if (Number.isInteger(node) && Number.isFinite(ms) && ms >= 0) {
        rtt[node!] = Math.min(rtt[node!] ?? Infinity, Math.round(ms * 1000) / 1000);
      }
    }
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
  const timer = setInterval(() => {
    const payload = Buffer.from(`${prefix}${me} ${performance.now()}`);
    for (const [, address] of targets) socket.send(payload, request.port, address, () => {});
  }, PROBE_EVERY_MS);
  await new Promise((resolve) => setTimeout(resolve, PROBE_MS));
  clearInterval(timer);
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return { heard: [...heard], rtt };
}

/** What the reports show, node by node and pair by pair. */
function found(
  link: number,
  port: number,
  addresses: Record<number, string>,
  members: number[],
  reports: Map<number, ProbeReport>,
): LinkProbeResult {
  const nodes = members.map((nodeid) => {
    const report = reports.get(nodeid);
    const error = report === undefined ? NO_ANSWER : report.error;
    return { nodeid, address: addresses[nodeid] ?? null, error };
  });
  const pairs: LinkProbeResult['pairs'] = [];
  for (const a of members) {
    for (const b of members) {
      if (b <= a) continue;
      const ra = reports.get(a);
      const rb = reports.get(b);
      const aHeardB = ra?.error === null && ra.heard.includes(b);
      const bHeardA = rb?.error === null && rb.heard.includes(a);
      const rtts = [ra?.rtt_ms?.[b], rb?.rtt_ms?.[a]].filter((v): v is number => typeof v === 'number');
      const failed =
        aHeardB && bHeardA ? null : !aHeardB && !bHeardA ? 'either way' : !aHeardB ? `${b} → ${a}` : `${a} → ${b}`;
      pairs.push({
        nodeid: a,
        peer: b,
        reachable: failed === null,
        failed,
        rtt_ms: rtts.length === 0 ? null : Math.min(...rtts),
      });
    }
  }
  return { link, port, nodes, pairs };
}

/** Every problem the probe found: a member that did not report or could not bind, a pair not heard both ways. */
function judge({ link, port, nodes, pairs }: LinkProbeResult): string[] {
  const failed = new Set(nodes.filter((n) => n.error !== null).map((n) => n.nodeid));
  const address = new Map(nodes.map((n) => [n.nodeid, n.address]));
  return [
    ...nodes.flatMap((n) =>
      n.error === null ? [] : [`link ${link}: node ${n.nodeid}${n.error === NO_ANSWER ? ' ' : ': '}${n.error}`],
    ),
    ...pairs
      .filter((p) => !p.reachable && !failed.has(p.nodeid) && !failed.has(p.peer))
      .map(
        (p) =>
          `link ${link}: nodes ${p.nodeid} (${address.get(p.nodeid)}) and ${p.peer} (${address.get(p.peer)}) cannot reach each other on port ${port} (${p.failed})`,
      ),
  ];
}
