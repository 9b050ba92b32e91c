/** The list of subcommands. Each module exports `register(program)`; add one line per command module. */
import type { Command } from 'commander';
import { register as registerStart } from './start.ts';

export function registerCommands(program: Command): void {
  registerStart(program);
}
