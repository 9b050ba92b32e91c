/** Reading a config file from disk. */
import { open } from 'node:fs/promises';
import { type CheckedConfig, checkConfigText } from './check.ts';
import { CONFIG_FILE_BYTES_MAX } from './defaults.ts';

/** Why a config of `bytes` bytes is not read (over CONFIG_FILE_BYTES_MAX), or undefined. */
export function configSizeProblem(bytes: number): string | undefined {
  return bytes > CONFIG_FILE_BYTES_MAX
    ? `it is ${bytes} bytes, over the ${CONFIG_FILE_BYTES_MAX}-byte limit of a config file`
    : undefined;
}

/** Reads a config file of at most CONFIG_FILE_BYTES_MAX bytes; rejects when it cannot be read or is larger. */
export async function readConfigFile(path: string): Promise<string> {
  const file = await open(path, 'r');
  try {
    const problem = configSizeProblem((await file.stat()).size);
    if (problem !== undefined) throw new Error(problem);
    return await file.readFile('utf8');
  } finally {
    await file.close();
  }
}

/** Reads, parses, models and validates a file. Rejects only when the file cannot be read (or is too large). */
export async function loadConfigFile(path: string): Promise<CheckedConfig> {
  return checkConfigText(await readConfigFile(path), path);
}
