/** `corolink daemon`: run one cluster node in the foreground (systemd runs it the same way). */
import type { Command } from 'commander';
import { DEFAULT_AUTHKEY_PATH, DEFAULT_SOCKET_PATH } from '../../config/paths.ts';
import { DaemonStartError, startDaemon } from '../../daemon/daemon.ts';
import { DEFAULT_STATE_DIR } from '../../daemon/ring-seq-file.ts';
import { notifySystemd } from '../../daemon/systemd.ts';
import type { WebServer } from '../../web/server.ts';
import { defaultConfigPath } from '../config-path.ts';
import { CliError, ExitCode } from '../exit-codes.ts';
import { stdinClosed } from '../stdin-closed.ts';

interface DaemonFlags {
  config: string;
  authkey: string;
  socket?: string;
  nodeid?: string;
  name?: string;
  stateDir: string;
  httpPort?: string;
  exitWithParent?: boolean;
  schedRr: boolean;
}

function parseNodeId(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 0xffffffff) {
    throw new CliError(`--nodeid must be an integer from 1 to 4294967295, not "${text}"`, ExitCode.usage);
  }
  return Number(text);
}

function parseHttpPort(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) > 65535) {
    throw new CliError(`--http-port must be an integer from 0 to 65535, not "${text}"`, ExitCode.usage);
  }
  return Number(text);
}

type WebModules = typeof import('../../web/server.ts') & typeof import('../../web/token.ts');

async function loadWebModules(): Promise<WebModules> {
  const [server, token] = await Promise.all([import('../../web/server.ts'), import('../../web/token.ts')]);
  return { ...server, ...token };
}

export function register(program: Command): void {
  program
    .command('daemon')
    .description('run this node of the cluster in the foreground (links, membership, quorum, groups)')
    .option(
      '-c, --config <file>',
      'corosync.conf to read ($COROLINK_CONFIG, else /etc/corolink/corosync.conf)',
      defaultConfigPath(),
    )
    .option('-k, --authkey <file>', 'authkey to read', DEFAULT_AUTHKEY_PATH)
    .option('--socket <path>', 'admin socket to create (default: $COROLINK_SOCKET or /run/corolink/corolink.sock)')
    .option('--nodeid <id>', 'which node of the nodelist this is (default: by host name or local address)')
    .option('--name <name>', 'which node of the nodelist this is, by name')
    .option('--state-dir <dir>', 'where the node keeps its ring id across restarts', DEFAULT_STATE_DIR)
    .option('--http-port <port>', 'HTTP dashboard/metrics port, overriding corolink { http_port } (0 = off)')
    .option('--no-sched-rr', 'stay under the normal scheduler whatever system.sched_rr says (corosync 2: -p)')
    .option('--exit-with-parent', 'leave cleanly when stdin closes: tie the daemon to the process holding the pipe')
    .addHelpText(
      'after',
      '\nExample:\n  corolink daemon -c /etc/corolink/corosync.conf --nodeid 1 --socket /run/corolink/corolink.sock',
    )
    .action(async (flags: DaemonFlags) => {
      if (flags.nodeid !== undefined && flags.name !== undefined) {
        throw new CliError('give --nodeid or --name, not both', ExitCode.usage);
      }
      const parentGone = flags.exitWithParent ? stdinClosed() : undefined;
      const nodeId = parseNodeId(flags.nodeid);
      const httpPort = parseHttpPort(flags.httpPort);
      const socketPath = flags.socket ?? process.env.COROLINK_SOCKET ?? DEFAULT_SOCKET_PATH;
      let webModules: WebModules | undefined;
      let port = 0;
      let daemon: Awaited<ReturnType<typeof startDaemon>>;
      try {
        daemon = await startDaemon({
          configPath: flags.config,
          authkeyPath: flags.authkey,
          socketPath,
          stateDir: flags.stateDir,
          exitWithParent: flags.exitWithParent === true,
          noSchedRr: !flags.schedRr,
          ...(nodeId === undefined ? {} : { nodeId }),
          ...(flags.name === undefined ? {} : { name: flags.name }),
          prepare: async (checked) => {
            port = httpPort ?? checked.config.corolink.http_port ?? 0;
            // Loaded only when configured: a node without a dashboard does not carry the HTTP stack.
            if (port > 0) webModules = await loadWebModules();
          },
        });
      } catch (error) {
        if (error instanceof DaemonStartError) throw new CliError(error.message, ExitCode.invalid);
        throw error;
      }
      // The daemon layer knows nothing of HTTP; this command composes the node with its dashboard server.
      let web: WebServer | undefined;
      if (webModules !== undefined) {
        const { DEFAULT_HTTP_ADDRESS, startWebServer, tokenPathFor } = webModules;
        const address = daemon.engine.checked.config.corolink.http_address ?? DEFAULT_HTTP_ADDRESS;
        const tokenPath = tokenPathFor(socketPath);
        const { engine, logger, serviceCounters, clusterLinks } = daemon;
        const haStatus = daemon.ha === undefined ? undefined : daemon.haStatus;
        web = await startWebServer({
          engine,
          logger,
          address,
          port,
          tokenPath,
          serviceCounters,
          clusterLinks,
          ...(haStatus === undefined ? {} : { haStatus }),
        }).catch(async (error: Error) => {
          await daemon.stop();
          throw new CliError(`cannot open the HTTP server on ${address}:${port}: ${error.message}`, ExitCode.invalid);
        });
      }
      // The links are bound and the admin socket (and the HTTP server, if any) listens: READY=1 under systemd.
      const stopNotifying = notifySystemd(daemon);
      // SIGHUP: logrotate moved the log file; write on at its path (`corolink logs --reopen` does the same).
      const reopenLog = () => daemon.logger.reopen();
      process.on('SIGHUP', reopenLog);
      await new Promise<void>((resolve) => {
        let stopping = false;
        const shutdown = () => {
          if (stopping) return;
          stopping = true;
          stopNotifying();
          process.off('SIGHUP', reopenLog);
          process.off('SIGTERM', shutdown);
          process.off('SIGINT', shutdown);
          void (async () => {
            await web?.close();
            await daemon.stop();
          })().then(resolve);
        };
        process.on('SIGTERM', shutdown);
        process.on('SIGINT', shutdown);
        daemon.onShutdownRequest(shutdown);
        void parentGone?.then(() => {
          daemon.logger.log('notice', 'MAIN', 'the parent process is gone (stdin closed): leaving');
          shutdown();
        });
      });
    });
}
