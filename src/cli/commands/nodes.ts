/** `corolink nodes`: the membership table of `pvecm nodes` / `corosync-quorumtool -l`. */
import type { Command } from 'commander';
import { addDaemonOptions, type DaemonCommandOptions, printJson, withDaemon } from '../daemon-call.ts';
import { nodesText } from '../format/status.ts';

/** Registers `corolink nodes`. */
export function register(program: Command): void {
  addDaemonOptions(
    program
      .command('nodes')
      .description('list the current members (node id, votes, name)')
      .addHelpText('after', '\nExamples:\n  corolink nodes\n  corolink nodes --json'),
  ).action(async (options: DaemonCommandOptions) => {
    const status = await withDaemon(options, (client) => client.status());
    if (options.json) printJson({ version: status.version, members: status.members, nodes: status.nodes });
    else process.stdout.write(nodesText(status));
  });
}
