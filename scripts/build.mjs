#!/usr/bin/env node
// Builds dist/ from src/: one ES module bundle per entry point, split so that each CLI command loads only its
// own code (commands are imported on demand), plus the dashboard's static files. Runs in `npm ci` (prepare),
// `npm start` and `npm test`; bin/corolink.mjs runs dist/main.mjs, and dist/client.mjs is the client library that
// `import … from 'corolink'` loads (package.json exports; its types come from scripts/build-types.mjs).
//
// Files are replaced one by one (temp file + rename), the entry point last, and stale ones removed afterwards: a
// corolink process started while another build runs (two test runs side by side) never sees a half-written dist/.
import { cpSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const outdir = join(root, 'dist');

const result = await build({
  absWorkingDir: root,
  entryPoints: { main: 'src/cli/main.ts', client: 'src/client/index.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outExtension: { '.js': '.mjs' },
  // npm packages stay in node_modules, loaded by Node as usual, except typebox: bundled, only the validator parts
  // the config layer uses are kept (the whole package costs a daemon ~20 MiB of resident memory; bench:daemon).
  external: Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies }).filter((name) => name !== 'typebox'),
  sourcemap: 'linked',
  // No comments or indentation: V8 keeps every module's source text for as long as the module lives, and the few
  // comments esbuild keeps (class members' doc comments) have non-ASCII characters (≤, —, µ), which made V8 store a
  // whole chunk's source as two-byte text: 1.77 MiB of each daemon's heap, 0.76 MiB without (docs/daemon.md
  // "Memory"). Names and syntax stay as written; the linked source maps give stack traces their lines back.
  minifyWhitespace: true,
  logLevel: 'warning',
  write: false,
});
mkdirSync(outdir, { recursive: true });
const isEntry = (path) => /^(main|client)\.mjs/.test(basename(path));
const outputs = [...result.outputFiles].sort((a, b) => Number(isEntry(a.path)) - Number(isEntry(b.path)));
for (const file of outputs) {
  const temporary = `${file.path}.${process.pid}.tmp`;
  writeFileSync(temporary, file.contents);
  renameSync(temporary, file.path);
}
/** What other steps put in dist/: the dashboard (below) and the native addon (scripts/build-native.mjs). */
const KEPT = new Set(['dashboard', 'native']);
const written = new Set(outputs.map((file) => basename(file.path)));
for (const name of readdirSync(outdir)) {
  if (!KEPT.has(name) && !name.endsWith('.tmp') && !written.has(name)) rmSync(join(outdir, name), { force: true });
}
// The web server reads its page relative to its own module: dist/dashboard/.
cpSync(join(root, 'src/web/dashboard'), join(outdir, 'dashboard'), { recursive: true });
