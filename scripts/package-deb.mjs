#!/usr/bin/env node
// `npm run package:deb [-- OUTDIR]`: builds corolink_<version>_<arch>.deb with dpkg-deb, without network: the
// bundle (dist/, bin/), the production packages of node_modules as `npm ci` built them (the native addons
// included, hence Architecture: the build machine's), the systemd unit, the man pages, bash completion, a
// logrotate snippet, /etc/corolink/corosync.conf.example (the directory root's only) and the maintainer scripts of
// packaging/debian/ (enable without start, stop on remove, state removed on purge). Depends on Debian's nodejs
// (>= 20.11) and on init-system-helpers (>= 1.63, the first deb-systemd-helper that honours DPKG_ROOT); recommends
// iproute2.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const outdir = resolve(process.argv[2] ?? join(root, 'build'));
const MAINTAINER_SCRIPTS = ['postinst', 'prerm', 'postrm'];
const run = (command, args, options = {}) => execFileSync(command, args, { cwd: root, stdio: 'inherit', ...options });

run(process.execPath, ['scripts/build.mjs']);
run(process.execPath, ['--import', 'tsx', 'scripts/build-man.ts']);

const arch = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
const stage = mkdtempSync(join(tmpdir(), 'corolink-deb-'));
try {
  const lib = join(stage, 'usr/lib/corolink');
  mkdirSync(lib, { recursive: true });
  for (const path of ['bin', 'dist', 'package.json', 'LICENSE', 'README.md']) {
    cpSync(join(root, path), join(lib, path), { recursive: true });
  }
  // Production packages exactly as the lockfile resolved them (dev-only ones are marked "dev"). Of a native addon
  // (binding.gyp) only the compiled .node files of build/ are kept, not its C sources or objects.
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (!path.startsWith('node_modules/') || entry.dev) continue;
    const from = join(root, path);
    const native = existsSync(join(from, 'binding.gyp'));
    const keep = (source) => {
      if (!native || source === from) return true;
      const [top] = relative(from, source).split(sep);
      if (top === 'src' || top === 'deps') return false;
      return top !== 'build' || statSync(source).isDirectory() || source.endsWith('.node');
    };
    cpSync(from, join(lib, path), { recursive: true, dereference: true, filter: keep });
  }
  mkdirSync(join(stage, 'usr/bin'), { recursive: true });
  symlinkSync('../lib/corolink/bin/corolink.mjs', join(stage, 'usr/bin/corolink'));

  const put = (path, content, mode = 0o644) => {
    mkdirSync(dirname(join(stage, path)), { recursive: true });
    writeFileSync(join(stage, path), content);
    chmodSync(join(stage, path), mode);
  };
  put('lib/systemd/system/corolink.service', readFileSync(join(root, 'packaging/corolink.service')));
  put('etc/logrotate.d/corolink', readFileSync(join(root, 'packaging/corolink.logrotate')));
  put('etc/corolink/corosync.conf.example', readFileSync(join(root, 'packaging/corosync.conf.example')));
  chmodSync(join(stage, 'etc/corolink'), 0o700);
  for (const section of ['5', '8']) {
    const dir = join(root, `man/man${section}`);
    for (const page of execFileSync('ls', [dir], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
      put(`usr/share/man/man${section}/${page}.gz`, gzipSync(readFileSync(join(dir, page)), { level: 9 }));
    }
  }
  put(
    'usr/share/bash-completion/completions/corolink',
    execFileSync(process.execPath, ['bin/corolink.mjs', 'completion', 'bash'], { cwd: root }),
  );
  put('usr/share/doc/corolink/copyright', readFileSync(join(root, 'LICENSE')));

  const installedKb = Number(execFileSync('du', ['-sk', stage], { encoding: 'utf8' }).split('\t')[0]);
  put(
    'DEBIAN/control',
    [
      'Package: corolink',
      `Version: ${pkg.version}`,
      `Architecture: ${arch}`,
      'Maintainer: corolink maintainers <corolink@localhost>',
      'Depends: nodejs (>= 20.11), init-system-helpers (>= 1.63)',
      // `ip`: the carrier watch (src/daemon/carrier-watch.ts) and HA address resources; without it the daemon runs.
      'Recommends: iproute2',
      'Section: admin',
      'Priority: optional',
      `Installed-Size: ${installedKb}`,
      'Homepage: https://www.npmjs.com/package/corolink',
      `Description: ${pkg.description.split(':')[0]}`,
      ` ${pkg.description}.`,
      ' Runs as the systemd service corolink.service; configure /etc/corolink/corosync.conf first',
      ' (`corolink create` or a copy of /etc/corolink/corosync.conf.example).',
      '',
    ].join('\n'),
  );
  put('DEBIAN/conffiles', '/etc/logrotate.d/corolink\n/etc/corolink/corosync.conf.example\n');
  for (const script of MAINTAINER_SCRIPTS) {
    put(`DEBIAN/${script}`, readFileSync(join(root, 'packaging/debian', script)), 0o755);
  }

  mkdirSync(outdir, { recursive: true });
  const deb = join(outdir, `corolink_${pkg.version}_${arch}.deb`);
  run('dpkg-deb', ['--build', '--root-owner-group', '-Zgzip', stage, deb]);
  console.log(deb);
} finally {
  rmSync(stage, { recursive: true, force: true });
}
