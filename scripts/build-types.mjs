#!/usr/bin/env node
// Writes types/index.d.ts: the declarations of the client library's public API only (src/client/index.ts and the
// types it names), bundled into one file so that a consumer's tsc never reads src/. Runs in `npm run build` and in
// prepare (so `npm pack` ships it); the JS bundle is scripts/build.mjs's dist/client.mjs.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateDtsBundle } from 'dts-bundle-generator';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// tsconfig.types.json: the client's type graph reaches the daemon's store, and with it src/cfs/better-sqlite3.d.ts.
const [declarations] = generateDtsBundle(
  [{ filePath: join(root, 'src/client/index.ts'), output: { noBanner: true, exportReferencedTypes: false } }],
  {
    preferredConfigPath: join(root, 'tsconfig.types.json'),
  },
);
const outdir = join(root, 'types');
mkdirSync(outdir, { recursive: true });
const temporary = join(outdir, `index.d.ts.${process.pid}.tmp`);
writeFileSync(temporary, declarations);
renameSync(temporary, join(outdir, 'index.d.ts'));
