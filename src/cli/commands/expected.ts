/** `corolink expected <votes>`: set expected votes (like `pvecm expected` / `corosync-quorumtool -e`). */
import type { Command } from 'commander';
import { UINT32_MAX } from '../../base/limits.ts';
import {
  addDaemonOptions,
  type DaemonCommandOptions,
  parseIntegerArgument,
  printJson,
  withDaemon,
} from '../daemon-call.ts';

/** Registers `corolink expected`. */
export function register(program: Command): void {
  addDaemonOptions(
    program
      .command('expected')
      .argument('<votes>', 'the new expected votes (a positive integer)')
      .description('set the expected votes, e.g. to regain quorum on an isolated node')
      .addHelpText(
        'after',
        '\nExample:\n  corolink expected 1    # a lone survivor of a 3-node cluster becomes quorate',
      ),
  ).action(async (votesText: string, options: DaemonCommandOptions) => {
    const votes = parseIntegerArgument(votesText, 'expected votes', 1, UINT32_MAX);
    const quorum = await withDaemon(options, (client) => client.setExpected(votes));
    if (options.json) printJson(quorum);
  });
}
