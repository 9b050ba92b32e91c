#!/usr/bin/env node
// Builds the optional native addon (native/: AES-256-GCM with a context per key, docs/crypto.md "The AEAD engine";
// the link sockets' batched reads, docs/transport.md "The link sockets") into
// dist/native/corolink_native.node with node-gyp — the copy npm ships — against this Node's own headers, so it needs
// no download. Runs in `npm ci` (prepare) and `npm run build`. It is optional: where it cannot be built (no C
// compiler, no Node headers) this prints one line and exits 0, and the daemons use node:crypto (same bytes) and
// node:dgram.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'native');
const target = join(root, 'dist/native/corolink_native.node');

/** node-gyp: the one npm runs scripts with, else the one beside the npm that runs this. */
function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    process.env.npm_execpath && join(dirname(process.env.npm_execpath), '../node_modules/node-gyp/bin/node-gyp.js'),
    join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
  ];
  return candidates.find((path) => path && existsSync(path));
}

/** The headers of the Node that runs this (`--nodedir`), so that node-gyp downloads nothing. */
function nodeDir() {
  const candidates = [process.env.npm_config_nodedir, join(dirname(process.execPath), '..')];
  return candidates.find((dir) => dir && existsSync(join(dir, 'include/node/node_api.h')));
}

try {
  const gyp = nodeGyp();
  const headers = nodeDir();
  if (gyp === undefined) throw new Error('node-gyp not found beside npm');
  if (headers === undefined) throw new Error("this Node's headers (include/node/node_api.h) not found");
  execFileSync(process.execPath, [gyp, 'rebuild', `--nodedir=${headers}`, '--loglevel=error'], {
    cwd: source,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  mkdirSync(dirname(target), { recursive: true });
  const temporary = `${target}.${process.pid}.tmp`;
  copyFileSync(join(source, 'build/Release/corolink_native.node'), temporary);
  renameSync(temporary, target);
} catch (error) {
  const detail =
    String(error.stderr ?? '')
      .trim()
      .split('\n')
      .at(-1) || error.message;
  console.warn(
    `corolink: the native addon was not built (${detail}); packets are sealed with node:crypto and read with node:dgram`,
  );
}
