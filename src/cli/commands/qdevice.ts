/** `corolink qdevice …`: the quorum device (docs/quorum.md "Setting up a QDevice"). */
import type { Command } from 'commander';
import { registerSetupAndRemove } from '../qdevice/commands.ts';

/** Registers `corolink qdevice setup|remove`. */
export function register(program: Command): void {
  const qdevice = program
    .command('qdevice')
    .description('the quorum device: a tie-breaking vote from a corosync-qnetd host (as pvecm qdevice)')
    .addHelpText('after', '\nExamples:\n  corolink qdevice setup 198.18.10.250 --yes\n  corolink qdevice remove --yes');
  registerSetupAndRemove(qdevice);
}
