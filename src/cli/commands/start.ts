/** `corolink start`: the embedded default (`npm start`). Until the daemon exists it lists what is available. */
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('start')
    .description('run the embedded default: a local 3-node cluster with two links on loopback')
    .addHelpText('after', '\nExample:\n  npm start')
    .action(() => {
      process.stdout.write(
        [
          'corolink 0.1.0 — the local 3-node demo cluster is not available yet (it arrives with the daemon).',
          'Available now:',
          '  corolink config check FILE [--json]   validate a corosync.conf and show the effective values',
          '  corolink config fmt FILE               print a corosync.conf normalised',
          '  corolink config migrate FILE           turn a corosync 2 (rrp) config into knet links',
          '  corolink keygen [-o FILE]              make an authkey',
          '',
        ].join('\n'),
      );
    });
}
