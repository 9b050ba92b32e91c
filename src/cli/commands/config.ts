/**
 * `corolink config check|fmt|migrate`: validate a corosync.conf and show its effective values, print it with
 * normalised layout, or migrate a corosync 2 (rrp) file to knet links. Diagnostics go to stderr as
 * `file:line:col: severity: message`; exit 0 when valid (warnings allowed), 1 when not, 74 when unreadable.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import {
  type CheckedConfig,
  checkConfigText,
  type Diagnostic,
  type EffectiveConfig,
  formatConfig,
  formatDiagnostic,
  migrateRrpToKnet,
  parseConfig,
  printConfig,
} from '../../config/index.ts';
import { CliError, ExitCode } from '../exit-codes.ts';

const FILE_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
};

function describeFileError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return (code && FILE_ERRORS[code]) ?? (error instanceof Error ? error.message : String(error));
}

async function readConfigText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${describeFileError(error)}`, ExitCode.io);
  }
}

/** Writes through a temporary file and a rename, so a reader never sees half a config. */
async function writeConfigText(file: string, text: string): Promise<void> {
  const temporary = `${file}.corolink-tmp`;
  try {
    await writeFile(temporary, text);
    await rename(temporary, file);
  } catch (error) {
    throw new CliError(`cannot write ${file}: ${describeFileError(error)}`, ExitCode.io);
  }
}

function printDiagnostics(list: readonly Diagnostic[]): void {
  for (const d of list) process.stderr.write(`${formatDiagnostic(d)}\n`);
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

function summary(checked: CheckedConfig, file: string): string {
  const errors = checked.diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = checked.diagnostics.length - errors;
  return checked.valid
    ? `${file}: valid (${plural(warnings, 'warning')})`
    : `${file}: invalid (${plural(errors, 'error')}, ${plural(warnings, 'warning')})`;
}

/** `value` or `value (corosync: other)` when corolink deliberately differs. */
function withCorosync(value: number, corosync: number, unit = ' ms'): string {
  return value === corosync ? `${value}${unit}` : `${value}${unit} (corosync: ${corosync}${unit})`;
}

/** The effective configuration as aligned `name value` lines. */
export function renderEffective(effective: EffectiveConfig): string {
  const { totem, quorum, crypto } = effective;
  const rows: [string, string][] = [
    ['cluster_name', totem.clusterName ?? '(none)'],
    ['config_version', String(totem.configVersion)],
    ['transport', totem.transport],
    ['link_mode', totem.linkMode],
    ['crypto', `cipher ${crypto.cipher}, hash ${crypto.hash}`],
    [
      'token',
      `${totem.tokenMs} ms (token ${totem.baseTokenMs} + token_coefficient ${totem.tokenCoefficientMs} per node above 2)`,
    ],
    ['token_retransmit', `${totem.tokenRetransmitMs} ms`],
    ['hold', `${totem.holdMs} ms`],
    ['join', `${totem.joinMs} ms`],
    ['consensus', `${totem.consensusMs} ms`],
    ['merge', `${totem.mergeMs} ms`],
    ['downcheck', `${totem.downCheckMs} ms`],
    ['fail_recv_const', String(totem.failToRecvConst)],
    ['seqno_unchanged_const', String(totem.seqnoUnchangedConst)],
    ['max_messages', String(totem.maxMessages)],
    ['window_size', String(totem.windowSize)],
    ['ping_profile', effective.pingProfile],
    ['failback_hold', `${effective.failbackHoldMs} ms (corosync: none, knet fails back at once)`],
  ];
  for (const link of effective.links) {
    const prefix = `link${link.link}`;
    rows.push(
      [`${prefix}.priority`, String(link.priority)],
      [`${prefix}.mcastport`, String(link.mcastport)],
      [`${prefix}.knet_ping_interval`, withCorosync(link.pingIntervalMs, link.corosync.pingIntervalMs)],
      [`${prefix}.knet_ping_timeout`, withCorosync(link.pingTimeoutMs, link.corosync.pingTimeoutMs)],
      [`${prefix}.knet_pong_count`, withCorosync(link.pongCount, link.corosync.pongCount, '')],
    );
  }
  for (const node of effective.nodes) {
    const addresses = Object.entries(node.addresses).map(([link, address]) => `link${link} ${address}`);
    rows.push([
      `node ${node.nodeId ?? '?'}`,
      `${node.name ?? '(no name)'}, ${plural(node.votes, 'vote')}, ${addresses.join(', ')}`,
    ]);
  }
  rows.push(
    ['quorum.provider', quorum.provider ?? '(none)'],
    ['quorum.expected_votes', String(quorum.expectedVotes)],
    ['quorum.quorum', `${quorum.quorumVotes} votes`],
    [
      'quorum.flags',
      [
        quorum.twoNode && 'two_node',
        quorum.waitForAll && 'wait_for_all',
        quorum.lastManStanding && 'last_man_standing',
        quorum.autoTieBreaker && 'auto_tie_breaker',
      ]
        .filter(Boolean)
        .join(' ') || '(none)',
    ],
  );
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, value]) => `${name.padEnd(width)}  ${value}\n`).join('');
}

async function checkCommand(file: string, options: { json?: boolean }): Promise<void> {
  const checked = checkConfigText(await readConfigText(file), file);
  if (options.json) {
    const errors = checked.diagnostics.filter((d) => d.severity === 'error');
    const warnings = checked.diagnostics.filter((d) => d.severity === 'warning');
    process.stdout.write(
      `${JSON.stringify({ valid: checked.valid, errors, warnings, effective: checked.effective }, null, 2)}\n`,
    );
  } else {
    printDiagnostics(checked.diagnostics);
    if (checked.valid) process.stdout.write(renderEffective(checked.effective));
    process.stderr.write(`${summary(checked, file)}\n`);
  }
  process.exitCode = checked.valid ? ExitCode.ok : ExitCode.invalid;
}

async function fmtCommand(file: string, options: { write?: boolean }): Promise<void> {
  const parsed = parseConfig(await readConfigText(file), file);
  const errors = parsed.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) {
    printDiagnostics(errors);
    throw new CliError(`${file}: not formatted: fix the syntax errors first`, ExitCode.invalid);
  }
  const formatted = formatConfig(parsed.tree);
  if (options.write) {
    if (formatted !== printConfig(parsed.tree)) await writeConfigText(file, formatted);
  } else {
    process.stdout.write(formatted);
  }
}

async function migrateCommand(file: string, options: { output?: string }): Promise<void> {
  const parsed = parseConfig(await readConfigText(file), file);
  const migration = migrateRrpToKnet(parsed.tree);
  const text = printConfig(migration.tree);
  if (options.output) await writeConfigText(options.output, text);
  else process.stdout.write(text);
  for (const change of migration.changes) process.stderr.write(`${file}: migrated: ${change}\n`);
  for (const item of migration.unresolved) process.stderr.write(`${file}: needs a hand: ${item}\n`);
  const result = checkConfigText(text, options.output ?? `${file} (migrated)`);
  printDiagnostics(result.diagnostics.filter((d) => d.severity === 'error'));
  process.stderr.write(`${summary(result, options.output ?? `${file} (migrated)`)}\n`);
  process.exitCode = result.valid ? ExitCode.ok : ExitCode.invalid;
}

/** Registers `corolink config …`. */
export function register(program: Command): void {
  const config = program
    .command('config')
    .description('check, format or migrate a corosync.conf')
    .addHelpText(
      'after',
      '\nExamples:\n  corolink config check /etc/corosync/corosync.conf\n  corolink config migrate old.conf -o corosync.conf',
    );
  config
    .command('check')
    .description(
      'validate a corosync.conf and print its effective values (derived timers, corosync values where corolink differs)',
    )
    .argument('<file>', 'corosync.conf to check')
    .option('--json', 'print one JSON object {valid, errors, warnings, effective}')
    .addHelpText(
      'after',
      '\nExit status: 0 valid (warnings allowed), 1 invalid, 74 unreadable.\n\nExample:\n  corolink config check /etc/corosync/corosync.conf --json',
    )
    .action(checkCommand);
  config
    .command('fmt')
    .description('print a corosync.conf with normalised indentation and spacing (comments kept)')
    .argument('<file>', 'corosync.conf to format')
    .option('--write', 'rewrite the file in place instead of printing it')
    .addHelpText('after', '\nExample:\n  corolink config fmt corosync.conf --write')
    .action(fmtCommand);
  config
    .command('migrate')
    .description('turn a corosync 2 config (rrp rings, udp/udpu) into corosync 3 knet links, keeping comments')
    .argument('<file>', 'corosync 2 corosync.conf')
    .option('-o, --output <out>', 'write the result here instead of stdout')
    .addHelpText(
      'after',
      '\nExit status: 0 when the migrated file is valid, 1 when it still needs manual changes.\n\nExample:\n  corolink config migrate /etc/corosync/corosync.conf -o corosync.conf.new',
    )
    .action(migrateCommand);
}
