/** Reading a config file from disk. */
import { open, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type CheckedConfig, checkConfigText } from './check.ts';
import { CONFIG_FILE_BYTES_MAX } from './defaults.ts';
import { type Diagnostic, diagnostic } from './diagnostics.ts';
import { buildModel } from './model.ts';
import { parseConfig } from './parse.ts';
import { UIDGID_DIR, type UidGidEntry } from './uidgid.ts';

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

/** The entries of every file in `uidgid.d/` beside `configPath` (none when the folder is missing), in name order. */
export async function loadUidgidDir(
  configPath: string,
): Promise<{ entries: UidGidEntry[]; diagnostics: Diagnostic[] }> {
  const dir = join(dirname(configPath), UIDGID_DIR);
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true }))
      .filter((entry) => entry.isFile() && !entry.name.startsWith('.'))
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], diagnostics: [] };
    throw error;
  }
  const entries: UidGidEntry[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const name of names) {
    const path = join(dir, name);
    const parsed = parseConfig(await readConfigFile(path), path);
    const model = buildModel(parsed.tree);
    diagnostics.push(...parsed.diagnostics, ...model.diagnostics.filter((d) => d.code === 'uidgid'));
    for (const section of model.config.sections.filter((s) => s !== 'uidgid')) {
      const position = model.config.sources[section] ?? { line: 1, column: 1 };
      diagnostics.push(diagnostic('error', 'uidgid', path, position, `only uidgid sections belong in ${dir}`));
    }
    entries.push(...model.config.uidgid);
  }
  return { entries, diagnostics };
}
