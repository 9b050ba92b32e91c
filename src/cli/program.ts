/** The `corolink` command tree (no side effects: main.ts runs it; the man pages and completions read it). */
import { Command } from 'commander';
import { VERSION } from '../base/version.ts';
import { registerCommands } from './commands/index.ts';

/** The program with the commands `argv` needs (all of them when it names none). */
export async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command('corolink')
    .description('corolink: a redundant-link cluster engine (corosync.conf, knet-style links, Totem, votequorum)')
    .version(VERSION)
    // Parser errors are printed by `main` like every other error (commands inherit this setting).
    .configureOutput({ outputError: () => {} })
    .exitOverride();
  await registerCommands(program, argv);
  return program;
}
