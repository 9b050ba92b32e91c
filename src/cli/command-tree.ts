/**
 * The command tree as plain data, read from commander's registered commands: the one source of the man pages
 * (scripts/build-man.ts) and the shell completions (`corolink completion`), so that they say what --help says.
 */
import type { EventEmitter } from 'node:events';
import type { Command } from 'commander';

export interface OptionNode {
  /** As written: `-c, --config <file>`. */
  flags: string;
  long?: string;
  short?: string;
  description: string;
  /** Takes a value (`<file>` or `[file]`). */
  takesValue: boolean;
}

export interface CommandNode {
  /** Words from the program's name: `['corolink', 'config', 'apply']`. */
  path: string[];
  description: string;
  /** `[options] <file>` */
  usage: string;
  arguments: { name: string; description: string; required: boolean }[];
  options: OptionNode[];
  /** The text `addHelpText('after', …)` adds to --help (examples, exit statuses). */
  after: string;
  subcommands: CommandNode[];
}

const HELP_OPTION: OptionNode = {
  flags: '-h, --help',
  long: '--help',
  short: '-h',
  description: 'display help for command',
  takesValue: false,
};

export function commandTree(command: Command, parent: string[] = []): CommandNode {
  const path = [...parent, command.name()];
  let after = '';
  // addHelpText registers listeners of this event (a Command is an EventEmitter); emitting it collects their text.
  (command as unknown as EventEmitter).emit('afterHelp', {
    error: false,
    command,
    write: (text: string) => (after += text),
  });
  return {
    path,
    description: command.description(),
    usage: command.usage(),
    arguments: command.registeredArguments.map((a) => ({
      name: a.name(),
      description: a.description,
      required: a.required,
    })),
    options: [
      ...command.options
        .filter((o) => !o.hidden)
        .map((o) => ({
          flags: o.flags,
          ...(o.long ? { long: o.long } : {}),
          ...(o.short ? { short: o.short } : {}),
          description: o.description,
          takesValue: o.required || o.optional,
        })),
      HELP_OPTION,
    ],
    after: after.trim(),
    subcommands: command.commands.map((c) => commandTree(c, path)),
  };
}

/** Every node of the tree, depth first, the root first. */
export function allCommands(node: CommandNode): CommandNode[] {
  return [node, ...node.subcommands.flatMap(allCommands)];
}
