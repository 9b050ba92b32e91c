/** `corolink quorum`: `corosync-quorumtool -s`, and `-m` (monitor) as `--monitor` (exit 2 when not quorate). */
import type { Command } from 'commander';
import type { CorolinkClient } from '../../client/client.ts';
import {
  addDaemonOptions,
  type DaemonCommandOptions,
  printJson,
  runUntilInterrupted,
  withDaemon,
} from '../daemon-call.ts';
import { ExitCode } from '../exit-codes.ts';
import { quorumText } from '../format/status.ts';

/** Prints the quorum state once: the text of `corosync-quorumtool -s`, or QuorumV1 as JSON. */
async function printQuorum(client: CorolinkClient, json: boolean, compact: boolean): Promise<boolean> {
  if (json) {
    const quorum = await client.quorum();
    if (compact) process.stdout.write(`${JSON.stringify(quorum)}\n`);
    else printJson(quorum);
    return quorum.quorate;
  }
  const status = await client.status();
  process.stdout.write(quorumText(status, { date: new Date() }));
  return status.quorum.quorate;
}

/** Registers `corolink quorum`. */
export function register(program: Command): void {
  addDaemonOptions(
    program
      .command('quorum')
      .description('show quorum and votequorum information and the members (exit 2 when not quorate)')
      .option(
        '-m, --monitor',
        'print it again at every quorum or membership change until Ctrl-C (corosync-quorumtool -m)',
      )
      .addHelpText(
        'after',
        '\nExamples:\n  corolink quorum\n  corolink quorum --json\n  corolink quorum --monitor --json    # one JSON line per change',
      ),
  ).action(async (options: DaemonCommandOptions & { monitor?: boolean }) => {
    const json = options.json === true;
    if (!options.monitor) {
      const quorate = await withDaemon(options, (client) => printQuorum(client, json, false));
      if (!quorate) process.exitCode = ExitCode.notQuorate;
      return;
    }
    await withDaemon(
      options,
      async (client) => {
        // One print per change, in order: a change that arrives while one prints is printed after it.
        let printing = Promise.resolve();
        const reprint = () => {
          printing = printing.then(() => printQuorum(client, json, true).then(() => undefined)).catch(() => undefined);
        };
        await client.onQuorum(reprint);
        await client.onMembership(reprint);
        if (!json) process.stdout.write('Monitoring quorum; Ctrl-C to stop.\n\n');
        reprint();
        await runUntilInterrupted(client);
      },
      { reconnect: true },
    );
  });
}
