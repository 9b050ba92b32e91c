// packaging/corolink.service as systemd reads it: `systemd-analyze verify` finds nothing to say, the man pages of
// its Documentation= included (MANPATH: the generated man/). The binary path is pointed at this checkout's bin
// (the unit names the installed /usr/bin/corolink).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const unit = readFileSync(join(root, 'packaging/corolink.service'), 'utf8');

test('systemd-analyze verify is clean', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'corolink-unit-'));
  try {
    const path = join(dir, 'corolink.service');
    writeFileSync(path, unit.replaceAll('/usr/bin/corolink', join(root, 'bin/corolink.mjs')));
    await run(process.execPath, ['--import', 'tsx', 'scripts/build-man.ts'], { cwd: root });
    const { stdout, stderr } = await run('systemd-analyze', ['verify', path], {
      env: { ...process.env, MANPATH: join(root, 'man') },
    });
    assert.equal(`${stdout}${stderr}`, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the unit is a notify service with a watchdog, a reload and its directories', () => {
  for (const line of [
    'Type=notify',
    'WatchdogSec=30',
    'RuntimeDirectory=corolink',
    'StateDirectory=corolink',
    'LogsDirectory=corolink',
    'Documentation=man:corolink(8) man:corolink.conf(5)',
    'ExecReload=/usr/bin/corolink config apply /etc/corolink/corosync.conf --yes --socket /run/corolink/corolink.sock',
  ]) {
    assert.ok(unit.split('\n').includes(line), `${line} in the unit`);
  }
});

test('no setting is given twice in a section (systemd keeps the last one silently)', () => {
  // Settings that are lists (each line adds) may repeat.
  const LIST_SETTINGS = new Set(['ConditionPathExists', 'Documentation', 'Wants', 'After', 'ReadWritePaths']);
  let section = '';
  const seen = new Set<string>();
  for (const line of unit.split('\n')) {
    if (line.startsWith('[')) section = line;
    const key = /^(\w+)=/.exec(line)?.[1];
    if (key === undefined || LIST_SETTINGS.has(key)) continue;
    assert.ok(!seen.has(`${section}${key}`), `${key}= twice in ${section}`);
    seen.add(`${section}${key}`);
  }
});
