/** `corolink daemon`: run one cluster node in the foreground (systemd runs it the same way). */
import type { Command } from 'commander';
import { DEFAULT_AUTHKEY_PATH, DEFAULT_CONFIG_PATH, DEFAULT_SOCKET_PATH } from '../../config/paths.ts';
import { DaemonStartError, startDaemon } from '../../daemon/daemon.ts';
import { CliError, ExitCode } from '../exit-codes.ts';

interface DaemonFlags {
  config: string;
  authkey: string;
  socket?: string;
  nodeid?: string;
  name?: string;
}

function parseNodeId(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 0xffffffff) {
    throw new CliError(`--nodeid must be an integer from 1 to 4294967295, not "${text}"`, ExitCode.usage);
  }
  return Number(text);
}

export function register(program: Command): void {
  program
    .command('daemon')
    .description('run this node of the cluster in the foreground (links, membership, quorum, groups)')
    .option('-c, --config <file>', 'corosync.conf to read', DEFAULT_CONFIG_PATH)
    .option('-k, --authkey <file>', 'authkey to read', DEFAULT_AUTHKEY_PATH)
    .option('--socket <path>', 'admin socket to create (default: $COROLINK_SOCKET or /run/corolink/corolink.sock)')
    .option('--nodeid <id>', 'which node of the nodelist this is (default: by host name or local address)')
    .option('--name <name>', 'which node of the nodelist this is, by name')
    .addHelpText(
      'after',
      '\nExample:\n  corolink daemon -c /etc/corolink/corosync.conf --nodeid 1 --socket /run/corolink/corolink.sock',
    )
    .action(async (flags: DaemonFlags) => {
      if (flags.nodeid !== undefined && flags.name !== undefined) {
        throw new CliError('give --nodeid or --name, not both', ExitCode.usage);
      }
      const nodeId = parseNodeId(flags.nodeid);
      let daemon: Awaited<ReturnType<typeof startDaemon>>;
      try {
        daemon = await startDaemon({
          configPath: flags.config,
          authkeyPath: flags.authkey,
          socketPath: flags.socket ?? process.env.COROLINK_SOCKET ?? DEFAULT_SOCKET_PATH,
          ...(nodeId === undefined ? {} : { nodeId }),
          ...(flags.name === undefined ? {} : { name: flags.name }),
        });
      } catch (error) {
        if (error instanceof DaemonStartError) throw new CliError(error.message, ExitCode.invalid);
        throw error;
      }
      await new Promise<void>((resolve) => {
        const shutdown = () => {
          process.off('SIGTERM', shutdown);
          process.off('SIGINT', shutdown);
          void daemon.stop().then(resolve);
        };
        process.on('SIGTERM', shutdown);
        process.on('SIGINT', shutdown);
      });
    });
}
