/**
 * The admin token of the HTTP API: state-changing requests must carry `Authorization: Bearer <token>`. The token
 * lives in a 0600 file next to the admin socket (`/run/corolink/corolink.sock` → `/run/corolink/corolink.token`),
 * generated on the first start and reused afterwards (docs/dashboard.md).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, parse } from 'node:path';

const TOKEN_BYTES = 32;
const TOKEN_MODE = 0o600;
/** A stored token must look like one we generate (hex, at least 128 bits). */
const TOKEN_PATTERN = /^[0-9a-f]{32,}$/;

/** The token file that belongs to an admin socket path. */
export function tokenPathFor(socketPath: string): string {
  const { dir, name } = parse(socketPath);
  return join(dir, `${name}.token`);
}

/** Reads the token file, or creates it (mode 0600) with a fresh random token when it is missing or malformed. */
export function loadOrCreateToken(path: string): string {
  try {
    const stored = readFileSync(path, 'utf8').trim();
    if (TOKEN_PATTERN.test(stored)) {
      chmodSync(path, TOKEN_MODE);
      return stored;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const token = randomBytes(TOKEN_BYTES).toString('hex');
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${token}\n`, { mode: TOKEN_MODE });
  chmodSync(path, TOKEN_MODE);
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
