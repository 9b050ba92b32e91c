/**
 * `corolink create <cluster> --link0 ADDR[,priority=N] …`: the first node's corosync.conf (Proxmox layout, like
 * `pvecm create`) and a new authkey. Refuses to overwrite an existing config or key. The generated text goes
 * through the config engine's full check before anything is written.
 */
import { access, mkdir, unlink, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { type Command, Option } from 'commander';
import { LINK_NUMBER_MAX, LINK_PRIORITY_MAX, UINT32_MAX } from '../../base/limits.ts';
import {
  type ClusterSpec,
  checkConfigText,
  clusterConfigText,
  formatDiagnostic,
  type GeneratedNode,
} from '../../config/index.ts';
import { DEFAULT_AUTHKEY_PATH, DEFAULT_CONFIG_PATH } from '../../config/paths.ts';
import { AUTHKEY_BYTES, writeAuthkey } from '../authkey.ts';
import { parseIntegerArgument, printJson } from '../daemon-call.ts';
import { CliError, ExitCode } from '../exit-codes.ts';

/** Where `create` writes the config unless `-c` says otherwise. */
/** Proxmox's cluster name rule: 1–15 letters, digits or hyphens, starting with a letter or digit. */
const CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9-]{0,14}$/;
/** A node name: a host name label sequence (letters, digits, `-`, `.`). */
const NODE_NAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,61}[A-Za-z0-9])?$/;

/** One link of the new node: its address and, when given, the knet link priority. */
export interface NewLink {
  link: number;
  address: string;
  priority?: number;
}

/** Parses `ADDR[,priority=N]` (also `address=ADDR,…`, as pvecm accepts) for link `link`. */
export function parseLinkOption(link: number, text: string): NewLink {
  let address: string | undefined;
  let priority: number | undefined;
  for (const [index, part] of text.split(',').entries()) {
    const equals = part.indexOf('=');
    const key = equals < 0 ? (index === 0 ? 'address' : part) : part.slice(0, equals);
    const value = equals < 0 ? part : part.slice(equals + 1);
    if (key === 'address') address = value;
    else if (key === 'priority') priority = parseIntegerArgument(value, `--link${link} priority`, 0, LINK_PRIORITY_MAX);
    else throw new CliError(`--link${link}: unknown property '${key}' (expected ADDRESS[,priority=N])`, ExitCode.usage);
  }
  if (!address || isIP(address) === 0) {
    throw new CliError(`--link${link}: '${address ?? ''}' is not an IPv4 or IPv6 address`, ExitCode.usage);
  }
  return priority === undefined ? { link, address } : { link, address, priority };
}

interface CreateOptions {
  [linkOption: `link${number}`]: string | undefined;
  nodeid: string;
  votes: string;
  name?: string;
  config: string;
  authkey: string;
  mode: 'passive' | 'active' | 'rr';
  json?: boolean;
}

/** Turns the command line into the config engine's cluster description, rejecting bad values (usage error). */
function specFromOptions(clusterName: string, options: CreateOptions): ClusterSpec {
  if (!CLUSTER_NAME.test(clusterName)) {
    throw new CliError(
      `cluster name '${clusterName}' is invalid: use 1–15 letters, digits or '-', starting with a letter or digit`,
      ExitCode.usage,
    );
  }
  const nodeName = options.name ?? hostname().split('.')[0]!;
  if (!NODE_NAME.test(nodeName)) {
    throw new CliError(
      `node name '${nodeName}' is invalid: use letters, digits, '-' and '.' (give --name)`,
      ExitCode.usage,
    );
  }
  const links: NewLink[] = [];
  for (let link = 0; link <= LINK_NUMBER_MAX; link++) {
    const text = options[`link${link}`];
    if (text !== undefined) links.push(parseLinkOption(link, text));
  }
  if (links.length === 0)
    throw new CliError('give at least one link address, e.g. --link0 198.18.10.1', ExitCode.usage);
  const node: GeneratedNode = {
    nodeid: parseIntegerArgument(options.nodeid, '--nodeid', 1, UINT32_MAX),
    name: nodeName,
    votes: parseIntegerArgument(options.votes, '--votes', 1, UINT32_MAX),
    addresses: Object.fromEntries(links.map((link) => [link.link, link.address])),
  };
  return {
    clusterName,
    linkMode: options.mode,
    links: links.map(({ link, priority }) => (priority === undefined ? { link } : { link, priority })),
    nodes: [node],
  };
}

async function refuseExisting(path: string, what: string): Promise<void> {
  const exists = await access(path).then(
    () => true,
    () => false,
  );
  if (exists) {
    throw new CliError(`${path} already exists: refusing to overwrite the ${what} of an existing cluster`, ExitCode.io);
  }
}

/** Registers `corolink create`. */
export function register(program: Command): void {
  const command = program
    .command('create')
    .argument('<cluster>', 'cluster name (1–15 letters, digits or -)')
    .description("write the first node's corosync.conf and a new authkey (like pvecm create); never overwrites")
    .addHelpText(
      'after',
      '\nExample:\n  corolink create demo --link0 198.18.10.1 --link1 198.18.20.1,priority=10 --name n1 --nodeid 1',
    );
  for (let link = 0; link <= LINK_NUMBER_MAX; link++) {
    command.option(`--link${link} <address>`, `address of this node on link ${link}, optionally ,priority=0-255`);
  }
  command
    .option('--nodeid <id>', 'node id of this node', '1')
    .option('--votes <n>', 'quorum votes of this node', '1')
    .option('--name <name>', 'node name (default: the short host name)')
    .option('-c, --config <path>', 'where to write corosync.conf', DEFAULT_CONFIG_PATH)
    .option('-k, --authkey <path>', 'where to write the authkey', DEFAULT_AUTHKEY_PATH)
    .addOption(new Option('--mode <mode>', 'knet link mode').choices(['passive', 'active', 'rr']).default('passive'))
    .option('--json', 'print what was written as JSON')
    .action(async (clusterName: string, options: CreateOptions) => {
      const spec = specFromOptions(clusterName, options);
      const text = clusterConfigText(spec);
      const checked = checkConfigText(text, options.config);
      if (!checked.valid) {
        const firstError = checked.diagnostics.find((d) => d.severity === 'error')!;
        throw new CliError(`the generated config is invalid: ${formatDiagnostic(firstError)}`, ExitCode.usage);
      }
      for (const warning of checked.diagnostics) process.stderr.write(`corolink: warning: ${warning.message}\n`);
      await refuseExisting(options.config, 'corosync.conf');
      await refuseExisting(options.authkey, 'authkey');
      await writeAuthkey(options.authkey);
      try {
        await mkdir(dirname(options.config), { recursive: true });
        await writeFile(options.config, text, { flag: 'wx', mode: 0o644 });
      } catch (error) {
        await unlink(options.authkey).catch(() => undefined);
        const reason = (error as NodeJS.ErrnoException).code ?? String(error);
        throw new CliError(`cannot write ${options.config}: ${reason}`, ExitCode.io);
      }
      const node = spec.nodes[0]!;
      const written = {
        config: options.config,
        authkey: options.authkey,
        cluster: spec.clusterName,
        node: { name: node.name, nodeid: node.nodeid, votes: node.votes },
        links: spec.links.map((link) => ({ ...link, address: node.addresses[link.link] })),
      };
      if (options.json) {
        printJson(written);
        return;
      }
      process.stdout.write(
        `wrote ${options.config}: cluster ${spec.clusterName}, node ${node.name} (nodeid ${node.nodeid}), ` +
          `links ${spec.links.map((link) => link.link).join(',')}\n` +
          `wrote ${options.authkey}: ${AUTHKEY_BYTES} random bytes, mode 0400\n`,
      );
    });
}
