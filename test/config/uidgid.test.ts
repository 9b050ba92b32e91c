/** `uidgid { uid: … gid: … }` in corosync.conf and in uidgid.d/: names or ids, every mistake with file:line:col. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { checkConfigText, formatDiagnostic, loadUidgidDir } from '../../src/config/index.ts';
import { VALID_CONFIG } from './helpers.ts';

const errorsOf = (text: string) =>
  checkConfigText(text, 'c.conf')
    .diagnostics.filter((d) => d.severity === 'error')
    .map(formatDiagnostic);

describe('uidgid sections', () => {
  test('names and ids are read, with where they were written', () => {
    const checked = checkConfigText(
      `${VALID_CONFIG}uidgid {\n  uid: nobody\n  gid: 1001\n}\nuidgid {\n  gid: apps\n}\n`,
      'c.conf',
    );
    assert.deepEqual(
      checked.diagnostics.filter((d) => d.code === 'uidgid'),
      [],
    );
    assert.deepEqual(
      checked.config.uidgid.map((e) => [e.uid?.value, e.gid?.value]),
      [
        ['nobody', '1001'],
        [undefined, 'apps'],
      ],
    );
    const lines = VALID_CONFIG.split('\n').length;
    assert.deepEqual(checked.config.uidgid[0]?.uid?.position, { line: lines + 1, column: 8 });
  });

  test('a bad value, an unknown key, an empty section: errors at file:line:col', () => {
    const lines = VALID_CONFIG.split('\n').length;
    const text = `${VALID_CONFIG}uidgid {\n  uid: bad name\n  gid: 4294967295\n  user: x\n}\nuidgid {\n}\n`;
    assert.deepEqual(errorsOf(text), [
      `c.conf:${lines + 1}:8: error: uid: 'bad name' is neither a user name (letters, digits, _ . -, at most 32) nor a number`,
      `c.conf:${lines + 2}:8: error: gid: 4294967295 is out of range (0–4294967294)`,
      `c.conf:${lines + 3}:3: error: unknown key 'user' in uidgid (it holds uid: and gid:)`,
      `c.conf:${lines + 5}:1: error: uidgid names no uid: or gid: (it lets nobody in)`,
    ]);
  });
});

describe('uidgid.d beside the config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'corolink-uidgid-'));
  const configPath = join(dir, 'corosync.conf');
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('no folder: no entries', async () => {
    assert.deepEqual(await loadUidgidDir(configPath), { entries: [], diagnostics: [] });
  });

  test('every file in name order; a bad entry or another section is an error naming the file, line and column', async () => {
    mkdirSync(join(dir, 'uidgid.d'));
    writeFileSync(join(dir, 'uidgid.d', 'b-web'), 'uidgid {\n  gid: www-data\n}\n');
    writeFileSync(join(dir, 'uidgid.d', 'a-apps'), 'uidgid {\n  uid: nobody\n}\n');
    writeFileSync(join(dir, 'uidgid.d', '.hidden'), 'not read {\n');
    const good = await loadUidgidDir(configPath);
    assert.deepEqual(good.diagnostics, []);
    assert.deepEqual(
      good.entries.map((e) => e.uid?.value ?? e.gid?.value),
      ['nobody', 'www-data'],
    );
    writeFileSync(join(dir, 'uidgid.d', 'c-bad'), '# bad\nuidgid {\n  uid: -1\n}\ntotem {\n}\n');
    const bad = await loadUidgidDir(configPath);
    const file = join(dir, 'uidgid.d', 'c-bad');
    assert.deepEqual(bad.diagnostics.map(formatDiagnostic), [
      `${file}:3:8: error: uid: '-1' is neither a user name (letters, digits, _ . -, at most 32) nor a number`,
      `${file}:5:1: error: only uidgid sections belong in ${join(dir, 'uidgid.d')}`,
    ]);
  });
});
