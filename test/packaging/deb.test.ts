// `npm run package:deb`: the .deb's control fields, maintainer scripts and contents (`dpkg-deb -I`/`-e`/`-c`), and
// an install into a scratch root with `dpkg --root` from which `corolink --help` runs, then its purge (Depends are
// not in the scratch root: forced; the maintainer scripts run chrootless, on this machine with DPKG_ROOT set, so
// they must keep to the scratch root: tested).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const lstatExists = (path: string) => lstatSync(path, { throwIfNoEntry: false }) !== undefined;
const root = resolve(import.meta.dirname, '../..');
const BUILD_TIMEOUT_MS = 8 * 60_000;
const MAINTAINER_SCRIPTS = ['postinst', 'prerm', 'postrm'];
/** Where `systemctl enable` (deb-systemd-helper) puts the unit's link. */
const ENABLED_LINK = 'etc/systemd/system/multi-user.target.wants/corolink.service';

describe('the Debian package', () => {
  let dir: string;
  let deb: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'corolink-deb-test-'));
    await run(process.execPath, ['scripts/package-deb.mjs', join(dir, 'out')], {
      cwd: root,
      timeout: BUILD_TIMEOUT_MS,
      maxBuffer: 16 << 20,
    });
    const [name] = readdirSync(join(dir, 'out'));
    deb = join(dir, 'out', name!);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('dpkg-deb -I: name, version, architecture, dependency on nodejs, iproute2 recommended', async () => {
    const { stdout } = await run('dpkg-deb', ['-I', deb]);
    assert.match(stdout, /^ Package: corolink$/m);
    assert.match(stdout, /^ Version: 0\.1\.0$/m);
    assert.match(stdout, /^ Depends: nodejs \(>= 20\.11\), init-system-helpers \(>= 1\.63\)$/m);
    assert.match(stdout, /^ Recommends: iproute2$/m);
    assert.match(stdout, /^ Architecture: \w+$/m);
    assert.match(stdout, /conffiles/);
    for (const script of MAINTAINER_SCRIPTS)
      assert.match(stdout, new RegExp(`^ +\\d+ bytes, +\\d+ lines +\\* +${script} +#!/bin/sh$`, 'm'));
  });

  test('dpkg-deb -e: the maintainer scripts are executable and valid shell (sh -n)', async () => {
    const control = join(dir, 'control');
    await run('dpkg-deb', ['-e', deb, control]);
    for (const script of MAINTAINER_SCRIPTS) {
      const path = join(control, script);
      assert.equal(statSync(path).mode & 0o777, 0o755, `${script} is executable`);
      await run('sh', ['-n', path]).catch((error: { stderr: string }) =>
        assert.fail(`${script} is not valid shell: ${error.stderr}`),
      );
    }
  });

  test('dpkg-deb -c: the bundle, production packages, unit, man pages, logrotate, example config; no tests', async () => {
    const { stdout } = await run('dpkg-deb', ['-c', deb], { maxBuffer: 64 << 20 });
    const paths = stdout.split('\n').map((line) => line.split(/\s+/).at(-1) ?? '');
    const entries = stdout.split('\n').map((line) => line.split(/\s+/).slice(5).join(' '));
    for (const path of [
      './usr/lib/corolink/bin/corolink.mjs',
      './usr/lib/corolink/dist/main.mjs',
      './usr/lib/corolink/dist/native/corolink_native.node',
      './usr/lib/corolink/node_modules/commander/package.json',
      './usr/lib/corolink/node_modules/better-sqlite3/build/Release/better_sqlite3.node',
      './lib/systemd/system/corolink.service',
      './usr/share/man/man8/corolink.8.gz',
      './usr/share/man/man8/corolink-daemon.8.gz',
      './usr/share/man/man5/corolink.conf.5.gz',
      './usr/share/bash-completion/completions/corolink',
      './etc/logrotate.d/corolink',
      './etc/corolink/corosync.conf.example',
    ]) {
      assert.ok(paths.includes(path), `${path} is in the package`);
    }
    assert.ok(entries.includes('./usr/bin/corolink -> ../lib/corolink/bin/corolink.mjs'));
    // corolink's own tests, benchmarks and sources stay out (dependencies ship what their packages ship).
    for (const absent of ['test/', 'bench/', 'src/', 'scripts/', 'node_modules/typescript/', 'node_modules/esbuild/']) {
      const prefix = `./usr/lib/corolink/${absent}`;
      assert.deepEqual(
        paths.filter((p) => p.startsWith(prefix)),
        [],
        `nothing under ${prefix}`,
      );
    }
  });

  test('installs into a scratch root with dpkg --root (enabled, config directory 0700), corolink --help runs from it; purge removes the state', async () => {
    const scratch = join(dir, 'root');
    mkdirSync(join(scratch, 'var/lib/dpkg/info'), { recursive: true });
    mkdirSync(join(scratch, 'var/lib/dpkg/updates'), { recursive: true });
    writeFileSync(join(scratch, 'var/lib/dpkg/status'), '');
    await run('dpkg', ['--root', scratch, '--force-depends', '--force-script-chrootless', '-i', deb]);
    const status = await run('dpkg', ['--root', scratch, '-s', 'corolink']);
    assert.match(status.stdout, /^Status: install ok installed$/m);
    // postinst: root's own config directory, the unit enabled for the next boot inside the scratch root.
    assert.equal(statSync(join(scratch, 'etc/corolink')).mode & 0o777, 0o700);
    assert.equal(readlinkSync(join(scratch, ENABLED_LINK)), '/lib/systemd/system/corolink.service');
    const help = await run(join(scratch, 'usr/bin/corolink'), ['--help']);
    assert.match(help.stdout, /^Usage: corolink /m);
    const version = await run(join(scratch, 'usr/bin/corolink'), ['--version']);
    assert.equal(version.stdout.trim(), '0.1.0');
    const check = await run(join(scratch, 'usr/bin/corolink'), [
      'config',
      'check',
      join(scratch, 'etc/corolink/corosync.conf.example'),
    ]);
    assert.match(check.stdout, /^cluster_name +demo$/m, 'the example config is valid (exit 0) and read');
    // The unit as installed: systemd-analyze finds its binary and man pages in the scratch root's /usr.
    const unit = await run('systemd-analyze', [
      'verify',
      '--man=no',
      '--root',
      scratch,
      '/lib/systemd/system/corolink.service',
    ]).catch((error: { stderr: string }) => ({ stdout: '', stderr: error.stderr }));
    assert.doesNotMatch(unit.stderr, /corolink\.service:.*(not executable|Unknown|Failed to parse)/);

    // postrm purge: the daemon's state and logs go, and the unit's link.
    mkdirSync(join(scratch, 'var/lib/corolink'), { recursive: true });
    writeFileSync(join(scratch, 'var/lib/corolink/cfs_1.sqlite'), '');
    mkdirSync(join(scratch, 'var/log/corolink'), { recursive: true });
    await run('dpkg', ['--root', scratch, '--force-depends', '--force-script-chrootless', '--purge', 'corolink']);
    await assert.rejects(run('dpkg', ['--root', scratch, '-s', 'corolink']), /not installed/, 'purged');
    for (const gone of ['var/lib/corolink', 'var/log/corolink', ENABLED_LINK, 'usr/bin/corolink']) {
      assert.equal(lstatExists(join(scratch, gone)), false, `${gone} is gone`);
    }
  });
});
