/** `corolink quorum`: `corosync-quorumtool -s` (exit 2 when not quorate). */
import type { Command } from 'commander';
import { addDaemonOptions, type DaemonCommandOptions, printJson, withDaemon } from '../daemon-call.ts';
import { ExitCode } from '../exit-codes.ts';
import { quorumText } from '../format/status.ts';

/** Registers `corolink quorum`. */
export function register(program: Command): void {
  addDaemonOptions(
    program
      .command('quorum')
      .description('show quorum and votequorum information and the members (exit 2 when not quorate)')
      .addHelpText('after', '\nExamples:\n  corolink quorum\n  corolink quorum --json'),
  ).action(async (options: DaemonCommandOptions) => {
    const quorate = await withDaemon(options, async (client) => {
      if (options.json) {
        const quorum = await client.quorum();
        printJson(quorum);
        return quorum.quorate;
      }
      const status = await client.status();
      process.stdout.write(quorumText(status, { date: new Date() }));
      return status.quorum.quorate;
    });
    if (!quorate) process.exitCode = ExitCode.notQuorate;
  });
}
