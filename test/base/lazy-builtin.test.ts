import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { lazyBuiltin } from '../../src/base/lazy-module.ts';

const BIN = fileURLToPath(new URL('../../bin/corolink.mjs', import.meta.url));
/** The built-ins the daemon loads only in the configurations that use them (src/base/lazy-module.ts). */
const ON_FIRST_USE = ['dns', 'tls', 'worker_threads', 'zlib'];

/**
 * The built-in modules loaded by `corolink daemon --help` (which loads the daemon's whole module graph, the
 * transport's node:dgram included), read at exit by a preload — plain JavaScript, not tsx, whose loader thread
 * would load node:worker_threads itself.
 */
function builtinsLoadedByTheDaemon(): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'corolink-builtins-'));
  try {
    const preload = join(dir, 'preload.mjs');
    writeFileSync(
      preload,
      `process.on('exit', () => process.stderr.write('\\nLOADED ' + JSON.stringify(process.moduleLoadList)));\n`,
    );
    const { stderr, status } = spawnSync(process.execPath, ['--import', preload, BIN, 'daemon', '--help'], {
      encoding: 'utf8',
    });
    assert.equal(status, 0, stderr);
    const list = JSON.parse(/\nLOADED (.*)$/.exec(stderr)?.[1] ?? '[]') as string[];
    return list.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('lazyBuiltin', () => {
  it('loads the module at the first call, once', () => {
    const zlib = lazyBuiltin<typeof import('node:zlib')>('node:zlib');
    const first = zlib();
    assert.equal(typeof first.crc32, 'function');
    assert.equal(zlib(), first);
  });

  it('the daemon, with every module it imports loaded, has not loaded the built-ins it needs only sometimes', () => {
    const loaded = builtinsLoadedByTheDaemon();
    assert.ok(loaded.includes('dgram') && loaded.includes('crypto'), `the probe sees the daemon: ${loaded.join(' ')}`);
    assert.deepEqual(
      ON_FIRST_USE.filter((name) => loaded.includes(name)),
      [],
    );
  });
});
