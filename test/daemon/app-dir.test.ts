// The application socket's folder is 0755 whatever made it: the unit's UMask=0077 (or RuntimeDirectoryMode=0700)
// would leave it closed to the users it is for, and a group/world-writable one is narrowed.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ensureAppDir } from '../../src/daemon/private-fs.ts';

describe('ensureAppDir', () => {
  const parent = mkdtempSync(join(tmpdir(), 'corolink-appdir-'));
  after(() => rmSync(parent, { recursive: true, force: true }));
  const mode = (path: string) => statSync(path).mode & 0o7777;

  test('made under umask 077 it is still 0755', () => {
    const old = process.umask(0o077);
    try {
      const dir = join(parent, 'made-app');
      assert.equal(ensureAppDir(dir, 'the application socket directory'), undefined);
      assert.equal(mode(dir), 0o755);
    } finally {
      process.umask(old);
    }
  });

  test('a 0700 one is opened to 0755; a 0777 one is narrowed to 0755 and says so', () => {
    const dir = join(parent, 'found-app');
    ensureAppDir(dir, 'd');
    chmodSync(dir, 0o700);
    ensureAppDir(dir, 'd');
    assert.equal(mode(dir), 0o755);
    chmodSync(dir, 0o777);
    assert.equal(ensureAppDir(dir, 'd'), `d ${dir} had mode 0777: narrowed to 0755`);
    assert.equal(mode(dir), 0o755);
  });
});
