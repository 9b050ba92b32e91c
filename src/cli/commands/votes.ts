/** `corolink votes <votes> [--node ID]`: set a node's votes cluster-wide (`corosync-quorumtool -v votes -n nodeid`). */
import type { Command } from 'commander';
import { UINT32_MAX } from '../../base/limits.ts';
import {
  addDaemonOptions,
  type DaemonCommandOptions,
  parseIntegerArgument,
  printJson,
  withDaemon,
} from '../daemon-call.ts';
import { quorumText } from '../format/status.ts';

/** Registers `corolink votes`. */
export function register(program: Command): void {
  addDaemonOptions(
    program
      .command('votes')
      .argument('<votes>', "the node's new votes (0 or more)")
      .option('-n, --node <nodeid>', 'the node whose votes change (default: this node)')
      .description("set a node's votes cluster-wide until the next restart (corosync-quorumtool -v)")
      .addHelpText(
        'after',
        '\nExamples:\n  corolink votes 2            # this node counts twice\n  corolink votes 0 --node 3',
      ),
  ).action(async (votesText: string, options: DaemonCommandOptions & { node?: string }) => {
    const votes = parseIntegerArgument(votesText, 'votes', 0, UINT32_MAX);
    const node = options.node === undefined ? undefined : parseIntegerArgument(options.node, '--node', 1, UINT32_MAX);
    await withDaemon(options, async (client) => {
      const quorum = await client.setVotes(votes, node);
      if (options.json) printJson(quorum);
      else process.stdout.write(quorumText(await client.status(), { date: new Date() }));
    });
  });
}
