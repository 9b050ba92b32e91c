/** `corolink link enable|disable <n>`: administratively enable or disable one of this node's links. */
import type { Command } from 'commander';
import { MAX_LINK_NUMBER } from '../../client/schema.ts';
import {
  addDaemonOptions,
  type DaemonCommandOptions,
  parseIntegerArgument,
  printJson,
  withDaemon,
} from '../daemon-call.ts';

function addSwitch(parent: Command, verb: 'enable' | 'disable'): void {
  addDaemonOptions(
    parent
      .command(verb)
      .argument('<link>', 'link number, 0–7')
      .description(`${verb} a link of the local node (peers see it go ${verb === 'enable' ? 'up' : 'down'})`)
      .addHelpText('after', `\nExample:\n  corolink link ${verb} 1`),
  ).action(async (linkText: string, options: DaemonCommandOptions) => {
    const link = parseIntegerArgument(linkText, 'link', 0, MAX_LINK_NUMBER);
    const result = await withDaemon(options, (client) => client.setLinkEnabled(link, verb === 'enable'));
    if (options.json) printJson(result);
    else process.stdout.write(`link${result.link}: ${result.enabled ? 'enabled' : 'disabled'}\n`);
  });
}

/** Registers `corolink link enable` and `corolink link disable`. */
export function register(program: Command): void {
  const link = program
    .command('link')
    .description("enable or disable one of the local node's links")
    .addHelpText('after', '\nExamples:\n  corolink link disable 0\n  corolink link enable 0');
  addSwitch(link, 'enable');
  addSwitch(link, 'disable');
}
