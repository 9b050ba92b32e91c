// Writes man/man8/ and man/man5/ (a MANPATH entry): corolink(8), one page per command, corolink.conf(5), from the
// command tree and the config schema (src/cli/man.ts). Runs in prepack (the npm package ships man/) and in
// package:deb.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { commandTree } from '../src/cli/command-tree.ts';
import { manPages } from '../src/cli/man.ts';
import { buildProgram } from '../src/cli/program.ts';
import { CorolinkSchema } from '../src/config/schema.ts';

const root = join(import.meta.dirname, '..');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
const configKeys = Object.entries(CorolinkSchema.properties).map(([name, schema]) => ({
  name,
  description: (schema as { description?: string }).description ?? '',
}));
const outdir = join(root, 'man');
// Each page replaced by a rename, stale ones removed afterwards: a build running beside another (two test files)
// never sees a half-written page.
const written = new Set<string>();
for (const page of manPages(commandTree(await buildProgram([])), configKeys, version)) {
  const path = join(outdir, `man${page.file.at(-1)}`, page.file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.${process.pid}.tmp`, page.text);
  renameSync(`${path}.${process.pid}.tmp`, path);
  written.add(path);
}
for (const name of readdirSync(outdir, { recursive: true, encoding: 'utf8' })) {
  const path = join(outdir, name);
  if (/\.\d$/.test(name) && !written.has(path)) rmSync(path, { force: true });
}
