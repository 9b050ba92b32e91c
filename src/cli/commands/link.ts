/**
 * `corolink link enable|disable <n>` (this node, administrative) and the cluster-wide link changes
 * `link add|remove|priority`, which go through the checked config-change flow (src/cli/config-change.ts).
 */
import type { Command } from 'commander';
import { LINK_NUMBER_MAX, LINK_PRIORITY_MAX } from '../../base/limits.ts';
import type { CorolinkClient } from '../../client/client.ts';
import { addLink, removeLink, setLinkOption } from '../../config/index.ts';
import { addChangeOptions, type ChangeOptions, changeClusterConfig } from '../config-change.ts';
import {
  addDaemonOptions,
  type DaemonCommandOptions,
  parseIntegerArgument,
  printJson,
  withDaemon,
} from '../daemon-call.ts';
import { CliError, ExitCode } from '../exit-codes.ts';

/** How long `link add` waits for the new link to come up to every member before it reports. */
const LINK_UP_WAIT_MS = 15_000;
const LINK_UP_POLL_MS = 200;

function addSwitch(parent: Command, verb: 'enable' | 'disable'): void {
  addDaemonOptions(
    parent
      .command(verb)
      .argument('<link>', `link number, 0–${LINK_NUMBER_MAX}`)
      .description(`${verb} a link of the local node (peers see it go ${verb === 'enable' ? 'up' : 'down'})`)
      .addHelpText('after', `\nExample:\n  corolink link ${verb} 1`),
  ).action(async (linkText: string, options: DaemonCommandOptions) => {
    const link = parseIntegerArgument(linkText, 'link', 0, LINK_NUMBER_MAX);
    const result = await withDaemon(options, (client) => client.setLinkEnabled(link, verb === 'enable'));
    if (options.json) printJson(result);
    else process.stdout.write(`link${result.link}: ${result.enabled ? 'enabled' : 'disabled'}\n`);
  });
}

/** `--addr n1=198.18.20.1` (node name or nodeid) → { n1: '198.18.20.1' }. */
function parseAddresses(values: string[]): Record<string, string> {
  const addresses: Record<string, string> = {};
  for (const value of values) {
    const match = /^([^=\s]+)=(\S+)$/.exec(value);
    if (!match) throw new CliError(`--addr takes NODE=ADDRESS (node name or id), got '${value}'`, ExitCode.usage);
    if (addresses[match[1]!] !== undefined) throw new CliError(`--addr names node '${match[1]}' twice`, ExitCode.usage);
    addresses[match[1]!] = match[2]!;
  }
  return addresses;
}

/** Waits (bounded) until this node sees `link` UP to every other member; returns `link0: UP`-style lines. */
async function waitForLinkUp(client: CorolinkClient, link: number): Promise<string> {
  const deadline = Date.now() + LINK_UP_WAIT_MS;
  for (;;) {
    const status = await client.status();
    const peers = status.members.filter((m) => !m.local);
    const states = peers.map((m) => ({ name: m.name, state: m.links.find((l) => l.link === link)?.state ?? 'DOWN' }));
    if (states.every((s) => s.state === 'UP') || Date.now() >= deadline) {
      const lines = states.map((s) => `  ${s.name} link${link}: ${s.state}\n`).join('');
      const late = states.filter((s) => s.state !== 'UP').map((s) => s.name);
      return late.length === 0
        ? lines
        : `${lines}warning: link${link} is not up to ${late.join(', ')} after ${LINK_UP_WAIT_MS / 1000} s: check the cabling and addresses (corolink link remove ${link} undoes it)\n`;
    }
    await new Promise((resolve) => setTimeout(resolve, LINK_UP_POLL_MS));
  }
}

function registerClusterVerbs(link: Command): void {
  addChangeOptions(
    link
      .command('add')
      .argument('<link>', `link number, 0–${LINK_NUMBER_MAX}`)
      .requiredOption('--addr <node=address...>', 'the address of every node on the new link (repeat per node)')
      .option('--priority <n>', 'knet_link_priority of the new link (passive mode: highest carries the traffic)')
      .description('add a link to the running cluster: every node opens it live (config_version is bumped)')
      .addHelpText(
        'after',
        '\nExample:\n  corolink link add 1 --addr n1=198.18.20.1 --addr n2=198.18.20.2 --addr n3=198.18.20.3 --yes',
      ),
  ).action(async (linkText: string, options: ChangeOptions & { addr: string[]; priority?: string }) => {
    const number = parseIntegerArgument(linkText, 'link', 0, LINK_NUMBER_MAX);
    const addresses = parseAddresses(options.addr);
    const extra: Record<string, string> = {};
    if (options.priority !== undefined) {
      extra.knet_link_priority = String(parseIntegerArgument(options.priority, 'priority', 0, LINK_PRIORITY_MAX));
    }
    await changeClusterConfig(options, { edit: (tree) => addLink(tree, number, addresses, extra) }, (client) =>
      waitForLinkUp(client, number),
    );
  });
  addChangeOptions(
    link
      .command('remove')
      .argument('<link>', `link number, 0–${LINK_NUMBER_MAX}`)
      .description('remove a link from the running cluster (refused if a pair of nodes would have no link left)')
      .addHelpText('after', '\nExample:\n  corolink link remove 1 --yes'),
  ).action(async (linkText: string, options: ChangeOptions) => {
    const number = parseIntegerArgument(linkText, 'link', 0, LINK_NUMBER_MAX);
    await changeClusterConfig(options, { edit: (tree) => removeLink(tree, number) });
  });
  addChangeOptions(
    link
      .command('priority')
      .argument('<link>', `link number, 0–${LINK_NUMBER_MAX}`)
      .argument('<priority>', `knet_link_priority, 0–${LINK_PRIORITY_MAX}`)
      .description('change the priority of a link cluster-wide, live')
      .addHelpText('after', '\nExample:\n  corolink link priority 1 20 --yes'),
  ).action(async (linkText: string, priorityText: string, options: ChangeOptions) => {
    const number = parseIntegerArgument(linkText, 'link', 0, LINK_NUMBER_MAX);
    const priority = parseIntegerArgument(priorityText, 'priority', 0, LINK_PRIORITY_MAX);
    await changeClusterConfig(options, {
      edit: (tree) => setLinkOption(tree, number, 'knet_link_priority', String(priority)),
    });
  });
}

/** Registers `corolink link enable|disable|add|remove|priority`. */
export function register(program: Command): void {
  const link = program
    .command('link')
    .description('enable or disable a link of this node; add, remove or re-prioritise a link of the cluster')
    .addHelpText(
      'after',
      '\nExamples:\n  corolink link disable 0\n  corolink link enable 0\n  corolink link add 1 --addr n1=198.18.20.1 --addr n2=198.18.20.2 --yes\n  corolink link priority 1 20 --yes',
    );
  addSwitch(link, 'enable');
  addSwitch(link, 'disable');
  registerClusterVerbs(link);
}
