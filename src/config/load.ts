/** Reading a config file from disk. */
import { readFile } from 'node:fs/promises';
import { type CheckedConfig, checkConfigText } from './check.ts';

/** Reads, parses, models and validates a file. Rejects only when the file cannot be read. */
export async function loadConfigFile(path: string): Promise<CheckedConfig> {
  return checkConfigText(await readFile(path, 'utf8'), path);
}
