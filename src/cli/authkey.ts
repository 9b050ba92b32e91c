/** Writing a new cluster authkey: random bytes, mode 0400, never replacing an existing key unless asked. */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CliError, ExitCode } from './exit-codes.ts';

/** Where corolink's commands put and look for the authkey by default. */
/** Size of a new authkey: what `corosync-keygen` makes. */
export const AUTHKEY_BYTES = 256;
/** Only the owner (root) may read the key. */
export const AUTHKEY_MODE = 0o400;

/** Options of `writeAuthkey`. */
export interface WriteAuthkeyOptions {
  /** Replace an existing file (atomically, through a temporary file and rename). Default false. */
  force?: boolean;
}

function fsErrorReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EEXIST') return 'the file already exists';
  return code ?? (error instanceof Error ? error.message : String(error));
}

/**
 * Writes `AUTHKEY_BYTES` random bytes to `path` with mode 0400, creating missing directories (mode 0700).
 * Throws a `CliError` (ExitCode.io) when the file exists and `force` is not set, or cannot be written.
 */
export async function writeAuthkey(path: string, options: WriteAuthkeyOptions = {}): Promise<void> {
  const key = randomBytes(AUTHKEY_BYTES);
  const target = options.force ? `${path}.new-${process.pid}` : path;
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFile(target, key, { flag: 'wx', mode: AUTHKEY_MODE });
    await chmod(target, AUTHKEY_MODE); // exactly 0400 whatever the umask
    if (target !== path) await rename(target, path);
  } catch (error) {
    if (target !== path) await unlink(target).catch(() => undefined);
    throw new CliError(`cannot write authkey ${path}: ${fsErrorReason(error)}`, ExitCode.io);
  }
}
