/**
 * `corolink logs [-n N] [-f [--exit]]`: the daemon's recent log lines; `-f` keeps printing new ones until Ctrl-C
 * (across daemon restarts), or with `--exit` until the daemon is gone.
 * `corolink logs --reopen`: the daemon reopens its log file (after logrotate moved it; SIGHUP does the same).
 */
import type { Command } from 'commander';
import type { CorolinkClient } from '../../client/client.ts';
import { LOG_LINES_MAX, type LogRecord } from '../../ipc/schema.ts';
import {
  addDaemonOptions,
  type DaemonCommandOptions,
  parseIntegerArgument,
  runUntilInterrupted,
  withDaemon,
} from '../daemon-call.ts';
import { CliError, ExitCode } from '../exit-codes.ts';

/** Lines shown when `-n` is not given. */
const DEFAULT_LINES = 50;

interface LogsOptions extends DaemonCommandOptions {
  lines: string;
  follow?: boolean;
  exit?: boolean;
  reopen?: boolean;
}

/** `-f --exit`: resolves when the daemon closes the connection (it stopped or crashed), or on Ctrl-C. */
function untilDaemonGone(client: CorolinkClient): Promise<void> {
  return new Promise((resolve) => {
    const finish = () => {
      process.off('SIGINT', finish);
      process.off('SIGTERM', finish);
      resolve();
    };
    process.once('SIGINT', finish);
    process.once('SIGTERM', finish);
    client.once('closed', () => {
      process.stderr.write('corolink: the daemon is gone: stopped following (--exit)\n');
      finish();
    });
  });
}

function printRecord(record: LogRecord, json: boolean | undefined): void {
  process.stdout.write(`${json ? JSON.stringify(record) : record.text}\n`);
}

const recordKey = (record: LogRecord) => `${record.time}\u0000${record.text}`;

/** Registers `corolink logs`. */
export function register(program: Command): void {
  addDaemonOptions(
    program
      .command('logs')
      .description('print the last log lines of the daemon (--json: one JSON object per line)')
      .option('-n, --lines <count>', 'how many recent lines', String(DEFAULT_LINES))
      .option('-f, --follow', 'keep printing new lines until Ctrl-C (survives a daemon restart)')
      .option('--exit', 'with -f: stop (exit 0) when the daemon is gone instead of waiting for it to come back')
      .option('--reopen', 'make the daemon reopen its log file at its path (after logrotate moved it)')
      .addHelpText(
        'after',
        '\nExamples:\n  corolink logs -n 20\n  corolink logs -f    # watch links fail over live\n  corolink logs -f --exit\n  corolink logs --reopen',
      ),
  ).action(async (options: LogsOptions) => {
    if (options.reopen) {
      const { reopened } = (await withDaemon(options, (client) => client.call('logReopen'))) as { reopened: boolean };
      if (!options.json) process.stdout.write(reopened ? 'log file reopened\n' : 'the daemon writes no log file\n');
      else process.stdout.write(`${JSON.stringify({ reopened })}\n`);
      return;
    }
    const lines = parseIntegerArgument(options.lines, 'lines', 1, LOG_LINES_MAX);
    if (options.exit && !options.follow) throw new CliError('--exit goes with -f (--follow)', ExitCode.usage);
    if (!options.follow) {
      const records = await withDaemon(options, (client) => client.logs({ lines }));
      for (const record of records) printRecord(record, options.json);
      return;
    }
    await withDaemon(
      options,
      async (client) => {
        // Subscribe first and hold new lines until the history is printed, so nothing falls in between.
        const early: LogRecord[] = [];
        let live = false;
        await client.onLog((record) => {
          if (live) printRecord(record, options.json);
          else early.push(record);
        });
        const history = await client.logs({ lines });
        for (const record of history) printRecord(record, options.json);
        const printed = new Set(history.map(recordKey));
        for (const record of early) if (!printed.has(recordKey(record))) printRecord(record, options.json);
        live = true;
        await (options.exit ? untilDaemonGone(client) : runUntilInterrupted(client));
      },
      { reconnect: !options.exit },
    );
  });
}
