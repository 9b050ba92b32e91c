/**
 * `corolink cfs ls|get|put|rm`: the replicated cluster file store (docs/cfs.md) through the local daemon.
 * Reads answer from the node's copy (also when not quorate); writes need quorum and return once committed here.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { addDaemonOptions, type DaemonCommandOptions, printJson, withDaemon } from '../daemon-call.ts';
import { CliError, ExitCode } from '../exit-codes.ts';

/** Reads a whole stream (stdin for `put PATH` without FILE). */
async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

async function readInput(file: string | undefined): Promise<Buffer> {
  if (file === undefined || file === '-') return readAll(process.stdin);
  try {
    return await readFile(file);
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`, ExitCode.io);
  }
}

/** Registers `corolink cfs`. */
export function register(program: Command): void {
  const cfs = program
    .command('cfs')
    .description('read and write the replicated cluster file store')
    .addHelpText(
      'after',
      '\nExamples:\n  corolink cfs put nodes/n1/app.conf ./app.conf\n  corolink cfs get nodes/n1/app.conf\n  corolink cfs ls nodes/',
    );
  addDaemonOptions(
    cfs
      .command('ls')
      .argument('[prefix]', 'only paths starting with this')
      .description('list files: size, version, mtime, path'),
  ).action(async (prefix: string | undefined, options: DaemonCommandOptions) => {
    const entries = await withDaemon(options, (client) => client.cfsLs(prefix));
    if (options.json) return printJson(entries);
    for (const e of entries) {
      process.stdout.write(
        `${String(e.size).padStart(8)} ${String(e.version).padStart(6)} ${new Date(e.mtime).toISOString()} ${e.path}\n`,
      );
    }
  });
  addDaemonOptions(
    cfs.command('get').argument('<path>', 'file path, e.g. nodes/n1/app.conf').description('print a file to stdout'),
  ).action(async (path: string, options: DaemonCommandOptions) => {
    const file = await withDaemon(options, (client) => client.cfsGet(path));
    if (options.json) printJson({ ...file, data: Buffer.from(file.data).toString('base64') });
    else process.stdout.write(file.data);
  });
  addDaemonOptions(
    cfs
      .command('put')
      .argument('<path>', 'file path in the store')
      .argument('[file]', 'local file to store (default: stdin)')
      .description('write a file cluster-wide (needs quorum)'),
  ).action(async (path: string, file: string | undefined, options: DaemonCommandOptions) => {
    const data = await readInput(file);
    const result = await withDaemon(options, (client) => client.cfsPut(path, data));
    if (options.json) printJson(result);
  });
  addDaemonOptions(
    cfs
      .command('rm')
      .argument('<path>', 'file path in the store')
      .description('remove a file cluster-wide (needs quorum)'),
  ).action(async (path: string, options: DaemonCommandOptions) => {
    const result = await withDaemon(options, (client) => client.cfsRm(path));
    if (options.json) printJson(result);
  });
}
