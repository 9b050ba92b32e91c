/**
 * `corolink start` (`npm start`): the embedded default. Starts a 3-node cluster with two links on loopback
 * (link0 127.0.10.1–3, link1 127.0.20.1–3; no root needed), shows each node's status, walks through the seed's
 * drill — pull link0 of one node, the cluster stays quorate, messages keep flowing and an HA service on that node
 * (src/cli/ha-demo.ts) keeps answering, plug it back — and then
 * keeps the cluster running until Ctrl-C, SIGTERM or SIGHUP, which stop every daemon cleanly and remove the
 * working directory (sockets, config, authkey; the logs too unless `--keep-logs DIR` put them elsewhere). The
 * daemons are tied to this process: killed with SIGKILL, it leaves no daemon behind (LocalCluster).
 */
import type { Command } from 'commander';
import type { StatusV1 } from '../../ipc/schema.ts';
import { LocalCluster } from '../../lab/local-cluster.ts';
import { CliError, ExitCode } from '../exit-codes.ts';
import { linkStatusLines, statusText } from '../format/status.ts';
import { table } from '../format/text.ts';
import { DEMO_SERVICE_ADDRESS, DEMO_SERVICE_PORT, startHaDemo } from '../ha-demo.ts';

/** Node whose link0 the drill pulls. */
const DRILL_NODE = 3;
const DRILL_LINK = 0;
/** Interval of the demo message stream. */
const STREAM_INTERVAL_MS = 50;
const WAIT_MS = 20_000;
/** Dashboard/metrics port of node 1 on 127.0.0.1 (node n gets this + n − 1). */
const DEFAULT_HTTP_PORT = '5480';

/** The signals that stop the cluster cleanly (SIGHUP: the terminal went away). */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

interface StartFlags {
  wait: boolean;
  basePort: string;
  httpPort: string;
  keepLogs?: string;
}

/** Resolves with the first stop signal; from now on those signals no longer end the process at once. */
function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    for (const signal of STOP_SIGNALS) process.once(signal, () => resolve(signal));
  });
}

/** Where every node's daemon, socket and log file is. */
function summaryLines(cluster: LocalCluster): string[] {
  const rows = cluster.nodes.map((n) => [n.name, String(n.process?.pid ?? '-'), n.socket, n.logFile]);
  return [
    `Working directory (config, authkey, sockets; removed on exit): ${cluster.dir}`,
    ...table(['Node', 'PID', 'Socket', 'Log'], rows, ['left', 'right', 'left', 'left']),
  ];
}

const say = (text = '') => process.stdout.write(`${text}\n`);

function linkState(status: StatusV1, nodeid: number, link: number): string | undefined {
  return status.members.find((m) => m.nodeid === nodeid)?.links.find((l) => l.link === link)?.state;
}

export function register(program: Command): void {
  program
    .command('start')
    .description(
      'run the embedded default: a local 3-node cluster with two links on loopback, and the cable-pull drill',
    )
    .option('--no-wait', 'stop the cluster after the drill instead of waiting for Ctrl-C')
    .option('--base-port <port>', 'UDP port of link0 (link1 uses the next one)', '5405')
    .option(
      '--http-port <port>',
      'dashboard/metrics port of n1 on 127.0.0.1 (n2, n3: the next ones; 0 = off)',
      DEFAULT_HTTP_PORT,
    )
    .option('--keep-logs <dir>', 'write the daemons’ log files to DIR and keep them (default: removed on exit)')
    .addHelpText('after', '\nExample:\n  npm start\n  corolink start --no-wait --keep-logs ./logs')
    .action(async (flags: StartFlags) => {
      const basePort = Number(flags.basePort);
      if (!Number.isInteger(basePort) || basePort < 1024 || basePort > 65534) {
        throw new CliError(
          `--base-port must be an integer from 1024 to 65534, not "${flags.basePort}"`,
          ExitCode.usage,
        );
      }
      const httpPort = Number(flags.httpPort);
      if (!Number.isInteger(httpPort) || httpPort < 0 || httpPort > 65533) {
        throw new CliError(`--http-port must be an integer from 0 to 65533, not "${flags.httpPort}"`, ExitCode.usage);
      }
      say('Starting a local 3-node corolink cluster on loopback: link0 127.0.10.1–3, link1 127.0.20.1–3 …');
      const signalled = stopSignal();
      const cluster = await LocalCluster.start({
        nodes: 3,
        links: 2,
        basePort,
        corolinkExtra: { ha: 'yes' },
        ...(httpPort === 0 ? {} : { httpBasePort: httpPort }),
        ...(flags.keepLogs === undefined ? {} : { logDir: flags.keepLogs }),
      }).catch((error: Error) => {
        throw new CliError(`cannot start the local cluster: ${error.message}`, ExitCode.unavailable);
      });
      say(summaryLines(cluster).join('\n'));
      const shown = show(cluster, flags.wait);
      let signal: NodeJS.Signals | undefined;
      try {
        signal = await Promise.race([signalled, shown.then(() => (flags.wait ? signalled : undefined))]);
      } finally {
        say('\nStopping the cluster (every daemon leaves cleanly) …');
        await cluster.stop();
        say(flags.keepLogs === undefined ? 'Stopped.' : `Stopped. Logs kept in ${flags.keepLogs}`);
      }
      // A signal may come mid-drill, whose timers and connections to the stopped daemons would hold the process.
      if (signal !== undefined) process.exit(ExitCode.ok);
    });
}

/** Waits for the cluster, shows every node's status, runs the drill and, when it stays up, says what to try. */
async function show(cluster: LocalCluster, staysUp: boolean): Promise<void> {
  const allUp = (s: StatusV1) =>
    s.quorum.quorate && s.members.length === 3 && s.members.every((m) => m.links.every((l) => l.state === 'UP'));
  await cluster.waitFor(allUp, { timeoutMs: WAIT_MS });
  const dashboard = cluster.node(1).httpUrl;
  if (dashboard) say(`\nDashboard of n1: ${dashboard} (metrics: ${dashboard}metrics)`);
  for (const node of cluster.nodes) {
    say(`\n===== corolink status on ${node.name} =====`);
    process.stdout.write(statusText(await cluster.status(node.nodeid), { date: new Date() }));
  }
  const service = `http://${DEMO_SERVICE_ADDRESS}:${DEMO_SERVICE_PORT}/`;
  say(`\n===== HA: a service (exec:web, an HTTP server on ${service}) placed on n${DRILL_NODE} =====`);
  const demo = await startHaDemo(cluster, `n${DRILL_NODE}`, WAIT_MS);
  say(`It answers, served by ${demo.before}; polled every 100 ms from now on.`);
  await drill(cluster);
  const { after, sent, answered } = await demo.finish();
  say(
    `HA service: served by ${demo.before} before the cable pull and by ${after ?? 'nobody'} after it; ` +
      `${answered} of ${sent} requests answered${answered === sent ? ' (it answered throughout)' : ''}.`,
  );
  if (!staysUp) return;
  const n1 = cluster.node(1);
  say('\nThe cluster keeps running. Try, in another terminal:');
  say(`  npx corolink status --socket ${n1.socket}`);
  say(`  npx corolink link disable 0 --socket ${cluster.node(DRILL_NODE).socket}`);
  say(`  npx corolink logs -f --socket ${n1.socket}`);
  say(`  npx corolink ha status --socket ${n1.socket}    (then: curl ${service})`);
  if (dashboard) say(`Watch it live on the dashboard: ${dashboard}`);
  say(`Logs: ${cluster.logDir}/n*.log. Press Ctrl-C to stop.`);
}

/** The seed's drill: pull link0 of node 3, watch the cluster stay quorate with messages flowing, plug it back. */
async function drill(cluster: LocalCluster): Promise<void> {
  const sender = await cluster.client(1);
  const receiver = await cluster.client(2);
  try {
    const receiverGroup = await receiver.cpgJoin('demo');
    let received = 0;
    receiverGroup.on('message', () => received++);
    const senderGroup = await sender.cpgJoin('demo');
    let sent = 0;
    const stream = setInterval(() => {
      senderGroup.send(`message ${++sent}`).catch(() => sent--);
    }, STREAM_INTERVAL_MS);
    try {
      const before = await cluster.status(1);
      say(
        `\n===== Drill: pull the link${DRILL_LINK} cable of n${DRILL_NODE} (corolink link disable ${DRILL_LINK}) =====`,
      );
      const client3 = await cluster.client(DRILL_NODE);
      await client3.setLinkEnabled(DRILL_LINK, false);
      const [during] = await cluster.waitFor((s) => linkState(s, DRILL_NODE, DRILL_LINK) === 'DOWN', {
        nodes: [1],
        timeoutMs: WAIT_MS,
      });
      process.stdout.write(`${linkStatusLines(during!).join('\n')}\n`);
      const receivedDuring = received;
      await new Promise((r) => setTimeout(r, 1000));
      say(
        `Quorate: ${during!.quorum.quorate ? 'yes' : 'NO'}; ring id ${before.ring_id} → ${during!.ring_id}` +
          ` (${before.ring_id === during!.ring_id ? 'no membership change' : 'membership changed'}); ` +
          `messages delivered on n2 in the last second: ${received - receivedDuring}`,
      );
      say(`\n===== Plug it back (corolink link enable ${DRILL_LINK}) =====`);
      await client3.setLinkEnabled(DRILL_LINK, true);
      client3.close();
      const [after] = await cluster.waitFor((s) => linkState(s, DRILL_NODE, DRILL_LINK) === 'UP', {
        nodes: [1],
        timeoutMs: WAIT_MS,
      });
      process.stdout.write(`${linkStatusLines(after!).join('\n')}\n`);
    } finally {
      clearInterval(stream);
    }
    await new Promise((r) => setTimeout(r, 200));
    say(`Messages sent by n1: ${sent}, delivered on n2: ${received}.`);
  } finally {
    sender.close();
    receiver.close();
  }
}
