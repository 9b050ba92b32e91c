/**
 * The `corolink` command line: one program, subcommands registered from ./commands.
 * Every failure reaches the user as one line on stderr and a distinct exit code (./exit-codes.ts).
 */
import { CommanderError } from 'commander';
import { CliError, ExitCode } from './exit-codes.ts';
import { buildProgram } from './program.ts';

/** Commander's prefix of its own error messages, replaced by ours so that every error reads the same. */
const PARSER_ERROR_PREFIX = /^error: /;

/** True when the command line asks for JSON (`--json` before any `--`): errors are then JSON too. */
function jsonRequested(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/**
 * Prints an error the one way every command does: `corolink: message` on stderr, or with `--json`
 * `{"error":{"code":<exit code>,"message":…}}` as one line on stderr (stdout carries only results).
 */
function printError(message: string, exitCode: number, json: boolean): void {
  process.stderr.write(json ? `${JSON.stringify({ error: { code: exitCode, message } })}\n` : `corolink: ${message}\n`);
}

/**
 * A reader that stops early (`corolink status --help | head -1`) closes the pipe: the rest of the output has no
 * one to read it, so the command ends quietly, as coreutils do on SIGPIPE, instead of crashing on EPIPE.
 */
function exitQuietlyOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(ExitCode.ok);
  });
}

export async function main(argv: string[]): Promise<number> {
  exitQuietlyOnClosedPipe(process.stdout);
  const program = await buildProgram(argv);
  const json = jsonRequested(argv);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are "errors" to commander; they already printed their text.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return ExitCode.ok;
      if (error.code === 'commander.help') return ExitCode.ok;
      printError(`${error.message.replace(PARSER_ERROR_PREFIX, '')} (run with --help for usage)`, ExitCode.usage, json);
      return ExitCode.usage;
    }
    if (error instanceof CliError) {
      printError(error.message, error.exitCode, json);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    printError(`internal error: ${message}`, ExitCode.internal, json);
    if (process.env.COROLINK_DEBUG) console.error(error);
    return ExitCode.internal;
  }
}

process.exitCode = await main(process.argv.slice(2));
