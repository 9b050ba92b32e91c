/** `corolink status`: `pvecm status` (cluster, quorum, votequorum, membership) plus the link status of every node. */
import type { Command } from 'commander';
import { addDaemonOptions, type DaemonCommandOptions, printJson, withDaemon } from '../daemon-call.ts';
import { ExitCode } from '../exit-codes.ts';
import { statusText } from '../format/status.ts';

/** Registers `corolink status`. */
export function register(program: Command): void {
  addDaemonOptions(
    program
      .command('status')
      .description(
        'show cluster, quorum and membership information and the state of every link (exit 2 when not quorate)',
      )
      .addHelpText('after', '\nExamples:\n  corolink status\n  corolink status --json | jq .quorum'),
  ).action(async (options: DaemonCommandOptions) => {
    const status = await withDaemon(options, (client) => client.status());
    if (options.json) printJson(status);
    else process.stdout.write(statusText(status, { date: new Date() }));
    if (!status.quorum.quorate) process.exitCode = ExitCode.notQuorate;
  });
}
