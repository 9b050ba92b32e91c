/** The `qdevice setup` and `qdevice remove` verbs (setup.ts); `corolink qdevice` itself is commands/qdevice.ts. */
import type { Command } from 'commander';
import { addChangeOptions } from '../config-change.ts';
import { defaultConfigPath } from '../config-path.ts';
import { SSH_COMMAND_DEFAULT } from './remote-shell.ts';
import { type QdeviceOptions, qdeviceRemove, qdeviceSetup, type SetupOptions, VOTE_WAIT_S_DEFAULT } from './setup.ts';

/** The options both verbs share: where the files go and how the other hosts are reached. */
function addHostOptions(command: Command): Command {
  return addChangeOptions(
    command
      .option(
        '-c, --config <file>',
        "this node's corosync.conf; the certificate files go beside it, in qdevice/net/ ($COROLINK_CONFIG, else /etc/corolink/corosync.conf)",
        defaultConfigPath(),
      )
      .option('--no-ssh', 'do not use a remote shell: print the copy steps (setup: finish with --finish)')
      .option(
        '--ssh-command <command>',
        'remote shell run as `<command> <host> <script>` (like corosync-qdevice-net-certutil -S)',
        SSH_COMMAND_DEFAULT,
      ),
  );
}

export function registerSetupAndRemove(qdevice: Command): void {
  addHostOptions(
    qdevice
      .command('setup')
      .argument('<qnetd-address>', 'the host running corosync-qnetd (reached as root over ssh, as pvecm does)')
      .description(
        "use a corosync-qnetd host's vote: its CA and a cluster certificate signed by it on every node, the quorum device in corosync.conf (live), then wait for the vote",
      )
      .option('--finish', 'with --no-ssh: the second step, once the copies printed by the first are done')
      .option('--algorithm <name>', 'ffsplit (default, even node counts) or lms (odd node counts)')
      .option('--tie-breaker <node>', 'ffsplit tie breaker: lowest, highest or a node id', 'lowest')
      .option(
        '--wait <seconds>',
        'how long to wait for the cluster to count the vote (0: do not wait)',
        String(VOTE_WAIT_S_DEFAULT),
      ),
  )
    .addHelpText(
      'after',
      '\nThe files (all 0600): qdevice/net/qnetd-cacert.pem, cluster-cert.pem, cluster-key.pem beside corosync.conf.\n' +
        'Exit status: 0 done, 1 refused or a step failed, 69 applied but the vote not counted within --wait.\n\n' +
        'Examples:\n  corolink qdevice setup 198.18.10.250 --yes\n' +
        '  corolink qdevice setup 198.18.10.250 --no-ssh          (prints the copy steps)\n' +
        '  corolink qdevice setup 198.18.10.250 --no-ssh --finish --yes',
    )
    .action((address: string, options: SetupOptions) => qdeviceSetup(address, options));
  addHostOptions(
    qdevice
      .command('remove')
      .description('remove the quorum device from corosync.conf (live) and its certificate files from every node'),
  )
    .addHelpText('after', '\nExample:\n  corolink qdevice remove --yes')
    .action((options: QdeviceOptions) => qdeviceRemove(options));
}
