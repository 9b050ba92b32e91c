/**
 * The subcommands, loaded on demand: `corolink status` imports only status.ts and what it needs, so a quick
 * command starts fast and the long-running daemon does not carry every other command's code. Add one line per
 * command module (each exports `register(program)`).
 */
import type { Command } from 'commander';

type CommandModule = { register(program: Command): void };

/** One module registers `join-token`, `add` and `delnode`. */
const joinCommands = () => import('./join.ts');

const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  start: () => import('./start.ts'),
  config: () => import('./config.ts'),
  keygen: () => import('./keygen.ts'),
  status: () => import('./status.ts'),
  nodes: () => import('./nodes.ts'),
  links: () => import('./links.ts'),
  quorum: () => import('./quorum.ts'),
  expected: () => import('./expected.ts'),
  votes: () => import('./votes.ts'),
  shutdown: () => import('./shutdown.ts'),
  kill: () => import('./kill.ts'),
  cmap: () => import('./cmap.ts'),
  qdevice: () => import('./qdevice.ts'),
  link: () => import('./link.ts'),
  logs: () => import('./logs.ts'),
  create: () => import('./create.ts'),
  cpg: () => import('./cpg.ts'),
  cfs: () => import('./cfs.ts'),
  ha: () => import('./ha.ts'),
  'join-token': joinCommands,
  add: joinCommands,
  delnode: joinCommands,
  daemon: () => import('./daemon.ts'),
  'ha-watchdog': () => import('./ha-watchdog.ts'),
  lab: () => import('./lab.ts'),
  completion: () => import('./completion.ts'),
};

/** Registers the command named by the first non-option argument, or every command (for help and errors). */
export async function registerCommands(program: Command, argv: readonly string[]): Promise<void> {
  const name = argv.find((arg) => !arg.startsWith('-'));
  const selected = name !== undefined && Object.hasOwn(COMMANDS, name) ? [name] : Object.keys(COMMANDS);
  // A module that registers several commands is loaded (and registers) once.
  for (const load of new Set(selected.map((command) => COMMANDS[command]!))) (await load()).register(program);
}
