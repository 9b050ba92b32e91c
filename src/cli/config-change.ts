/**
 * The one flow of every command that changes the cluster config (`link add|remove|priority`, `config apply`):
 * take the running corosync.conf from the daemon, edit it, bump config_version if the edit did not, let the daemon
 * plan it (nothing changes yet), show the diff and the plan, ask (or take `--yes`), then commit it. Every node
 * applies the committed version live (docs/reconfiguration.md).
 */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import type { CorolinkClient } from '../client/client.ts';
import type { ConfigProposal, ConfigText } from '../client/config.ts';
import {
  bumpConfigVersion,
  ConfigEditError,
  type ConfigTree,
  checkConfigText,
  parseConfig,
  printConfig,
} from '../config/index.ts';
import { addDaemonOptions, type DaemonCommandOptions, printJson, withDaemon } from './daemon-call.ts';
import { CliError, ExitCode } from './exit-codes.ts';
import { formatPlan, formatProbe, lineDiff } from './format-plan.ts';

/** Makes the new text from the running config (undefined: nothing to change). */
export type NewText = (current: ConfigText, client: CorolinkClient) => Promise<string | undefined>;

/** Options of a config-changing command. */
export interface ChangeOptions extends DaemonCommandOptions {
  yes?: boolean;
  force?: boolean;
  dryRun?: boolean;
}

/** Adds `--yes`, `--force`, `--dry-run` and the daemon options. */
export function addChangeOptions(command: Command): Command {
  return addDaemonOptions(
    command
      .option('-y, --yes', 'apply without asking')
      .option('--force', 'apply even a change that leaves a pair of nodes without a common link or loses quorum')
      .option('--dry-run', 'show the diff and what would apply live, change nothing'),
  );
}

/** What a change did, as `--json` prints it. */
export interface ChangeResult extends ConfigProposal {
  from_version: number;
  dry_run: boolean;
}

/** The running config's text with `edit` applied and config_version bumped unless the edit raised it. */
function editedText(current: string, edit: (tree: ConfigTree) => void): string {
  const { tree } = parseConfig(current, 'corosync.conf');
  const before = checkConfigText(current, 'corosync.conf').effective.totem.configVersion;
  try {
    edit(tree);
    if (checkConfigText(printConfig(tree), 'corosync.conf').effective.totem.configVersion <= before) {
      bumpConfigVersion(tree);
    }
  } catch (error) {
    if (error instanceof ConfigEditError) throw new CliError(error.message, ExitCode.invalid);
    throw error;
  }
  return printConfig(tree);
}

/** Node id → name of a config text's nodelist. */
function nodeNames(text: string): Map<number, string> {
  const nodes = checkConfigText(text, 'corosync.conf').config.nodes;
  return new Map(nodes.flatMap((n) => (n.nodeid === undefined || n.name === undefined ? [] : [[n.nodeid, n.name]])));
}

/** A whole new text whose config_version equals the running one gets it raised by one (the classic mistake). */
function withVersionRaised(text: string, runningVersion: number): string {
  if (checkConfigText(text, 'corosync.conf').effective.totem.configVersion !== runningVersion) return text;
  const { tree } = parseConfig(text, 'corosync.conf');
  const raised = bumpConfigVersion(tree);
  process.stderr.write(`corolink: note: config_version was not raised; set to ${raised}\n`);
  return printConfig(tree);
}

/** A whole new text (given, or made from the running config), its config_version raised if left unchanged. */
async function newText(
  given: string | NewText,
  current: ConfigText,
  client: CorolinkClient,
): Promise<string | undefined> {
  const text = typeof given === 'string' ? given : await given(current, client);
  return text === undefined ? undefined : withVersionRaised(text, current.config_version);
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await prompt.question(`${question} [y/N] `)).trim());
  } finally {
    prompt.close();
  }
}

/**
 * Runs the change flow. `edit` changes the tree of the running config (throw ConfigEditError for a wrong
 * request); `text`, instead, replaces it whole (config apply; config_version raised if it was left as it is, a
 * lower one is refused by the plan). `after` runs once the change is committed.
 */
export async function changeClusterConfig(
  options: ChangeOptions,
  change: { edit: (tree: ConfigTree) => void } | { text: string | NewText },
  after?: (client: CorolinkClient) => Promise<string>,
): Promise<void> {
  await withDaemon(options, async (client) => {
    const current = await client.configGet();
    const text = 'edit' in change ? editedText(current.text, change.edit) : await newText(change.text, current, client);
    if (text === undefined) {
      process.stderr.write('corolink: no change: nothing applied\n');
      return;
    }
    const preview = await client.configPropose(text, { force: options.force === true, dryRun: true });
    const human = !options.json;
    if (human) {
      process.stdout.write(`${lineDiff(current.text, text)}\n${formatPlan(preview.plan)}\n`);
      if (preview.probe.length > 0) process.stdout.write(`${formatProbe(preview.probe, nodeNames(text))}\n`);
    }
    if (!preview.plan.ok) {
      if (options.json) printJson({ ...preview, from_version: current.config_version, dry_run: true });
      throw new CliError(`refused: ${preview.plan.errors.join('; ')} (nothing changed)`, ExitCode.invalid);
    }
    if (options.dryRun) {
      if (options.json) printJson({ ...preview, from_version: current.config_version, dry_run: true });
      return;
    }
    if (!options.yes && !(await confirm('Apply this change to the whole cluster?'))) {
      throw new CliError('not applied: confirm with --yes (or answer y at the prompt)', ExitCode.usage);
    }
    const result = await client.configPropose(text, { force: options.force === true });
    if (!result.applied) {
      // The commit re-plans (and re-probes new links): what held a moment ago may not hold now.
      throw new CliError(`refused: ${result.plan.errors.join('; ')} (nothing changed)`, ExitCode.invalid);
    }
    const outcome = after ? await after(client) : '';
    if (options.json) printJson({ ...result, from_version: current.config_version, dry_run: false });
    else {
      process.stdout.write(`config_version ${current.config_version} → ${result.config_version}: applied\n${outcome}`);
    }
  });
}
