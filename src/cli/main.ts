/**
 * The `corolink` command line: one program, subcommands registered from ./commands.
 * Every failure reaches the user as one line on stderr and a distinct exit code (./exit-codes.ts).
 */
import { CommanderError } from 'commander';
import { CliError, ExitCode } from './exit-codes.ts';
import { buildProgram } from './program.ts';

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
