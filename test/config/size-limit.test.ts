// The config size limit (issue 15, defect 6): a 49 MB corosync.conf took 15.8 s and 2 GB to check; it is now refused
// before it is read, by `corolink config check` and by the daemon's loader, with the size and the limit named.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CONFIG_FILE_BYTES_MAX } from '../../src/config/defaults.ts';
import { loadConfigFile } from '../../src/config/index.ts';
import { CLI_ENTRY, VALID_CONFIG } from './helpers.ts';

const HUGE_BYTES = 49 * 1000 * 1000;
const dir = mkdtempSync(join(tmpdir(), 'corolink-size-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A file of `bytes` bytes: the valid config, padded with a sparse tail. */
function configOf(name: string, bytes: number): string {
  const path = join(dir, name);
  writeFileSync(path, VALID_CONFIG);
  truncateSync(path, bytes);
  return path;
}

describe('config size limit', () => {
  const limit = `over the ${CONFIG_FILE_BYTES_MAX}-byte limit of a config file`;

  test('a 49 MB config is refused by config check, naming its size and the limit', () => {
    const path = configOf('huge.conf', HUGE_BYTES);
    const run = spawnSync(process.execPath, [CLI_ENTRY, 'config', 'check', path], { encoding: 'utf8' });
    assert.notEqual(run.status, 0);
    assert.equal(run.stderr, `corolink: cannot read ${path}: it is ${HUGE_BYTES} bytes, ${limit}\n`);
  });

  test("the daemon's loader refuses one byte over the limit and reads a config at the limit", async () => {
    await assert.rejects(loadConfigFile(configOf('over.conf', CONFIG_FILE_BYTES_MAX + 1)), new RegExp(limit));
    const path = join(dir, 'at.conf');
    writeFileSync(path, VALID_CONFIG + '\n'.repeat(CONFIG_FILE_BYTES_MAX - Buffer.byteLength(VALID_CONFIG)));
    assert.equal((await loadConfigFile(path)).valid, true);
  });
});
