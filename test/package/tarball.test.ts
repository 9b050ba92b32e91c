// The npm package as a user gets it: `npm pack` (which runs prepare and prepack), installed offline into an empty
// project, `npx corolink --help`, and a TypeScript and a plain-JS consumer of `import … from 'corolink'` that join a
// group on a running daemon and receive their own message.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { LocalCluster } from '../../src/lab/local-cluster.ts';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
/** npm pack (types generation) and an offline install take minutes on a loaded 2-core machine. */
const NPM_TIMEOUT_MS = 8 * 60_000;
/** The consumer's own toolchain, at the versions the repository's lockfile pins. */
const CONSUMER_DEV_PACKAGES = ['typescript', '@types/node', 'undici-types'];

type LockEntry = { version?: string; dev?: boolean; optional?: boolean; [key: string]: unknown };

/**
 * A package-lock.json for the consumer: corolink from the tarball, and every other package exactly as the
 * repository's lockfile resolved it, so that `npm ci --offline` takes them all from npm's cache (where the
 * repository's `npm ci` put them) without asking the registry for any package's metadata.
 */
function consumerLock(tarball: string, manifest: Record<string, unknown>): Record<string, unknown> {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
  const packages: Record<string, LockEntry> = { '': manifest as LockEntry };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (!path.startsWith('node_modules/')) continue;
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const consumerDev = CONSUMER_DEV_PACKAGES.includes(name) && path === `node_modules/${name}`;
    if (entry.dev && !consumerDev) continue;
    packages[path] = consumerDev ? { ...entry, dev: true } : entry;
  }
  packages['node_modules/corolink'] = {
    version: pkg.version as string,
    resolved: `file:${tarball}`,
    license: pkg.license,
    dependencies: pkg.dependencies,
    optionalDependencies: pkg.optionalDependencies,
    bin: pkg.bin,
    engines: pkg.engines,
  };
  return { name: 'consumer', lockfileVersion: 3, requires: true, packages };
}

const TS_CONSUMER = `import { CorolinkClient, type CpgMessage } from 'corolink';

const client = await CorolinkClient.connect({ socket: process.argv[2], reconnect: false });
const group = await client.cpgJoin('package-ts');
const received = new Promise<CpgMessage>((resolve) => group.on('message', resolve));
await group.send('hello from TypeScript');
const message: CpgMessage = await received;
// @ts-expect-error the group name is a string: the package's types say so (an untyped import would not complain).
await client.cpgJoin(42).catch(() => undefined);
console.log(JSON.stringify({ nodeid: message.nodeid, text: Buffer.from(message.data).toString('utf8') }));
await group.leave();
client.close();
`;

const JS_CONSUMER = `import { CorolinkClient } from 'corolink/client';

const client = await CorolinkClient.connect({ socket: process.argv[2], reconnect: false });
const group = await client.cpgJoin('package-js');
const received = new Promise((resolve) => group.on('message', resolve));
await group.send('hello from JavaScript');
const message = await received;
console.log(JSON.stringify({ nodeid: message.nodeid, text: Buffer.from(message.data).toString('utf8') }));
await group.leave();
client.close();
`;

describe('the npm package, packed and installed offline', () => {
  let dir: string;
  let project: string;
  let files: string[];
  let cluster: LocalCluster;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'corolink-package-'));
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], {
      cwd: root,
      timeout: NPM_TIMEOUT_MS,
      maxBuffer: 16 << 20,
    });
    // The prepare/prepack scripts print before the JSON report.
    const report = JSON.parse(stdout.slice(stdout.indexOf('[\n'))) as {
      filename: string;
      size: number;
      unpackedSize: number;
      files: { path: string }[];
    }[];
    const packed = report[0]!;
    files = packed.files.map((f) => f.path);
    console.log(
      `tarball ${packed.filename}: ${packed.size} bytes, ${packed.unpackedSize} unpacked, ${files.length} files`,
    );
    project = join(dir, 'consumer');
    const tarball = join(dir, packed.filename);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    const manifest = {
      name: 'consumer',
      private: true,
      type: 'module',
      dependencies: { corolink: `file:${tarball}` },
      devDependencies: Object.fromEntries(CONSUMER_DEV_PACKAGES.slice(0, 2).map((n) => [n, pkg.devDependencies[n]])),
    };
    await run('mkdir', ['-p', project]);
    writeFileSync(join(project, 'package.json'), JSON.stringify(manifest, null, 2));
    writeFileSync(join(project, 'package-lock.json'), JSON.stringify(consumerLock(tarball, manifest), null, 2));
    // --ignore-scripts: the native addons (better-sqlite3, unix-dgram) are compiled by their install scripts, which a
    // client and `--help` do not need (both load them only when a daemon opens its store or its sockets).
    await run('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], {
      cwd: project,
      timeout: NPM_TIMEOUT_MS,
    });
    cluster = await LocalCluster.start({ nodes: 1, links: 1, firstHost: 181, basePort: 37405 });
    await cluster.waitForQuorateMembership(1);
  });

  after(async () => {
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the tarball holds the bundle, the types and the docs, and no tests, benchmarks or sources', () => {
    for (const path of [
      'bin/corolink.mjs',
      'dist/main.mjs',
      'dist/client.mjs',
      'dist/native/corolink_native.node',
      'types/index.d.ts',
      'man/man8/corolink.8',
      'man/man5/corolink.conf.5',
      'LICENSE',
    ]) {
      assert.ok(files.includes(path), `${path} is in the tarball`);
    }
    assert.ok(files.includes('packaging/corolink.service'));
    assert.ok(files.includes('docs/client.md'));
    for (const prefix of ['test/', 'bench/', 'src/', 'scripts/', 'node_modules/']) {
      assert.deepEqual(
        files.filter((f) => f.startsWith(prefix)),
        [],
        `nothing under ${prefix}`,
      );
    }
  });

  test('npx corolink runs the installed bin', async () => {
    const help = await run('npx', ['--offline', 'corolink', '--help'], { cwd: project });
    assert.match(help.stdout, /^Usage: corolink /m);
    assert.match(help.stdout, /daemon/);
    const version = await run('npx', ['--offline', 'corolink', '--version'], { cwd: project });
    assert.equal(version.stdout.trim(), JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
  });

  test('a TypeScript consumer compiles against the types and sends to a group', async () => {
    writeFileSync(join(project, 'consumer.ts'), TS_CONSUMER);
    const tsconfig = {
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        types: ['node'],
        outDir: 'out',
        // As `tsc --init` sets it: the consumer's code is checked against the declarations, the declarations of
        // node_modules (@types/node, typebox) are not re-checked (minutes on a loaded machine).
        skipLibCheck: true,
      },
      files: ['consumer.ts'],
    };
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(tsconfig));
    await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { cwd: project }).catch(
      (error: { stdout: string }) => assert.fail(`tsc failed:\n${error.stdout}`),
    );
    const { stdout } = await run(process.execPath, ['out/consumer.js', cluster.node(1).socket], { cwd: project });
    assert.deepEqual(JSON.parse(stdout), { nodeid: 1, text: 'hello from TypeScript' });
  });

  test("docs/client.md's 20-line group example compiles against the package and runs as it says", async () => {
    const doc = readFileSync(join(root, 'docs/client.md'), 'utf8');
    const section = doc.slice(doc.indexOf('## A group in 20 lines'));
    const example = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    assert.ok(example, 'the example block is in docs/client.md');
    writeFileSync(join(project, 'example.ts'), example);
    const tsconfig = {
      compilerOptions: {
        target: 'ES2022',
        lib: ['ES2023', 'ESNext.Disposable'],
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        types: ['node'],
        outDir: 'out',
        skipLibCheck: true,
      },
      files: ['example.ts'],
    };
    writeFileSync(join(project, 'tsconfig.example.json'), JSON.stringify(tsconfig));
    await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.example.json'], {
      cwd: project,
    }).catch((error: { stdout: string }) => assert.fail(`tsc failed:\n${error.stdout}`));
    const { stdout } = await run(process.execPath, ['out/example.js'], {
      cwd: project,
      env: { ...process.env, COROLINK_SOCKET: cluster.node(1).socket },
    });
    const lines = stdout.trim().split('\n');
    assert.match(lines[0]!, /^I am 1\/\d+; 1 member\(s\)$/);
    const expected = [...Array.from({ length: 1000 }, (_, i) => `me: item ${i}`), 'me: done'];
    assert.deepEqual(lines.slice(1), expected, 'every own message, in the order sent, then the loop ended');
  });

  test('a plain-JS consumer imports corolink/client and sends to a group', async () => {
    writeFileSync(join(project, 'consumer.mjs'), JS_CONSUMER);
    const { stdout } = await run(process.execPath, ['consumer.mjs', cluster.node(1).socket], { cwd: project });
    assert.deepEqual(JSON.parse(stdout), { nodeid: 1, text: 'hello from JavaScript' });
  });
});
