/**
 * `corolink config check|fmt|migrate|show|diff|apply`: validate a corosync.conf and show its effective values, print
 * it with normalised layout, migrate a corosync 2 (rrp) file to knet links, print it (or its model), and plan a
 * change from the current file to a new one (src/config/change-plan.ts). Diagnostics go to stderr as
 * `file:line:col: severity: message`; exit 0 when valid (warnings allowed), 1 when not, 74 when unreadable.
 */
import { rename, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { CorolinkClient, resolveSocketPath } from '../../client/client.ts';
import type { ConfigText } from '../../client/config.ts';
import { DaemonUnavailableError } from '../../client/errors.ts';
import {
  type CheckedConfig,
  checkConfigText,
  type Diagnostic,
  type EffectiveConfig,
  formatConfig,
  formatDiagnostic,
  migrateRrpToKnet,
  parseConfig,
  planConfigChange,
  printConfig,
  readConfigFile,
} from '../../config/index.ts';
import { addChangeOptions, type ChangeOptions, changeClusterConfig } from '../config-change.ts';
import { defaultConfigPath } from '../config-path.ts';
import { SOCKET_OPTION_HELP, toCliError } from '../daemon-call.ts';
import { CliError, ExitCode } from '../exit-codes.ts';
import { formatPlan, lineDiff } from '../format-plan.ts';
import { registerClusterVerbs } from './config-cluster.ts';

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
    return await readConfigFile(file);
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
    ['burst_hold', `${effective.burstHoldMs} ms (corosync: none)`],
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

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** The running config from the daemon at `socket`, or undefined when no daemon answers there. */
async function runningConfig(socket: string): Promise<ConfigText | undefined> {
  let client: CorolinkClient;
  try {
    client = await CorolinkClient.connect({ socket, reconnect: false });
  } catch (error) {
    if (error instanceof DaemonUnavailableError) return undefined;
    throw toCliError(error);
  }
  try {
    return await client.configGet();
  } catch (error) {
    throw toCliError(error);
  } finally {
    client.close();
  }
}

/**
 * `config show`: the running config through the daemon when one answers (docs/reconfiguration.md), else the file;
 * `-c FILE` on the command line: that file. Which one it is goes to stderr (stdout stays the config).
 */
async function showCommand(options: { config: string; json?: boolean; socket?: string }, command: Command) {
  let text: string | undefined;
  let source: { source: 'daemon'; socket: string; config_version: number } | { source: 'file'; file: string };
  const socket = resolveSocketPath(options.socket);
  const running = command.getOptionValueSource('config') === 'cli' ? undefined : await runningConfig(socket);
  if (running) {
    text = running.text;
    source = { source: 'daemon', socket, config_version: running.config_version };
    process.stderr.write(`corolink: the running config (config_version ${running.config_version}), from ${socket}\n`);
  } else {
    text = await readConfigText(options.config);
    source = { source: 'file', file: options.config };
    if (command.getOptionValueSource('config') !== 'cli') {
      process.stderr.write(`corolink: no daemon at ${socket}: the file ${options.config}\n`);
    }
  }
  if (!options.json) {
    process.stdout.write(text);
    return;
  }
  const checked = checkConfigText(text, 'file' in source ? source.file : 'corosync.conf');
  const errors = checked.diagnostics.filter((d) => d.severity === 'error');
  printJson({ ...source, valid: checked.valid, errors, config: checked.config });
}

interface PlanCommandOptions {
  current: string;
  force?: boolean;
  json?: boolean;
  dryRun?: boolean;
}

/** Reads the current and the new file and plans the change; exit 0 when it may be applied, 1 when not. */
async function planFiles(file: string, options: PlanCommandOptions) {
  // One after the other, so that with both files missing the message always names the current one.
  const currentText = await readConfigText(options.current);
  const nextText = await readConfigText(file);
  const plan = planConfigChange(checkConfigText(currentText, options.current), checkConfigText(nextText, file), {
    force: options.force === true,
  });
  process.exitCode = plan.ok ? ExitCode.ok : ExitCode.invalid;
  return { plan, currentText, nextText };
}

async function diffCommand(file: string, options: PlanCommandOptions): Promise<void> {
  const { plan, currentText, nextText } = await planFiles(file, options);
  const diff = lineDiff(currentText, nextText, { from: options.current, to: file });
  if (options.json) printJson({ diff, plan });
  else process.stdout.write(`${diff}\n\n${formatPlan(plan)}\n`);
}

/**
 * With --dry-run: plans FILE against the current file offline (no daemon needed). Otherwise: the running daemon plans
 * it against the running cluster config and, once confirmed, every node applies it (src/cli/config-change.ts).
 */
async function applyCommand(file: string, options: PlanCommandOptions & ChangeOptions): Promise<void> {
  if (!options.dryRun) {
    await changeClusterConfig(options, { text: await readConfigText(file) });
    return;
  }
  const { plan } = await planFiles(file, options);
  if (options.json) printJson(plan);
  else process.stdout.write(`${formatPlan(plan)}\n`);
}

/** Registers `corolink config …`. */
export function register(program: Command): void {
  const config = program
    .command('config')
    .description('check, format, migrate, show or diff a corosync.conf; plan a change to a running cluster')
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
  config
    .command('show')
    .description('print the running config through the daemon, else the file as it is (--json: its typed model)')
    .option('--socket <path>', SOCKET_OPTION_HELP)
    .option(
      '-c, --config <file>',
      'the config file ($COROLINK_CONFIG, else /etc/corolink/corosync.conf)',
      defaultConfigPath(),
    )
    .option('--json', 'print one JSON object {file, valid, errors, config} with the typed model')
    .addHelpText(
      'after',
      '\nWith -c on the command line: that file, not the daemon.\nExit status: 0, 74 unreadable.\n\nExample:\n  corolink config show\n  corolink config show -c corosync.conf --json',
    )
    .action(showCommand);
  config
    .command('diff')
    .description('line diff from the current config to FILE, then the change plan (what applies live, what not)')
    .argument('<file>', 'the new corosync.conf')
    .option(
      '-c, --current <file>',
      'the current config file ($COROLINK_CONFIG, else /etc/corolink/corosync.conf)',
      defaultConfigPath(),
    )
    .option('--force', 'plan as if forced: link and quorum safety refusals become warnings')
    .option('--json', 'print one JSON object {diff, plan}')
    .addHelpText(
      'after',
      '\nExit status: 0 the change may be applied, 1 it is refused, 74 unreadable.\n\nExample:\n  corolink config diff corosync.conf.new -c /etc/corolink/corosync.conf',
    )
    .action(diffCommand);
  addChangeOptions(
    config
      .command('apply')
      .description(
        'change the running cluster to FILE: diff, plan (live / at the next restart / refused), confirm, apply on every node',
      )
      .argument('<file>', 'the new corosync.conf')
      .option(
        '-c, --current <file>',
        'with --dry-run: the current config file to plan against ($COROLINK_CONFIG, else /etc/corolink/…)',
        defaultConfigPath(),
      )
      .addHelpText(
        'after',
        '\nWithout --dry-run the running daemon (--socket) plans the change against the cluster config and commits it;\nconfig_version is raised by one if FILE left it unchanged, and refused if it went backwards.\n\nExit status: 0 applied (or may be applied), 1 refused, 2 not quorate, 64 not confirmed, 69 no daemon, 74 unreadable.\n\nExample:\n  corolink config apply --dry-run corosync.conf.new --json\n  corolink config apply corosync.conf.new --yes',
      ),
  ).action(applyCommand);
  registerClusterVerbs(config);
}
