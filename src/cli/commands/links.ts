/** `corolink links`: every local link and every peer × link with its state and statistics. */
import type { Command } from 'commander';
import { addDaemonOptions, type DaemonCommandOptions, printJson, withDaemon } from '../daemon-call.ts';
import { ExitCode } from '../exit-codes.ts';
import { hasFaultyLink, linksText } from '../format/links.ts';

/** Registers `corolink links`. */
export function register(program: Command): void {
  addDaemonOptions(
    program
      .command('links')
      .description(
        'show every link to every peer: address, state, active (carries the traffic), enabled, connected, priority, ' +
          'latency, down count, MTU, reason (exit 1 when a link is down)',
      )
      .addHelpText('after', '\nExamples:\n  corolink links\n  corolink links --json'),
  ).action(async (options: DaemonCommandOptions) => {
    const links = await withDaemon(options, async (client) => {
      const links = await client.links();
      if (options.json) {
        printJson(links);
        return links;
      }
      const status = await client.status();
      const names = new Map(status.nodes.map((node) => [node.nodeid, node.name]));
      process.stdout.write(linksText(links, { names, transport: status.cluster.transport }));
      return links;
    });
    if (hasFaultyLink(links)) process.exitCode = ExitCode.faultyLink;
  });
}
