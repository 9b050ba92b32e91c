/**
 * `corolink lab …`: the cable-pull lab (docs/lab.md) — real hosts in network namespaces on 198.18.0.0/15, one
 * switch per link, a daemon per host, and the faults to throw at them. Needs root. Every verb is bounded in time.
 */
import type { Command } from 'commander';
import { LINKS_MAX } from '../../base/limits.ts';
import { labUnavailableReason } from '../../lab/command.ts';
import { startHttpEcho } from '../../lab/http-echo.ts';
import { CLIENT_SERVICE_ADDRESS, LAB_NODES_MAX, labAddress } from '../../lab/lab-state.ts';
import { NetnsLab } from '../../lab/netns-lab.ts';
import { DEFAULT_POLL_REQUEST_TIMEOUT_MS, type PollSample, pollUrl, summarizePoll } from '../../lab/poller.ts';
import { QNETD_PORT, qnetdAddress } from '../../lab/qnetd-host.ts';
import { printJson } from '../daemon-call.ts';
import { CliError, ExitCode } from '../exit-codes.ts';
import { labHostsText, labStatusText } from '../format/lab.ts';

/** Time limit of a verb (flap and exec add their own duration). */
const VERB_LIMIT_MS = 120_000;
const DEFAULT_EXEC_LIMIT_S = 300;

interface DirFlag {
  dir?: string;
}

/** Parses a host ("3" or "n3"). */
function host(text: string): number {
  const value = Number(/^n?(\d+)$/.exec(text)?.[1]);
  if (!Number.isInteger(value) || value < 1 || value > LAB_NODES_MAX)
    throw new CliError(`host must be 1–${LAB_NODES_MAX} (or n1…), got '${text}'`, ExitCode.usage);
  return value;
}

/** Parses a link ("0" or "link0"). */
function link(text: string): number {
  const value = Number(/^(?:link)?(\d)$/.exec(text)?.[1]);
  if (!Number.isInteger(value) || value < 0 || value >= LINKS_MAX)
    throw new CliError(`link must be 0–${LINKS_MAX - 1} (or link0…), got '${text}'`, ExitCode.usage);
  return value;
}

/** Parses a non-negative number option. */
function amount(text: string | undefined, name: string, max: number): number {
  if (text === undefined) return 0;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || value > max)
    throw new CliError(`${name} must be a number from 0 to ${max}, got '${text}'`, ExitCode.usage);
  return value;
}

/** Runs a verb as root within `limitMs`; lab errors become one-line CLI errors. */
async function verb<T>(limitMs: number, action: () => Promise<T>): Promise<T> {
  const reason = labUnavailableReason();
  if (reason) throw new CliError(reason, ExitCode.notQuorate);
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CliError(`gave up after ${limitMs / 1000} s`, ExitCode.unavailable)), limitMs);
  });
  try {
    return await Promise.race([action(), limit]);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(error instanceof Error ? error.message : String(error), ExitCode.invalid);
  } finally {
    clearTimeout(timer);
  }
}

const say = (text: string) => process.stdout.write(`${text}\n`);

/** Adds one lab verb with `--dir` and a bounded action on the opened lab. */
function labVerb(
  lab: Command,
  spec: string,
  description: string,
  action: (opened: NetnsLab, args: string[], flags: Record<string, string | boolean | undefined>) => Promise<void>,
): Command {
  return lab
    .command(spec)
    .description(description)
    .option('--dir <path>', 'lab directory (default: $COROLINK_LAB_DIR or /run/corolink-lab)')
    .action(async (...raw: unknown[]) => {
      const command = raw.at(-1) as Command;
      const flags = command.opts() as DirFlag & Record<string, string | boolean | undefined>;
      const args = command.args;
      const limit = VERB_LIMIT_MS + 1000 * amount(flags.for as string | undefined, '--for', 3600);
      await verb(limit, () => action(NetnsLab.open(flags.dir), args, flags));
    });
}

/** Registers `corolink lab` and its verbs. */
export function register(program: Command): void {
  const lab = program
    .command('lab')
    .description('the cable-pull lab: hosts in network namespaces with real links, and faults (root only)')
    .addHelpText(
      'after',
      '\nExample:\n  corolink lab up --nodes 3 --links 2\n  corolink lab cut 3 0\n  corolink lab status\n  corolink lab down',
    );

  lab
    .command('up')
    .description('create N hosts (namespaces n1…nN), one switch per link, a config, an authkey and the daemons')
    .option('--nodes <n>', 'number of hosts', '3')
    .option('--links <n>', 'number of link networks', '2')
    .option('--links-configured <k>', 'configure only the first K links in corosync.conf')
    .option('--members <m>', 'put only hosts n1…nM in corosync.conf; the rest are spare hosts for `corolink add`')
    .option('--mode <mode>', 'knet link mode: passive, active or rr', 'passive')
    .option('--no-daemons', 'prepare hosts, config and key but start no daemon')
    .option('--sched-rr', 'write system { sched_rr: yes }: the daemons run real-time, as corosync does (default: no)')
    .option(
      '--qnetd',
      `add a host running Debian's corosync-qnetd at ${qnetdAddress()} on link0 (for corolink qdevice setup)`,
    )
    .option('--dir <path>', 'lab directory (default: $COROLINK_LAB_DIR or /run/corolink-lab)')
    .action(async (flags: Record<string, string | boolean | undefined> & DirFlag) => {
      const mode = String(flags.mode);
      if (mode !== 'passive' && mode !== 'active' && mode !== 'rr')
        throw new CliError(`--mode must be passive, active or rr, got '${mode}'`, ExitCode.usage);
      const nodes = amount(flags.nodes as string, '--nodes', LAB_NODES_MAX);
      const links = amount(flags.links as string, '--links', LINKS_MAX);
      const configured =
        flags.linksConfigured === undefined
          ? links
          : amount(flags.linksConfigured as string, '--links-configured', links);
      const members = flags.members === undefined ? nodes : amount(flags.members as string, '--members', nodes);
      const opened = await verb(VERB_LIMIT_MS, () =>
        NetnsLab.up({
          members,
          ...(flags.dir ? { dir: flags.dir } : {}),
          nodes,
          links,
          linksConfigured: configured,
          mode,
          daemons: flags.daemons !== false,
          qnetd: flags.qnetd === true,
          ...(flags.schedRr === true ? { systemExtra: { sched_rr: 'yes' } } : {}),
        }),
      );
      say(`lab ${opened.prefix} up in ${opened.dir}: ${nodes} hosts × ${links} links (${configured} configured)`);
      process.stdout.write(
        labHostsText(
          opened.nodeids.map((n) => ({
            name: `${opened.hostName(n)} (${opened.namespace(n)})`,
            addresses: Array.from({ length: links }, (_, l) => labAddress(n, l)),
            config: opened.hostConfigPath(n),
            socket: opened.socket(n),
            log: opened.logFile(n),
          })),
        ),
      );
      if (opened.hasQnetd) {
        say(
          `qnetd (${opened.qnetdNamespace}): ${opened.qnetdAddress}:${QNETD_PORT}, corosync-qnetd-tool -l -p ${opened.qnetdFiles.socket}`,
        );
        say(
          `Set up the device: corolink lab exec 1 -- corolink qdevice setup ${opened.qnetdAddress} --ssh-command 'corolink lab rsh' --yes`,
        );
      }
      say(
        `Service network 198.18.100.0/24: host n is 198.18.100.n on svc0, the client host (${opened.clientNamespace}) ` +
          `${CLIENT_SERVICE_ADDRESS}; poll a service from it: corolink lab poll http://198.18.100.100/`,
      );
      say(`Run a command on a host: corolink lab exec 1 -- corolink status (socket and config preset)`);
    });

  labVerb(lab, 'cut <host> <link>', "pull a host's cable on one link (its veth loses carrier)", async (l, [h, k]) => {
    await l.cut(host(h!), link(k!));
  });
  labVerb(lab, 'restore <host> <link>', 'plug the cable back in', async (l, [h, k]) => {
    await l.restore(host(h!), link(k!));
  });
  labVerb(lab, 'cut-switch <link>', 'switch off the whole network of one link', async (l, [k]) => {
    await l.cutSwitch(link(k!));
  });
  labVerb(lab, 'restore-switch <link>', 'switch the network of one link on again', async (l, [k]) => {
    await l.restoreSwitch(link(k!));
  });
  labVerb(lab, 'flap <host> <link>', 'pull and plug a cable every --period ms for --for s', async (l, [h, k], f) => {
    const period = amount(f.period as string, '--period', 60_000);
    const seconds = amount(f.for as string, '--for', 3600);
    if (period < 10) throw new CliError('--period must be at least 10 ms', ExitCode.usage);
    say(`${await l.flap(host(h!), link(k!), period, seconds * 1000)} cuts`);
  })
    .option('--period <ms>', 'time between changes', '500')
    .option('--for <s>', 'how long to flap', '30');
  labVerb(
    lab,
    'netem <host> <link>',
    'impair what a host sends on one link (all zero: clear)',
    async (l, [h, k], f) => {
      const options = {
        lossPercent: amount(f.loss as string | undefined, '--loss', 100),
        delayMs: amount(f.delay as string | undefined, '--delay', 60_000),
        jitterMs: amount(f.jitter as string | undefined, '--jitter', 60_000),
        duplicatePercent: amount(f.duplicate as string | undefined, '--duplicate', 100),
        reorderPercent: amount(f.reorder as string | undefined, '--reorder', 100),
      };
      say(await l.netem(host(h!), link(k!), options));
    },
  )
    .option('--loss <percent>', 'random loss')
    .option('--delay <ms>', 'added delay')
    .option('--jitter <ms>', 'delay variation')
    .option('--duplicate <percent>', 'duplicated packets')
    .option('--reorder <percent>', 'reordered packets');
  labVerb(
    lab,
    'partition <groups...>',
    'split the hosts: `partition 1,2 3` (unnamed hosts form one more group)',
    async (l, groups) => {
      await l.partition(groups.map((g) => g.split(',').map(host)));
    },
  );
  labVerb(
    lab,
    'break <a> <b>',
    'cut every link between two hosts only (asymmetric reachability)',
    async (l, [a, b]) => {
      await l.breakPair(host(a!), host(b!));
    },
  );
  labVerb(lab, 'heal', 'undo every network fault (cables, switches, partitions, netem, addresses)', async (l) => {
    await l.heal();
  });
  labVerb(
    lab,
    'crash <host>',
    "SIGKILL a host's daemon (--host: the whole host: every process of it killed, its interfaces down)",
    async (l, [h], f) => {
      await l.crash(host(h!), { host: f.host === true });
    },
  ).option('--host', 'the host is gone, not only its daemon (`start` brings it back)');
  labVerb(lab, 'start <host>', "start a host's daemon", async (l, [h]) => {
    await l.start(host(h!));
  });
  labVerb(
    lab,
    'status',
    'the cluster as seen from every host: ring id, members, quorate, links up (--json: every full status)',
    async (l, _a, f) => {
      const all = await l.statusAll();
      if (f.json) return printJson(all);
      process.stdout.write(labStatusText(all));
      if (l.hasQnetd) say(`qnetd ${l.qnetdAddress}:${QNETD_PORT} ${l.qnetdRunning() ? 'running' : 'stopped'}`);
    },
  ).option('--json', 'print one JSON object keyed by host name, each the host’s full StatusV1');
  labVerb(
    lab,
    'exec <host> <command...>',
    "run a command in a host's namespace with COROLINK_SOCKET and COROLINK_CONFIG preset",
    async (l, [h, ...cmd], f) => {
      const seconds = amount((f.timeout as string) ?? String(DEFAULT_EXEC_LIMIT_S), '--timeout', 3600);
      process.exitCode = await l.exec(host(h!), cmd, seconds * 1000);
    },
  )
    .option('--timeout <s>', 'kill the command after this many seconds', String(DEFAULT_EXEC_LIMIT_S))
    .addHelpText(
      'after',
      '\nPut `--` before a command that has options of its own (else they are read as options of exec):\n' +
        '  corolink lab exec 1 -- ip -br addr\n  corolink lab exec 1 -- corolink config show\n  corolink lab exec 2 corolink status',
    );
  labVerb(
    lab,
    'qnetd <action>',
    "stop or start the qnetd host's corosync-qnetd (lab up --qnetd)",
    async (l, [action]) => {
      if (action === 'stop') await l.stopQnetd();
      else if (action === 'start') await l.startQnetd();
      else throw new CliError(`qnetd takes stop or start, got '${action}'`, ExitCode.usage);
    },
  ).addHelpText('after', '\nExample:\n  corolink lab qnetd stop\n  corolink lab qnetd start');
  labVerb(
    lab,
    'rsh <host> <script>',
    'run a shell script on a lab host as `ssh root@host script` would (a remote shell for `qdevice setup --ssh-command`)',
    async (l, [h, script], f) => {
      const seconds = amount((f.timeout as string) ?? String(DEFAULT_EXEC_LIMIT_S), '--timeout', 3600);
      process.exitCode = await l.rsh(h!, script!, seconds * 1000);
    },
  )
    .option('--timeout <s>', 'kill the script after this many seconds', String(DEFAULT_EXEC_LIMIT_S))
    .addHelpText(
      'after',
      `\nThe host is a lab address or name (n1…, qnetd).\n\nExample:\n  corolink lab rsh ${qnetdAddress()} 'corosync-qnetd-tool -s'\n  corolink lab exec 1 -- corolink qdevice setup ${qnetdAddress()} --ssh-command 'corolink lab rsh' --yes`,
    );
  lab
    .command('poll <url>')
    .description('request a URL from the client host every --interval ms: who answered, when (service network)')
    .option('--interval <ms>', 'time between requests', '50')
    .option('--for <s>', 'how long to poll (seconds, "30" or "30s")', '30')
    .option('--request-timeout <ms>', 'time limit of one request', String(DEFAULT_POLL_REQUEST_TIMEOUT_MS))
    .option('--here', 'poll from this network namespace (no lab needed)')
    .option('--json', 'print every request: {at, ms, node, error?}')
    .option('--dir <path>', 'lab directory (default: $COROLINK_LAB_DIR or /run/corolink-lab)')
    .action(async (url: string, flags: Record<string, string | boolean | undefined> & DirFlag) => {
      const seconds = Number(/^(\d+(?:\.\d+)?)s?$/.exec(String(flags.for))?.[1] ?? Number.NaN);
      if (!(seconds > 0 && seconds <= 3600))
        throw new CliError(`--for must be 0–3600 s, got '${flags.for}'`, ExitCode.usage);
      const intervalMs = amount(flags.interval as string, '--interval', 60_000);
      if (intervalMs < 1) throw new CliError('--interval must be at least 1 ms', ExitCode.usage);
      const requestTimeoutMs = amount(flags.requestTimeout as string, '--request-timeout', 60_000);
      const options = { intervalMs, forMs: seconds * 1000, requestTimeoutMs };
      const samples: PollSample[] = flags.here
        ? await pollUrl(url, options)
        : await verb(VERB_LIMIT_MS + options.forMs, () => NetnsLab.open(flags.dir).poll(url, options));
      if (flags.json) return printJson(samples);
      const summary = summarizePoll(samples);
      const nodes = Object.entries(summary.byNode).map(([node, count]) => `${node} ${count}`);
      say(`${summary.requests} requests, ${summary.failed} failed; answered by ${nodes.join(', ') || 'nobody'}`);
      for (const change of summary.changes) say(`${new Date(change.at).toISOString()} ${change.from} → ${change.to}`);
      say(`longest time without an answer: ${summary.longestGapMs} ms`);
    });
  lab
    .command('http-echo')
    .description("a tiny HTTP server answering with its node's name, for HA services in the lab (runs until killed)")
    .requiredOption('--name <name>', 'the name it answers with')
    .option('--port <port>', 'TCP port', '80')
    .option('--address <ip>', 'address to bind (default: every address)')
    .action(async (flags: { name: string; port: string; address?: string }) => {
      const port = amount(flags.port, '--port', 65_535);
      const server = await startHttpEcho({
        port,
        name: flags.name,
        ...(flags.address ? { address: flags.address } : {}),
      }).catch((error: Error) => {
        throw new CliError(`cannot listen on ${flags.address ?? '*'}:${port}: ${error.message}`, ExitCode.invalid);
      });
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', resolve);
        process.once('SIGINT', resolve);
      });
      server.close();
      server.closeAllConnections();
    });
  lab
    .command('down')
    .description('stop every daemon and remove every namespace, bridge and file of the lab')
    .option('--dir <path>', 'lab directory (default: $COROLINK_LAB_DIR or /run/corolink-lab)')
    .action(async (flags: DirFlag) => {
      await verb(VERB_LIMIT_MS, () => NetnsLab.open(flags.dir).down());
      say('lab down');
    });
}
