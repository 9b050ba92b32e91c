/**
 * Adding and removing nodes, as `pvecm add` / `pvecm delnode` do (docs/reconfiguration.md § Adding and removing
 * nodes): `corolink join-token` on a member makes a one-time token; `corolink add <member> --link0 … --token …` on
 * the new host redeems it and writes the cluster's corosync.conf and authkey there; `corolink delnode` takes a
 * (powered-off) node out of the nodelist through the checked config-change flow.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { LINKS_MAX } from '../../base/limits.ts';
import { DEFAULT_AUTHKEY_PATH, DEFAULT_CONFIG_PATH, nodeSections, removeNode } from '../../config/index.ts';
import { writeFileAtomic } from '../../daemon/atomic-file.ts';
import { JoinError, parseJoinToken, requestJoin } from '../../daemon/join-protocol.ts';
import { addChangeOptions, type ChangeOptions, changeClusterConfig } from '../config-change.ts';
import {
  addDaemonOptions,
  type DaemonCommandOptions,
  parseIntegerArgument,
  printJson,
  withDaemon,
} from '../daemon-call.ts';
import { CliError, ExitCode } from '../exit-codes.ts';

const LINKS = Array.from({ length: LINKS_MAX }, (_, link) => link);
/** Join token lifetime: the default, and accepted values like `30m`, `2h`, `1d`. */
const DEFAULT_TTL = '1h';
const TTL_UNITS_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function parseTtl(text: string): number {
  const match = /^(\d+)([smhd])$/.exec(text.trim());
  if (!match) throw new CliError(`--ttl takes a duration like 30m, 2h or 1d, not '${text}'`, ExitCode.usage);
  return Number(match[1]) * TTL_UNITS_MS[match[2]!]!;
}

function registerJoinToken(program: Command): void {
  addDaemonOptions(
    program
      .command('join-token')
      .option('--ttl <duration>', 'how long the token is valid (s, m, h, d; at most 7d)', DEFAULT_TTL)
      .description('make a one-time token for `corolink add` on a new host (like the fingerprint pvecm add asks for)')
      .addHelpText('after', '\nExample:\n  corolink join-token --ttl 30m'),
  ).action(async (options: DaemonCommandOptions & { ttl: string }) => {
    const ttlMs = parseTtl(options.ttl);
    const created = await withDaemon(options, (client) => client.joinTokenCreate(ttlMs));
    if (options.json) {
      printJson(created);
      return;
    }
    process.stdout.write(
      [
        `Join token (one use, valid until ${created.expires}):`,
        created.token,
        `Cluster authkey fingerprint: ${created.fingerprint}`,
        'On the new host:',
        `  corolink add ${created.address} --link0 <its link0 address> [--link1 <its link1 address>] --token <token>`,
        '',
      ].join('\n'),
    );
  });
}

interface AddOptions {
  token: string;
  name?: string;
  votes?: string;
  config: string;
  authkey: string;
  force?: boolean;
  json?: boolean;
  [link: `link${number}`]: string | undefined;
}

function registerAdd(program: Command): void {
  const command = program
    .command('add')
    .argument('<member>', "address of a running member (its address on the cluster's lowest link)")
    .requiredOption('--token <token>', 'the join token from `corolink join-token` on a member')
    .option('--name <name>', "this node's name in the nodelist (default: the host name)")
    .option('--votes <n>', 'quorum votes of this node (default 1)')
    .option('-c, --config <file>', 'where to write the cluster config', DEFAULT_CONFIG_PATH)
    .option('-k, --authkey <file>', 'where to write the authkey', DEFAULT_AUTHKEY_PATH)
    .option('--force', 'overwrite an existing config and authkey on this host')
    .option('--json', 'print the result as JSON')
    .description('join this host to a running cluster (pvecm add): writes its corosync.conf and authkey')
    .addHelpText(
      'after',
      '\nExample:\n  corolink add 198.18.10.1 --link0 198.18.10.4 --link1 198.18.20.4 --token corolink-join-1.…\n  corolink daemon',
    );
  for (const link of LINKS) command.option(`--link${link} <address>`, `this node's address on link ${link}`);
  command.action(async (member: string, options: AddOptions) => {
    const addresses: Record<number, string> = {};
    for (const link of LINKS) {
      const address = options[`link${link}`];
      if (address !== undefined) addresses[link] = address;
    }
    if (addresses[0] === undefined) throw new CliError('give this node an address on link 0 (--link0)', ExitCode.usage);
    for (const path of [options.config, options.authkey]) {
      if (existsSync(path) && !options.force) {
        throw new CliError(`${path} exists: this host already has a cluster config (--force overwrites it)`);
      }
    }
    const votes = options.votes === undefined ? undefined : parseIntegerArgument(options.votes, 'votes', 1, 255);
    const name = options.name ?? hostname().split('.')[0]!;
    let joined: Awaited<ReturnType<typeof requestJoin>>;
    try {
      const token = parseJoinToken(options.token);
      joined = await requestJoin({
        host: member,
        token,
        request: { name, addresses, ...(votes === undefined ? {} : { votes }) },
      });
    } catch (error) {
      if (error instanceof JoinError) {
        const unavailable = error.code === 'unreachable' || error.code === 'timeout';
        // The member commits the node before its answer is checked here: on a mismatch it is in the nodelist.
        const outcome =
          error.code === 'fingerprint_mismatch'
            ? `nothing written here; the member may have added node ${name}: check \`corolink nodes\` there and delnode it`
            : 'nothing changed';
        throw new CliError(
          `join refused: ${error.message} (${outcome})`,
          unavailable ? ExitCode.unavailable : ExitCode.invalid,
        );
      }
      throw error;
    }
    try {
      for (const path of [options.config, options.authkey]) await mkdir(dirname(path), { recursive: true });
      writeFileAtomic(options.authkey, joined.authkey, 0o400);
      writeFileAtomic(options.config, joined.configText);
    } catch (error) {
      throw new CliError(
        `joined as nodeid ${joined.nodeId}, but cannot write the config: ${(error as Error).message}; remove the node with \`corolink delnode ${name}\` on a member and retry`,
        ExitCode.io,
      );
    }
    if (options.json) {
      printJson({ nodeid: joined.nodeId, name, config: options.config, authkey: options.authkey });
      return;
    }
    process.stdout.write(
      `joined: this host is node ${name} (nodeid ${joined.nodeId}); wrote ${options.config} and ${options.authkey}\n` +
        `start the daemon to take part: corolink daemon -c ${options.config} -k ${options.authkey}\n`,
    );
  });
}

function registerDelnode(program: Command): void {
  addChangeOptions(
    program
      .command('delnode')
      .argument('<node>', 'node name or nodeid')
      .description('remove a node from the cluster (pvecm delnode); power it off first')
      .addHelpText('after', '\nExample:\n  corolink delnode n4 --yes'),
  ).action(async (nodeText: string, options: ChangeOptions) => {
    const selector = /^\d+$/.test(nodeText) ? { nodeid: Number(nodeText) } : { name: nodeText };
    const status = await withDaemon(options, (client) => client.status());
    const member = status.members.find((m) =>
      'nodeid' in selector ? m.nodeid === selector.nodeid : m.name === nodeText,
    );
    // Refusals, not usage errors: exit 1 like every refused change (docs/cli.md).
    if (member?.local) {
      throw new CliError(`node ${nodeText} is this node: run delnode on another member`, ExitCode.invalid);
    }
    if (member !== undefined && !options.force) {
      throw new CliError(
        `node ${nodeText} is a member of the running cluster: power it off (stop its daemon) first, or --force (nothing changed)`,
        ExitCode.invalid,
      );
    }
    await changeClusterConfig(options, {
      edit: (tree) => {
        const known = nodeSections(tree).length;
        if (!removeNode(tree, selector)) {
          throw new CliError(`no node ${nodeText} in the nodelist (of ${known})`, ExitCode.invalid);
        }
      },
    });
  });
}

/** Registers `corolink join-token`, `corolink add` and `corolink delnode`. */
export function register(program: Command): void {
  registerJoinToken(program);
  registerAdd(program);
  registerDelnode(program);
}
