/**
 * `corolink ha …`: ha-manager for corolink (docs/ha.md "Admin tools") through the local daemon. `status` and
 * `config` read; `add|remove|set|migrate|relocate`, `group add|set|remove` and `node maintenance` change the
 * cluster-wide HA state and return once the change was agreed. Nodes are named by name or nodeid (nodelist).
 */
import type { Command } from 'commander';
import type { CorolinkClient } from '../../client/client.ts';
import { HA_REQUESTED_STATES, HA_RETRIES_MAX } from '../../ipc/methods.ts';
import type { ConfiguredNode } from '../../ipc/schema.ts';
import {
  addDaemonOptions,
  type DaemonCommandOptions,
  parseIntegerArgument,
  printJson,
  withDaemon,
} from '../daemon-call.ts';
import { CliError, ExitCode } from '../exit-codes.ts';
import { haStatusText } from '../format/ha.ts';
import { groupSection, type HaResourceOptions, hasGroup, resourceSection } from '../ha-sections.ts';

/** Highest node priority of a group's `--nodes n1:PRIORITY`. */
const HA_NODE_PRIORITY_MAX = 1000;
/** Longest command timeout `ha add --timeout` takes, seconds (one hour). */
const HA_TIMEOUT_SECONDS_MAX = 3600;

/** The nodelist entry named by `text` (its name or its nodeid); a usage error listing the nodes otherwise. */
export function resolveNode(nodes: readonly ConfiguredNode[], text: string): ConfiguredNode {
  const byId = /^\d+$/.test(text) ? nodes.find((node) => node.nodeid === Number(text)) : undefined;
  const node = byId ?? nodes.find((candidate) => candidate.name === text);
  if (node === undefined) {
    const known = nodes.map((n) => n.name || String(n.nodeid)).join(', ');
    throw new CliError(`no node '${text}' in the nodelist (nodes: ${known})`, ExitCode.usage);
  }
  return node;
}

async function nodeId(client: CorolinkClient, text: string): Promise<number> {
  return resolveNode((await client.status()).nodes, text).nodeid;
}

/** `n1:2,n2` → `['n1:2', 'n2']` with every node resolved to its nodelist name (its id when it has none). */
async function groupNodes(client: CorolinkClient, list: string): Promise<string[]> {
  const { nodes } = await client.status();
  return list.split(',').map((entry) => {
    const match = /^([^:\s]+)(?::(\d+))?$/.exec(entry.trim());
    if (!match) throw new CliError(`--nodes takes NODE[:PRIORITY],… got '${entry}'`, ExitCode.usage);
    const node = resolveNode(nodes, match[1]!);
    const name = node.name || String(node.nodeid);
    return match[2] === undefined
      ? name
      : `${name}:${parseIntegerArgument(match[2], 'priority', 0, HA_NODE_PRIORITY_MAX)}`;
  });
}

function requestedState(text: string | undefined): string | undefined {
  if (text !== undefined && !(HA_REQUESTED_STATES as readonly string[]).includes(text)) {
    throw new CliError(`--state must be one of ${HA_REQUESTED_STATES.join(', ')}, got '${text}'`, ExitCode.usage);
  }
  return text;
}

const retries = (text: string | undefined, name: string) =>
  text === undefined ? undefined : parseIntegerArgument(text, name, 0, HA_RETRIES_MAX);

/** Adds the settings every resource takes (`ha add` and `ha set`). */
function addSettingOptions(command: Command): Command {
  return command
    .option('--state <state>', `requested state: ${HA_REQUESTED_STATES.join(', ')} (default started)`)
    .option('--max-restart <n>', 'restarts on the same node after a failed start (default 1)')
    .option('--max-relocate <n>', 'relocations to another node after the restarts failed (default 1)')
    .option('--group <name>', 'the group it belongs to (placement rules, start order)')
    .option('--comment <text>', 'a free comment');
}

function done(options: DaemonCommandOptions, result: Record<string, unknown>): void {
  if (options.json) printJson({ ok: true, ...result });
}

function registerStatus(ha: Command): void {
  addDaemonOptions(
    ha
      .command('status')
      .option('--verbose', "each service's requested state, counts and last message; the counters")
      .description(
        "show quorum, the manager node, each node's local manager and each service (exit 2 when not quorate)",
      )
      .addHelpText(
        'after',
        '\nExamples:\n  corolink ha status\n  corolink ha status --verbose\n  corolink ha status --json',
      ),
  ).action(async (options: DaemonCommandOptions & { verbose?: boolean }) => {
    const status = await withDaemon(options, (client) => client.ha.status());
    if (options.json) printJson(status);
    else process.stdout.write(haStatusText(status, { date: new Date() }, options.verbose === true));
    if (!status.quorate) process.exitCode = ExitCode.notQuorate;
  });
  addDaemonOptions(
    ha
      .command('config')
      .description('print the HA resources and groups (ha/resources.cfg)')
      .addHelpText('after', '\nExample:\n  corolink ha config'),
  ).action(async (options: DaemonCommandOptions) => {
    const text = await withDaemon(options, (client) => client.ha.resources());
    if (options.json) printJson({ text });
    else process.stdout.write(text);
  });
}

function registerResourceVerbs(ha: Command): void {
  addDaemonOptions(
    addSettingOptions(
      ha
        .command('add')
        .argument('<sid>', 'service id TYPE:NAME (exec:web, systemd:nginx, ip:vip)')
        .description('add an HA resource (exec: --start/--stop/--monitor; systemd: --unit; ip: --address/--interface)'),
    )
      .option('--start <command>', 'exec: the start command')
      .option('--stop <command>', 'exec: the stop command')
      .option('--monitor <command>', 'exec: the monitor command (exit 0 running, 7 not running)')
      .option('--user <user>', 'exec: run the commands as this user')
      .option('--timeout <seconds>', 'longest time one start/stop may take')
      .option('--monitor-interval <seconds>', 'how often the monitor runs while started (default 10)')
      .option('--monitor-timeout <seconds>', 'longest time one monitor may take (default 10)')
      .option('--unit <unit>', 'systemd: the unit name')
      .option('--address <cidr>', 'ip: the floating address with its prefix, e.g. 198.18.100.100/24')
      .option('--interface <name>', 'ip: the interface it is added to')
      .addHelpText(
        'after',
        '\nExamples:\n' +
          '  corolink ha add ip:vip --address 198.18.100.100/24 --interface eth2 --group web\n' +
          "  corolink ha add exec:web --start '/usr/local/bin/web start' --stop '/usr/local/bin/web stop' \\\n" +
          "      --monitor '/usr/local/bin/web status' --user www-data --group web\n" +
          '  corolink ha add systemd:nginx --unit nginx.service --max-restart 2',
      ),
  ).action(async (sid: string, options: DaemonCommandOptions & HaResourceOptions) => {
    requestedState(options.state);
    retries(options.maxRestart, 'max-restart');
    retries(options.maxRelocate, 'max-relocate');
    for (const [value, name] of [
      [options.timeout, 'timeout'],
      [options.monitorInterval, 'monitor-interval'],
      [options.monitorTimeout, 'monitor-timeout'],
    ] as const) {
      if (value !== undefined) parseIntegerArgument(value, name, 1, HA_TIMEOUT_SECONDS_MAX);
    }
    const section = resourceSection(sid, options);
    await withDaemon(options, (client) => client.ha.add(section));
    done(options, { sid, section });
  });
  addDaemonOptions(
    ha
      .command('remove')
      .argument('<sid>', 'service id TYPE:NAME')
      .description('stop an HA resource and remove it')
      .addHelpText('after', '\nExample:\n  corolink ha remove exec:web'),
  ).action(async (sid: string, options: DaemonCommandOptions) => {
    await withDaemon(options, (client) => client.ha.remove(sid));
    done(options, { sid });
  });
  addDaemonOptions(
    addSettingOptions(
      ha
        .command('set')
        .argument('<sid>', 'service id TYPE:NAME')
        .description("change a resource's settings (state disabled then started clears an error)"),
    ).addHelpText(
      'after',
      '\nExamples:\n  corolink ha set exec:web --state disabled\n  corolink ha set exec:web --state started --max-restart 3',
    ),
  ).action(async (sid: string, options: DaemonCommandOptions & HaResourceOptions) => {
    const state = requestedState(options.state) as 'started' | undefined;
    const maxRestart = retries(options.maxRestart, 'max-restart');
    const maxRelocate = retries(options.maxRelocate, 'max-relocate');
    const settings = {
      ...(state === undefined ? {} : { state }),
      ...(maxRestart === undefined ? {} : { maxRestart }),
      ...(maxRelocate === undefined ? {} : { maxRelocate }),
      ...(options.group === undefined ? {} : { group: options.group }),
      ...(options.comment === undefined ? {} : { comment: options.comment }),
    };
    if (Object.keys(settings).length === 0) {
      throw new CliError('give at least one of --state, --max-restart, --max-relocate, --group, --comment');
    }
    await withDaemon(options, (client) => client.ha.set(sid, settings));
    done(options, { sid, ...settings });
  });
  for (const verb of ['migrate', 'relocate'] as const) {
    addDaemonOptions(
      ha
        .command(verb)
        .argument('<sid>', 'service id TYPE:NAME')
        .argument('<node>', 'target node: name or nodeid')
        .description(
          verb === 'migrate'
            ? 'move a service to a node (stop here, start there)'
            : 'move a service to a node by a stop and a fresh start (ha-manager relocate)',
        )
        .addHelpText('after', `\nExample:\n  corolink ha ${verb} exec:web n2`),
    ).action(async (sid: string, nodeText: string, options: DaemonCommandOptions) => {
      const node = await withDaemon(options, async (client) => {
        const id = await nodeId(client, nodeText);
        await (verb === 'migrate' ? client.ha.migrate(sid, id) : client.ha.relocate(sid, id));
        return id;
      });
      done(options, { sid, nodeid: node });
    });
  }
}

function registerGroups(ha: Command): void {
  const group = ha
    .command('group')
    .description('add, replace or remove an HA group (resources started in order on one node, node priorities)')
    .addHelpText(
      'after',
      '\nExamples:\n  corolink ha group add web --resources ip:vip,exec:web --nodes n1:2,n2,n3\n  corolink ha group remove web',
    );
  for (const verb of ['add', 'set'] as const) {
    addDaemonOptions(
      group
        .command(verb)
        .argument('<name>', 'group name')
        .option('--resources <sids>', 'service ids, comma-separated, in start order (stopped in reverse)')
        .option('--nodes <nodes>', 'NODE[:PRIORITY],… preferred nodes (name or nodeid), higher priority first')
        .option('--restricted', 'run only on the listed nodes')
        .option('--nofailback', 'stay where it runs when a higher-priority node comes back')
        .option('--comment <text>', 'a free comment')
        .description(verb === 'add' ? 'add a group' : "replace a group's definition with the one given")
        .addHelpText(
          'after',
          `\nExample:\n  corolink ha group ${verb} web --resources ip:vip,exec:web --nodes n1:2,n2 --nofailback`,
        ),
    ).action(
      async (
        name: string,
        options: DaemonCommandOptions & {
          resources?: string;
          nodes?: string;
          restricted?: boolean;
          nofailback?: boolean;
          comment?: string;
        },
      ) => {
        const section = await withDaemon(options, async (client) => {
          const exists = hasGroup(await client.ha.resources(), name);
          if (verb === 'add' && exists) throw new CliError(`group ${name} exists: change it with ha group set`);
          if (verb === 'set' && !exists) throw new CliError(`no group ${name}: add it with ha group add`);
          const text = groupSection(name, {
            ...(options.resources === undefined
              ? {}
              : { resources: options.resources.split(',').map((s) => s.trim()) }),
            ...(options.nodes === undefined ? {} : { nodes: await groupNodes(client, options.nodes) }),
            restricted: options.restricted === true,
            nofailback: options.nofailback === true,
            ...(options.comment === undefined ? {} : { comment: options.comment }),
          });
          await client.ha.groupSet(text);
          return text;
        });
        done(options, { group: name, section });
      },
    );
  }
  addDaemonOptions(
    group
      .command('remove')
      .argument('<name>', 'group name')
      .description('remove a group (its resources stay, without placement rules)')
      .addHelpText('after', '\nExample:\n  corolink ha group remove web'),
  ).action(async (name: string, options: DaemonCommandOptions) => {
    await withDaemon(options, (client) => client.ha.groupRemove(name));
    done(options, { group: name });
  });
}

function registerNode(ha: Command): void {
  const node = ha.command('node').description('HA state of a node');
  addDaemonOptions(
    node
      .command('maintenance')
      .argument('<node>', 'name or nodeid')
      .argument('<mode>', 'on (move its services away and keep them off) or off')
      .description('put a node in HA maintenance or take it out')
      .addHelpText('after', '\nExamples:\n  corolink ha node maintenance n1 on\n  corolink ha node maintenance n1 off'),
  ).action(async (nodeText: string, mode: string, options: DaemonCommandOptions) => {
    if (mode !== 'on' && mode !== 'off') throw new CliError(`mode must be on or off, got '${mode}'`);
    const on = mode === 'on';
    const id = await withDaemon(options, async (client) => {
      const nodeid = await nodeId(client, nodeText);
      await client.ha.nodeMaintenance(nodeid, on);
      return nodeid;
    });
    done(options, { nodeid: id, maintenance: on });
  });
}

/** Registers `corolink ha`. */
export function register(program: Command): void {
  const ha = program
    .command('ha')
    .description('HA services (like ha-manager): status, resources, groups, migration, node maintenance')
    .addHelpText(
      'after',
      '\nExamples:\n  corolink ha status\n  corolink ha add ip:vip --address 198.18.100.100/24 --interface eth2\n' +
        '  corolink ha migrate ip:vip n2\n  corolink ha node maintenance n1 on',
    );
  registerStatus(ha);
  registerResourceVerbs(ha);
  registerGroups(ha);
  registerNode(ha);
}
