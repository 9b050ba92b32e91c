#!/usr/bin/env node
// Builds dist/ from src/: one ES module bundle per entry point, split so that each CLI command loads only its
// own code (commands are imported on demand), plus the dashboard's static files. Runs in `npm ci` (prepare),
// `npm start` and `npm test`; bin/corolink.mjs runs dist/main.mjs.
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
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
  // npm packages stay in node_modules, loaded by Node as usual.
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
});
// The web server reads its page relative to its own module: dist/dashboard/.
cpSync(join(root, 'src/web/dashboard'), join(outdir, 'dashboard'), { recursive: true });
