/** `corolink qdevice …`: the quorum device (docs/quorum.md): `setup`/`remove` as pvecm, `status` as `corosync-qdevice-tool -s`. */
import type { Command } from 'commander';
import { addDaemonOptions, type DaemonCommandOptions, printJson, withDaemon } from '../daemon-call.ts';
import { qdeviceStatusText } from '../format/qdevice.ts';
import { registerSetupAndRemove } from '../qdevice/commands.ts';

/** Registers `corolink qdevice setup|remove|status`. */
export function register(program: Command): void {
  const qdevice = program
    .command('qdevice')
    .description('the quorum device: a tie-breaking vote from a corosync-qnetd host (as pvecm qdevice)')
    .addHelpText(
      'after',
      '\nExamples:\n  corolink qdevice setup 198.18.10.250 --yes\n  corolink qdevice status\n  corolink qdevice remove --yes',
    );
  registerSetupAndRemove(qdevice);
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
