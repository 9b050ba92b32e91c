/** `corolink status`: `pvecm status` (cluster, quorum, votequorum, membership) plus the link status of every node. */
import type { Command } from 'commander';
import { addDaemonOptions, type DaemonCommandOptions, printJson, withDaemon } from '../daemon-call.ts';
import { ExitCode } from '../exit-codes.ts';
import { clusterLinksText } from '../format/cluster-links.ts';
import { statusText } from '../format/status.ts';

/** Registers `corolink status`. */
export function register(program: Command): void {
  addDaemonOptions(
    program
      .command('status')
      .description(
        'show cluster, quorum and membership information and the state of every link (exit 2 when not quorate)',
      )
      .option('--cluster', "add every member's view of every link, gathered through the ring (one-way cuts show)")
      .addHelpText(
        'after',
        '\nExamples:\n  corolink status\n  corolink status --cluster\n  corolink status --json | jq .quorum',
      ),
  ).action(async (options: DaemonCommandOptions & { cluster?: boolean }) => {
    const [status, clusterLinks] = await withDaemon(options, (client) =>
      Promise.all([client.status(), options.cluster ? client.clusterLinks() : undefined]),
    );
    if (options.json) printJson(clusterLinks === undefined ? status : { ...status, cluster_links: clusterLinks });
    else {
      process.stdout.write(statusText(status, { date: new Date() }));
      if (clusterLinks !== undefined) process.stdout.write(`\n${clusterLinksText(clusterLinks)}`);
    }
    if (!status.quorum.quorate) process.exitCode = ExitCode.notQuorate;
  });
}
