/** `corolink nodes`: the membership table of `pvecm nodes` / `corosync-quorumtool -l` (with its `-o` and `-a`). */
import type { Command } from 'commander';
import { addDaemonOptions, type DaemonCommandOptions, printJson, withDaemon } from '../daemon-call.ts';
import { CliError, ExitCode } from '../exit-codes.ts';
import { type NodeOrder, nodesText } from '../format/status.ts';

/** `-o` takes corosync-quorumtool's letters as well as the words. */
const ORDERS: Record<string, NodeOrder> = {
  id: 'id',
  i: 'id',
  name: 'name',
  n: 'name',
  address: 'address',
  a: 'address',
};

/** Registers `corolink nodes`. */
export function register(program: Command): void {
  addDaemonOptions(
    program
      .command('nodes')
      .description('list the current members (node id, votes, name)')
      .option('-o, --order <by>', 'order by id (i), name (n) or address (a), as corosync-quorumtool -o', 'id')
      .option('-a, --all-addresses', "show every member's address on every link (corosync-quorumtool -a)")
      .addHelpText('after', '\nExamples:\n  corolink nodes\n  corolink nodes -o name -a\n  corolink nodes --json'),
  ).action(async (options: DaemonCommandOptions & { order: string; allAddresses?: boolean }) => {
    const order = ORDERS[options.order];
    if (order === undefined) {
      throw new CliError(`--order must be id, name or address (i, n, a), got '${options.order}'`, ExitCode.usage);
    }
    const status = await withDaemon(options, (client) => client.status());
    if (options.json) printJson({ version: status.version, members: status.members, nodes: status.nodes });
    else process.stdout.write(nodesText(status, { order, addresses: options.allAddresses === true }));
  });
}
