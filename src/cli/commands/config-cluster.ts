/**
 * `corolink config edit|history|rollback`: the cluster config through the running daemon. Each change goes through
 * the checked flow of src/cli/config-change.ts (diff, plan, confirm, commit; every node applies it live).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { ConfigText } from '../../client/config.ts';
import { parseConfig, printConfig, setKey } from '../../config/index.ts';
import { addChangeOptions, type ChangeOptions, changeClusterConfig } from '../config-change.ts';
import {
  addDaemonOptions,
  type DaemonCommandOptions,
  parseIntegerArgument,
  printJson,
  withDaemon,
} from '../daemon-call.ts';
import { CliError, ExitCode } from '../exit-codes.ts';

/** Opens the running config in $VISUAL / $EDITOR (default vi); undefined when the admin saved it unchanged. */
function editInEditor(current: ConfigText): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'corolink-edit-'));
  const file = join(dir, 'corosync.conf');
  try {
    writeFileSync(file, current.text, { mode: 0o600 });
    const editor = process.env.VISUAL || process.env.EDITOR || 'vi';
    // Through the shell: EDITOR may carry arguments (`code --wait`).
    const result = spawnSync(`${editor} "${file}"`, { shell: true, stdio: 'inherit' });
    if (result.status !== 0)
      throw new CliError(`the editor (${editor}) exited with ${result.status}: nothing changed`, ExitCode.invalid);
    const edited = readFileSync(file, 'utf8');
    return edited === current.text ? undefined : edited;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `version`'s text with config_version set one above the running one, so that going back is a step forward. */
function asNextVersion(text: string, current: ConfigText): string {
  const { tree } = parseConfig(text, 'corosync.conf');
  setKey(tree, ['totem'], 'config_version', String(current.config_version + 1));
  return printConfig(tree);
}

function formatTime(ms: number): string {
  return ms > 0
    ? new Date(ms)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, ' UTC')
    : '-';
}

export function registerClusterVerbs(config: Command): void {
  addChangeOptions(
    config
      .command('edit')
      .description("edit the running cluster's corosync.conf in $EDITOR; checked, diffed and applied on every node")
      .addHelpText(
        'after',
        '\nconfig_version is raised by one if you forget to; lowering it is refused. The editor is $VISUAL, $EDITOR or vi.\n\nExample:\n  corolink config edit --socket /run/corolink/corolink.sock',
      ),
  ).action((options: ChangeOptions) =>
    changeClusterConfig(options, { text: async (current) => editInEditor(current) }),
  );
  addDaemonOptions(
    config
      .command('history')
      .description('list the stored versions of the cluster config (corosync.conf), the running one marked')
      .addHelpText('after', '\nExample:\n  corolink config history'),
  ).action(async (options: DaemonCommandOptions) => {
    const versions = await withDaemon(options, (client) => client.configHistory());
    if (options.json) return printJson(versions);
    process.stdout.write('config_version  stored                   bytes\n');
    for (const v of versions) {
      const row = `${String(v.config_version).padEnd(14)}  ${formatTime(v.mtime).padEnd(23)}  ${String(v.size).padStart(5)}`;
      process.stdout.write(`${row}${v.current ? '  (running)' : ''}\n`);
    }
  });
  addChangeOptions(
    config
      .command('rollback')
      .argument('<version>', 'the config_version to go back to (see config history)')
      .description('apply an earlier version of the cluster config again, as a new config_version')
      .addHelpText('after', '\nExample:\n  corolink config rollback 3 --dry-run'),
  ).action(async (versionText: string, options: ChangeOptions) => {
    const version = parseIntegerArgument(versionText, 'version', 0, Number.MAX_SAFE_INTEGER);
    await changeClusterConfig(options, {
      text: async (current, client) => asNextVersion((await client.configGet(version)).text, current),
    });
  });
}
