/** `corolink kill <node>`: the cluster asks that node's daemon to leave and exit (`corosync-cfgtool -k`). */
import type { Command } from 'commander';
import { UINT32_MAX } from '../../base/limits.ts';
import { addDaemonOptions, type DaemonCommandOptions, printJson, withDaemon } from '../daemon-call.ts';
import { CliError, ExitCode } from '../exit-codes.ts';

/** Registers `corolink kill`. */
export function register(program: Command): void {
  addDaemonOptions(
    program
      .command('kill')
      .argument('<node>', 'node id or name (nodelist)')
      .description(
        "make another node's daemon leave the cluster and exit: the request goes through the ring (corosync-cfgtool -k)",
      )
      .addHelpText('after', '\nExamples:\n  corolink kill 3\n  corolink kill n3'),
  ).action(async (node: string, options: DaemonCommandOptions) => {
    const nodeid = await withDaemon(options, async (client) => {
      const nodes = (await client.status()).nodes;
      const byName = nodes.find((n) => n.name === node);
      const id = byName?.nodeid ?? (/^\d+$/.test(node) ? Number(node) : Number.NaN);
      if (!Number.isSafeInteger(id) || id < 1 || id > UINT32_MAX) {
        throw new CliError(
          `no node named '${node}' in the nodelist (${nodes.map((n) => `${n.nodeid} ${n.name}`).join(', ')})`,
          ExitCode.invalid,
        );
      }
      await client.killNode(id);
      return id;
    });
    if (options.json) printJson({ ok: true, nodeid });
    else process.stdout.write(`asked node ${nodeid} to leave the cluster and exit\n`);
  });
}
