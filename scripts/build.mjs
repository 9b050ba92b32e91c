#!/usr/bin/env node
// Builds dist/ from src/: one ES module bundle per entry point, split so that each CLI command loads only its
// own code (commands are imported on demand), plus the dashboard's static files. Runs in `npm ci` (prepare),
// `npm start` and `npm test`; bin/corolink.mjs runs dist/main.mjs.
import { cpSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const outdir = join(root, 'dist');

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
await build({
  absWorkingDir: root,
  entryPoints: { main: 'src/cli/main.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outExtension: { '.js': '.mjs' },
  // npm packages stay in node_modules, loaded by Node as usual, except typebox: bundled, only the validator parts
  // the config layer uses are kept (the whole package costs a daemon ~20 MiB of resident memory; bench:daemon).
  external: Object.keys(pkg.dependencies).filter((name) => name !== 'typebox'),
  sourcemap: 'linked',
  logLevel: 'warning',
});
// The web server reads its page relative to its own module: dist/dashboard/.
cpSync(join(root, 'src/web/dashboard'), join(outdir, 'dashboard'), { recursive: true });
