// The admin token file (issue 15, defect 3): made 0600 with O_EXCL|O_NOFOLLOW in a directory only the daemon's user
// can write; a file planted by another user, a symlink, a file other users can read, and a shared directory are
// refused with a clear error, and nothing is written through them.
import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { loadOrCreateToken, TokenFileError, tokenPathFor } from '../../src/web/token.ts';

const NOBODY = 65534;
const isRoot = process.geteuid?.() === 0;

describe('admin token file', () => {
  let dir: string;
  let path: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'corolink-token-'));
    path = tokenPathFor(join(dir, 'corolink.sock'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const refused = (pattern: RegExp) => (error: unknown) =>
    error instanceof TokenFileError && pattern.test(error.message);

  test('made 0600 on first use and reused afterwards; a malformed one is replaced', () => {
    const token = loadOrCreateToken(path);
    assert.match(token, /^[0-9a-f]{64}$/);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(loadOrCreateToken(path), token);
    writeFileSync(path, 'short\n', { mode: 0o600 });
    const replaced = loadOrCreateToken(path);
    assert.notEqual(replaced, token);
    assert.equal(readFileSync(path, 'utf8'), `${replaced}\n`);
  });

  test('a symlink at the token path is refused and its target left alone', () => {
    const target = join(dir, 'target');
    writeFileSync(target, 'precious\n');
    symlinkSync(target, path);
    assert.throws(() => loadOrCreateToken(path), refused(/admin token file .* is a symlink: remove it/));
    assert.equal(readFileSync(target, 'utf8'), 'precious\n');
  });

  test('a token file other users can read is refused', () => {
    writeFileSync(path, `${'a'.repeat(64)}\n`, { mode: 0o644 });
    chmodSync(path, 0o644);
    assert.throws(() => loadOrCreateToken(path), refused(/mode 0644\) is not the daemon's own 0600 file/));
  });

  test('a directory other users can write (like /tmp) is refused', () => {
    const shared = join(dir, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    assert.throws(
      () => loadOrCreateToken(join(shared, 'corolink.token')),
      refused(/can be written by another user, who could plant the token/),
    );
  });

  test('a token file planted by another user is refused', { skip: isRoot ? false : 'needs root (chown)' }, () => {
    writeFileSync(path, `${'b'.repeat(64)}\n`, { mode: 0o600 });
    chownSync(path, NOBODY, NOBODY);
    assert.throws(
      () => loadOrCreateToken(path),
      refused(new RegExp(`uid ${NOBODY}, mode 0600\\) is not the daemon's own`)),
    );
    assert.equal(statSync(path).uid, NOBODY, 'left as it was');
  });
});
