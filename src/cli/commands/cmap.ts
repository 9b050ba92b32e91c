/** `corolink cmap [prefix]`, `-g key`: the runtime keys as corosync-cmapctl prints them (read-only). */
import type { Command } from 'commander';
import type { CmapEntry } from '../../ipc/schema.ts';
import { addDaemonOptions, type DaemonCommandOptions, printJson, withDaemon } from '../daemon-call.ts';
import { CliError, ExitCode } from '../exit-codes.ts';

/** corosync-cmapctl's line: `key (type) = value`. */
export function cmapLine(entry: CmapEntry): string {
  return `${entry.key} (${entry.type}) = ${entry.value}\n`;
}

/** Registers `corolink cmap`. */
export function register(program: Command): void {
  addDaemonOptions(
    program
      .command('cmap')
      .argument('[prefix]', 'only the keys starting with this prefix (corosync-cmapctl -p / a key prefix)')
      .option('-g, --get <key>', 'one key only; exit 1 when it does not exist (corosync-cmapctl -g)')
      .description(
        'show the runtime keys like corosync-cmapctl: the running config (totem.*, nodelist.*, …), ' +
          'runtime.votequorum.*, runtime.members.*, runtime.totem.*, runtime.config.totem.*, runtime.services.*, stats.srp.*, ' +
          'stats.knet.nodeN.linkM.*',
      )
      .addHelpText(
        'after',
        '\nExamples:\n  corolink cmap stats.knet.node2\n  corolink cmap -g runtime.votequorum.quorate\n  corolink cmap runtime.config.totem --json',
      ),
  ).action(async (prefix: string | undefined, options: DaemonCommandOptions & { get?: string }) => {
    if (prefix !== undefined && options.get !== undefined) {
      throw new CliError('give a prefix or --get KEY, not both', ExitCode.usage);
    }
    const result = await withDaemon(options, (client) =>
      client.cmap(options.get === undefined ? { prefix: prefix ?? '' } : { key: options.get }),
    );
    if (options.json) printJson(result);
    else process.stdout.write(result.keys.map(cmapLine).join(''));
  });
}
