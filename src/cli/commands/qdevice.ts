/** `corolink qdevice`: the quorum device (`corosync-qdevice-tool -s` as `qdevice status`). */
import type { Command } from 'commander';
import { addDaemonOptions, type DaemonCommandOptions, printJson, withDaemon } from '../daemon-call.ts';
import { qdeviceStatusText } from '../format/qdevice.ts';

/** Registers `corolink qdevice` and its `status` subcommand. */
export function register(program: Command): void {
  const qdevice = program
    .command('qdevice')
    .description('the quorum device: a tie-breaker vote from corosync-qnetd (quorum { device { model: net } })')
    .addHelpText('after', '\nExamples:\n  corolink qdevice status\n  corolink qdevice status --json');
  addDaemonOptions(
    qdevice
      .command('status')
      .description("show the quorum device's state, like corosync-qdevice-tool -s")
      .addHelpText('after', '\nExamples:\n  corolink qdevice status\n  corolink qdevice status --json'),
  ).action(async (options: DaemonCommandOptions) => {
    await withDaemon(options, async (client) => {
      const status = await client.qdeviceStatus();
      if (options.json) printJson(status);
      else process.stdout.write(qdeviceStatusText(status, new Date()));
    });
  });
}
