/**
 * `corolink cpg join|watch|send <group>`: small tools over the client library's CPG groups, for demos and the lab.
 * `join` holds a membership and prints membership changes; `watch` also prints every message; `send` joins,
 * multicasts one text and leaves.
 */
import type { Command } from 'commander';
import type { CpgAddress, CpgConfchg, CpgGroup, CpgMessage } from '../../client/cpg-group.ts';
import {
  addDaemonOptions,
  type DaemonCommandOptions,
  printJson,
  runUntilInterrupted,
  withDaemon,
} from '../daemon-call.ts';

const address = (member: CpgAddress) => `${member.nodeid}/${member.pid}`;
const addresses = (list: readonly CpgAddress[]) => (list.length === 0 ? '-' : list.map(address).join(' '));

/** One line for a membership change: `confchg members 1/812 2/77 joined 2/77 left -`. */
export function confchgLine(change: CpgConfchg): string {
  return `confchg members ${addresses(change.members)} joined ${addresses(change.joined)} left ${addresses(change.left)}`;
}

/** One line for a delivered message: `message 2/77: hello` (the data printed as UTF-8). */
export function messageLine(message: CpgMessage): string {
  return `message ${address(message)}: ${Buffer.from(message.data).toString('utf8')}`;
}

function printConfchg(change: CpgConfchg, json: boolean | undefined): void {
  process.stdout.write(`${json ? JSON.stringify({ type: 'confchg', ...change }) : confchgLine(change)}\n`);
}

function printMessage(message: CpgMessage, json: boolean | undefined): void {
  const data = Buffer.from(message.data);
  const record = { type: 'message', nodeid: message.nodeid, pid: message.pid, data: data.toString('base64') };
  process.stdout.write(`${json ? JSON.stringify({ ...record, text: data.toString('utf8') }) : messageLine(message)}\n`);
}

/** Joins `name`, prints its membership changes (and messages when `showMessages`) until Ctrl-C, then leaves. */
async function stayInGroup(name: string, options: DaemonCommandOptions, showMessages: boolean): Promise<void> {
  await withDaemon(
    options,
    async (client) => {
      const group: CpgGroup = await client.cpgJoin(name);
      group.on('confchg', (change) => printConfchg(change, options.json));
      if (showMessages) group.on('message', (message) => printMessage(message, options.json));
      await runUntilInterrupted(client);
      if (client.connected) await group.leave();
    },
    { reconnect: true },
  );
}

/** Registers `corolink cpg join|watch|send`. */
export function register(program: Command): void {
  const cpg = program
    .command('cpg')
    .description('join, watch or send to a closed process group (CPG) through the local daemon')
    .addHelpText(
      'after',
      '\nExamples:\n  corolink cpg watch demo          # on every node\n  corolink cpg send demo "hello"   # on any node',
    );
  addDaemonOptions(
    cpg
      .command('join')
      .argument('<group>', 'group name (1–128 bytes)')
      .description('join a group and print its membership changes until Ctrl-C')
      .addHelpText('after', '\nExample:\n  corolink cpg join demo'),
  ).action((group: string, options: DaemonCommandOptions) => stayInGroup(group, options, false));
  addDaemonOptions(
    cpg
      .command('watch')
      .argument('<group>', 'group name (1–128 bytes)')
      .description('join a group and print every message and membership change until Ctrl-C')
      .addHelpText('after', '\nExample:\n  corolink cpg watch demo --json'),
  ).action((group: string, options: DaemonCommandOptions) => stayInGroup(group, options, true));
  addDaemonOptions(
    cpg
      .command('send')
      .argument('<group>', 'group name (1–128 bytes)')
      .argument('<text>', 'the message, sent as UTF-8')
      .description('join a group, multicast one message to it, leave')
      .addHelpText('after', '\nExample:\n  corolink cpg send demo "hello from n1"'),
  ).action(async (group: string, text: string, options: DaemonCommandOptions) => {
    await withDaemon(options, async (client) => {
      const joined = await client.cpgJoin(group);
      await joined.send(text);
      await joined.leave();
    });
    if (options.json) printJson({ group, sent: Buffer.byteLength(text, 'utf8') });
  });
}
