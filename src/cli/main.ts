/**
 * The `corolink` command line: one program, subcommands registered from ./commands.
 * Every failure reaches the user as one line on stderr and a distinct exit code (./exit-codes.ts).
 */
import { Command, CommanderError } from 'commander';
import { registerCommands } from './commands/index.ts';
import { CliError, ExitCode } from './exit-codes.ts';

/** The program with the commands `argv` needs (all of them when it names none). */
export async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command('corolink')
    .description('corolink: a redundant-link cluster engine (corosync.conf, knet-style links, Totem, votequorum)')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  await registerCommands(program, argv);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(argv);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are "errors" to commander; they already printed their text.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return ExitCode.ok;
      if (error.code === 'commander.help') return ExitCode.ok;
      return ExitCode.usage;
    }
    if (error instanceof CliError) {
      process.stderr.write(`corolink: ${error.message}\n`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`corolink: internal error: ${message}\n`);
    if (process.env.COROLINK_DEBUG) console.error(error);
    return ExitCode.internal;
  }
}

process.exitCode = await main(process.argv.slice(2));
