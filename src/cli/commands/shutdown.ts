/** `corolink shutdown`: this node's daemon leaves the cluster cleanly and exits (`corosync-cfgtool -H`). */
import type { Command } from 'commander';
import { addDaemonOptions, type DaemonCommandOptions, printJson, withDaemon } from '../daemon-call.ts';

/** Registers `corolink shutdown`. */
export function register(program: Command): void {
  addDaemonOptions(
    program
      .command('shutdown')
      .description('make the local daemon leave the cluster cleanly and exit, as on SIGTERM (corosync-cfgtool -H)')
      .addHelpText('after', '\nExample:\n  corolink shutdown    # the peers see a leave, not a failure'),
  ).action(async (options: DaemonCommandOptions) => {
    await withDaemon(options, (client) => client.shutdown());
    if (options.json) printJson({ ok: true });
    else process.stdout.write('the daemon is leaving the cluster and will exit\n');
  });
}
