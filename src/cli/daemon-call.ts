/**
 * What every daemon-facing command shares: the `--socket`/`--json` options, connecting through the client
 * library, turning its typed errors into one-line `CliError`s with the documented exit codes, and waiting for
 * Ctrl-C in follow modes.
 */
import type { Command } from 'commander';
import { type ClientOptions, CorolinkClient, resolveSocketPath } from '../client/client.ts';
import {
  BackpressureError,
  CallTimeoutError,
  ClientClosedError,
  CorolinkError,
  DaemonRequestError,
  DaemonUnavailableError,
  InvalidArgumentError,
} from '../client/errors.ts';
import { CliError, ExitCode } from './exit-codes.ts';

/** The options `addDaemonOptions` adds. */
export interface DaemonCommandOptions {
  socket?: string;
  json?: boolean;
}

/** The help of `--socket PATH` (client.ts `resolveSocketPath`). */
export const SOCKET_OPTION_HELP =
  "the daemon's socket (default: $COROLINK_SOCKET or /run/corolink/corolink.sock; for a user who may not enter its folder, the application socket beside it)";

/** Adds `--socket PATH` and `--json` to a command. */
export function addDaemonOptions(command: Command): Command {
  return command
    .option('--socket <path>', SOCKET_OPTION_HELP)
    .option('--json', 'print the result as JSON (the versioned contract, docs/status.schema.json)');
}

/** Exit code for an error code the daemon answered with. */
function exitCodeForDaemonError(code: string): number {
  if (code === 'not_quorate') return ExitCode.notQuorate;
  if (code === 'bad_request') return ExitCode.usage;
  if (code === 'internal') return ExitCode.internal;
  return ExitCode.invalid;
}

/** Turns a client-library error into the one line and exit code the user sees; other errors pass through. */
export function toCliError(error: unknown): unknown {
  if (error instanceof DaemonUnavailableError) {
    return new CliError(`${error.message} (is it running?)`, ExitCode.unavailable);
  }
  if (error instanceof CallTimeoutError || error instanceof ClientClosedError || error instanceof BackpressureError) {
    return new CliError(error.message, ExitCode.unavailable);
  }
  if (error instanceof InvalidArgumentError) return new CliError(error.message, ExitCode.usage);
  if (error instanceof DaemonRequestError) {
    return new CliError(`${error.method}: ${error.message}`, exitCodeForDaemonError(error.code));
  }
  if (error instanceof CorolinkError) return new CliError(error.message, ExitCode.internal);
  return error;
}

/**
 * Connects to the daemon, runs `action`, closes the connection. One-shot commands do not reconnect; follow
 * modes pass `{ reconnect: true }` and survive a daemon restart. The CLI speaks JSON lines, the framing a
 * script with `socat` speaks too (docs/contracts.md "Framing"), so every CLI test covers that path.
 */
export async function withDaemon<T>(
  options: DaemonCommandOptions,
  action: (client: CorolinkClient) => Promise<T>,
  clientOptions: Omit<ClientOptions, 'socket'> = { reconnect: false },
): Promise<T> {
  let client: CorolinkClient | undefined;
  try {
    client = await CorolinkClient.connect({
      ...clientOptions,
      socket: resolveSocketPath(options.socket),
      framing: 'json-lines',
    });
    return await action(client);
  } catch (error) {
    throw toCliError(error);
  } finally {
    client?.close();
  }
}

/**
 * For follow modes: resolves on Ctrl-C (SIGINT) or SIGTERM, rejects when the client closes for good; reports
 * disconnects and reconnects on stderr.
 */
export function runUntilInterrupted(client: CorolinkClient): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDisconnected = (error: DaemonUnavailableError) =>
      process.stderr.write(`corolink: ${error.message}; reconnecting\n`);
    const onReconnected = () => process.stderr.write('corolink: reconnected\n');
    const detach = () => {
      process.off('SIGINT', finish);
      process.off('SIGTERM', finish);
      client.off('disconnected', onDisconnected);
      client.off('reconnected', onReconnected);
      client.off('closed', onClosed);
    };
    const finish = () => {
      detach();
      resolve();
    };
    const onClosed = (error: CorolinkError | undefined) => {
      detach();
      if (error) reject(error);
      else resolve();
    };
    process.once('SIGINT', finish);
    process.once('SIGTERM', finish);
    client.on('disconnected', onDisconnected);
    client.on('reconnected', onReconnected);
    client.once('closed', onClosed);
  });
}

/** Prints a value as pretty JSON on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Parses an integer argument in [min, max]; anything else is a usage error naming the argument. */
export function parseIntegerArgument(text: string, name: string, min: number, max: number): number {
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new CliError(`${name} must be an integer from ${min} to ${max}, got '${text}'`, ExitCode.usage);
  }
  return value;
}
