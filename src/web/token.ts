/**
 * The admin token of the HTTP API: state-changing requests must carry `Authorization: Bearer <token>`. The token
 * lives in a 0600 file next to the admin socket (`/run/corolink/corolink.sock` → `/run/corolink/corolink.token`),
 * generated on the first start and reused afterwards (docs/dashboard.md). Since whoever wrote the file knows the
 * token, it is used only from a directory no other user can write, only when it is a regular file (not a symlink)
 * of the daemon's user with mode 0600, and created with O_EXCL|O_NOFOLLOW (docs/security.md).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  lstatSync,
  openSync,
  readFileSync,
  rmSync,
  type Stats,
  writeSync,
} from 'node:fs';
import { dirname, join, parse } from 'node:path';

const TOKEN_BYTES = 32;
const TOKEN_MODE = 0o600;
/** A stored token must look like one we generate (hex, at least 128 bits). */
const TOKEN_PATTERN = /^[0-9a-f]{32,}$/;
/** Mode bits that let another user write a directory, or read or write a token file. */
const DIR_SHARED_BITS = 0o022;
const FILE_SHARED_BITS = 0o077;

/** A token file or directory that someone else could have made or could change: refused, with what to do. */
export class TokenFileError extends Error {}

/** The token file that belongs to an admin socket path. */
export function tokenPathFor(socketPath: string): string {
  const { dir, name } = parse(socketPath);
  return join(dir, `${name}.token`);
}

const octal = (mode: number) => `0${(mode & 0o7777).toString(8)}`;
const uid = () => process.geteuid?.() ?? 0;

function checkDirectory(dir: string): void {
  const stats = lstatSync(dir);
  if (!stats.isDirectory()) throw new TokenFileError(`the admin token directory ${dir} is not a directory`);
  if (stats.uid !== uid() || (stats.mode & DIR_SHARED_BITS) !== 0) {
    throw new TokenFileError(
      `the admin token directory ${dir} (uid ${stats.uid}, mode ${octal(stats.mode)}) can be written by another user, who could plant the token: put the admin socket in a directory of the daemon's own (like /run/corolink)`,
    );
  }
}

function checkFile(path: string, stats: Stats): void {
  if (!stats.isFile()) throw new TokenFileError(`the admin token file ${path} is not a regular file: remove it`);
  if (stats.uid !== uid() || (stats.mode & FILE_SHARED_BITS) !== 0) {
    throw new TokenFileError(
      `the admin token file ${path} (uid ${stats.uid}, mode ${octal(stats.mode)}) is not the daemon's own 0600 file: another user may know its token; remove it and restart`,
    );
  }
}

/** The stored token, undefined when there is none or it is malformed; refuses a file someone else controls. */
function readToken(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new TokenFileError(`the admin token file ${path} is a symlink: remove it`);
    throw error;
  }
  try {
    checkFile(path, fstatSync(fd));
    const stored = readFileSync(fd, 'utf8').trim();
    return TOKEN_PATTERN.test(stored) ? stored : undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads the token file, or creates it (mode 0600, O_EXCL|O_NOFOLLOW) with a fresh random token when it is missing or
 * malformed. Throws TokenFileError for a directory another user can write, a symlink, or a file that is not the
 * daemon's own 0600 file.
 */
export function loadOrCreateToken(path: string): string {
  checkDirectory(dirname(path));
  const stored = readToken(path);
  if (stored !== undefined) return stored;
  rmSync(path, { force: true });
  const token = randomBytes(TOKEN_BYTES).toString('hex');
  const fd = openSync(
    path,
    constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW,
    TOKEN_MODE,
  );
  try {
    fchmodSync(fd, TOKEN_MODE);
    writeSync(fd, `${token}\n`);
  } finally {
    closeSync(fd);
  }
  return token;
}

/** Whether an `Authorization` header carries the token (constant-time comparison). */
export function authorized(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (!match) return false;
  const given = Buffer.from(match[1]!);
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
