#!/usr/bin/env node
// Writes types/index.d.ts: the declarations of the client library's public API only (src/client/index.ts and the
// types it names), bundled into one file so that a consumer's tsc never reads src/. Runs in `npm run build` and in
// prepack (so `npm pack` ships it); the JS bundle is scripts/build.mjs's dist/client.mjs.
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateDtsBundle } from 'dts-bundle-generator';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// The client's type graph reaches into the daemon, whose npm packages without declarations are described by
// src/**/*.d.ts: the compile takes them as type roots (dts-bundle-generator compiles only the entry's graph).
const ambient = readdirSync(join(root, 'src'), { recursive: true })
  .filter((path) => path.endsWith('.d.ts'))
  .map((path) => `./src/${path}`);
const tsconfig = join(root, `.tsconfig.types.${process.pid}.json`);
writeFileSync(
  tsconfig,
  JSON.stringify({ extends: './tsconfig.json', compilerOptions: { types: ['node', ...ambient] }, include: [] }),
);
let declarations;
try {
  [declarations] = generateDtsBundle(
    [{ filePath: join(root, 'src/client/index.ts'), output: { noBanner: true, exportReferencedTypes: false } }],
    { preferredConfigPath: tsconfig },
  );
} finally {
  rmSync(tsconfig, { force: true });
}
const outdir = join(root, 'types');
mkdirSync(outdir, { recursive: true });
const temporary = join(outdir, `index.d.ts.${process.pid}.tmp`);
writeFileSync(temporary, declarations);
renameSync(temporary, join(outdir, 'index.d.ts'));
