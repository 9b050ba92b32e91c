/**
 * Files only the daemon's user may read (docs/security.md, "Local users"): the state and runtime directories are
 * 0700 and the files in them 0600, set explicitly (never left to the umask); a wrong mode found at start, left by an
 * older version or a hand-made directory, is narrowed and reported; a path owned by another user, a symlink, or a
 * shared (sticky) directory is refused, since another user could then replace what the daemon reads.
 */
import { chmodSync, closeSync, constants, fchmodSync, lstatSync, mkdirSync, openSync, type Stats } from 'node:fs';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;
/** The application socket's directory: others may enter it, only the daemon's user may change it. */
export const APP_DIR_MODE = 0o755;
/** Mode bits that let the group or others in. */
const SHARED_BITS = 0o077;
/** S_ISVTX: a shared directory where everyone may create files (/tmp). */
const STICKY_BIT = 0o1000;

/** A path the daemon cannot keep private: one line naming the path and what to do. */
export class PrivatePathError extends Error {}

const octal = (mode: number) => `0${(mode & 0o7777).toString(8)}`;

/** Refuses a path owned by someone else (root may use its own paths only, too). */
function checkOwner(path: string, stats: Stats, what: string): void {
  const uid = process.geteuid?.() ?? stats.uid;
  if (stats.uid !== uid) {
    throw new PrivatePathError(
      `${what} ${path} is owned by uid ${stats.uid}, not by this daemon's uid ${uid}: another user could change it; remove it or chown it`,
    );
  }
}

/**
 * Makes `path` a directory only this user can enter (creating it and its parents as needed). Returns a note when an
 * existing directory's mode was narrowed; throws PrivatePathError for a symlink, a non-directory, a directory owned
 * by another user, or a shared sticky directory such as /tmp.
 */
export function ensurePrivateDir(path: string, what: string): string | undefined {
  return ensureDir(path, what, PRIVATE_DIR_MODE);
}

/**
 * Like ensurePrivateDir, for a directory others may enter but not change: mode 0755 exactly, also under a umask
 * (the unit's UMask=0077) or a RuntimeDirectoryMode that made it 0700.
 */
export function ensureAppDir(path: string, what: string): string | undefined {
  const note = ensureDir(path, what, APP_DIR_MODE);
  if ((lstatSync(path).mode & 0o7777) !== APP_DIR_MODE) chmodSync(path, APP_DIR_MODE);
  return note;
}

function ensureDir(path: string, what: string, mode: number): string | undefined {
  mkdirSync(path, { recursive: true, mode });
  const stats = lstatSync(path);
  if (!stats.isDirectory()) throw new PrivatePathError(`${what} ${path} is not a directory (a symlink or a file)`);
  checkOwner(path, stats, what);
  if ((stats.mode & SHARED_BITS & ~mode) === 0) return undefined;
  if ((stats.mode & STICKY_BIT) !== 0) {
    throw new PrivatePathError(
      `${what} ${path} is a shared directory (mode ${octal(stats.mode)}): other users could plant files in it; use a directory of its own`,
    );
  }
  chmodSync(path, mode);
  return `${what} ${path} had mode ${octal(stats.mode)}: narrowed to ${octal(mode)}`;
}

/**
 * Makes `path` a regular file of this user with mode 0600: created empty (O_EXCL|O_NOFOLLOW) when missing and
 * `create`, narrowed when it is wider (the note says so). Throws PrivatePathError for a symlink, a non-file or
 * another user's file.
 */
export function ensurePrivateFile(path: string, what: string, options: { create: boolean }): string | undefined {
  let stats: Stats;
  try {
    stats = lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    if (!options.create) return undefined;
    const fd = openSync(
      path,
      constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW,
      PRIVATE_FILE_MODE,
    );
    try {
      fchmodSync(fd, PRIVATE_FILE_MODE);
    } finally {
      closeSync(fd);
    }
    return undefined;
  }
  if (!stats.isFile()) throw new PrivatePathError(`${what} ${path} is not a regular file (a symlink or a device)`);
  checkOwner(path, stats, what);
  if ((stats.mode & SHARED_BITS) === 0) return undefined;
  chmodSync(path, PRIVATE_FILE_MODE);
  return `${what} ${path} had mode ${octal(stats.mode)}: narrowed to ${octal(PRIVATE_FILE_MODE)}`;
}

/** The problem with a secret file's mode (group or others may read it), or undefined. Like ssh with a private key. */
export function secretModeProblem(path: string, stats: Stats): string | undefined {
  if ((stats.mode & SHARED_BITS) === 0) return undefined;
  return `${path} has mode ${octal(stats.mode)}: other users can read the cluster key; chmod 0400 ${path}`;
}
