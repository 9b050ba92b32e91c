// The import graph of src/ against the layer table of docs/architecture.md: every relative import (static,
// `export … from`, dynamic `import()`) between two folders must be an allowed edge below.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

const SRC = resolve('src');

/**
 * Which folders of src/ each folder may import (besides itself). Keep it equal to the table in
 * docs/architecture.md "Layers": the daemon composes independent cores; ipc is the contract of daemon and clients.
 */
const ALLOWED: Record<string, readonly string[]> = {
  base: [],
  config: ['base'],
  wire: ['base', 'config'],
  crypto: ['base', 'config', 'wire'],
  transport: ['base', 'config', 'wire', 'crypto'],
  totem: ['base', 'config'],
  quorum: ['base', 'config', 'totem'],
  cpg: ['base', 'config', 'totem'],
  cfs: ['base', 'config'],
  ha: ['base', 'config'],
  ipc: ['base', 'config', 'cpg', 'cfs', 'ha'],
  qdevice: ['base', 'config', 'quorum'],
  daemon: ['base', 'config', 'wire', 'crypto', 'transport', 'totem', 'quorum', 'cpg', 'cfs', 'ha', 'ipc', 'qdevice'],
  client: ['base', 'config', 'ipc'],
  web: ['base', 'config', 'ipc', 'daemon'],
  cli: ['base', 'config', 'ipc', 'client', 'daemon', 'web', 'lab'],
  sim: ['base', 'config', 'wire', 'crypto', 'transport', 'totem', 'quorum', 'cpg', 'cfs', 'ha', 'daemon'],
  lab: ['base', 'config', 'ipc', 'client'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|mts)$/.test(entry.name) ? [path] : [];
  });
}

/** The folder of src/ a path is in (the layer), or undefined outside src/. */
function layerOf(path: string): string | undefined {
  const rel = relative(SRC, path);
  if (rel.startsWith('..')) return undefined;
  return rel.split('/')[0];
}

/** Every module specifier a file imports or re-exports, statically or with `import()` (comments ignored). */
function specifiers(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles.map((f) => f.fileName);
}

interface Edge {
  file: string;
  from: string;
  to: string;
  specifier: string;
}

function layerEdges(): Edge[] {
  const edges: Edge[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = layerOf(file);
    assert.ok(
      from && relative(SRC, file).includes('/'),
      `${relative('.', file)}: a source file lives in a layer folder`,
    );
    for (const specifier of specifiers(file)) {
      if (!specifier.startsWith('.')) continue;
      const to = layerOf(resolve(dirname(file), specifier));
      assert.ok(to, `${relative('.', file)} imports ${specifier}, outside src/`);
      if (to !== from) edges.push({ file: relative('.', file), from, to, specifier });
    }
  }
  return edges;
}

test('every folder of src/ is a layer of the table', () => {
  const folders = readdirSync(SRC, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  assert.deepEqual(folders, Object.keys(ALLOWED).sort(), 'add the new folder to ALLOWED and to docs/architecture.md');
});

test('no import crosses layers outside the allowed edges', () => {
  const edges = layerEdges();
  assert.ok(edges.length > 50, `the walk found the cross-layer imports (${edges.length})`);
  const forbidden = edges
    .filter((edge) => !(ALLOWED[edge.from] ?? []).includes(edge.to))
    .map((edge) => `${edge.file}: ${edge.from} → ${edge.to} (${edge.specifier})`);
  assert.deepEqual(forbidden, [], 'forbidden imports (see docs/architecture.md "Layers")');
});

test('the client and the daemon meet only in ipc', () => {
  const edges = layerEdges();
  const between = edges.filter(
    (edge) => (edge.from === 'client' && edge.to === 'daemon') || (edge.from === 'daemon' && edge.to === 'client'),
  );
  assert.deepEqual(between, []);
  for (const layer of ['daemon', 'client', 'cli']) {
    assert.ok(
      edges.some((edge) => edge.from === layer && edge.to === 'ipc'),
      `${layer} imports the contract from src/ipc`,
    );
  }
});

test('the table is the one in docs/architecture.md', () => {
  const doc = readFileSync('docs/architecture.md', 'utf8');
  for (const [layer, allowed] of Object.entries(ALLOWED)) {
    const row = doc.split('\n').find((line) => line.startsWith(`| \`src/${layer}\` |`));
    assert.ok(row, `docs/architecture.md has a row for src/${layer}`);
    const cell = row.split('|').at(-2) ?? '';
    const listed = [...cell.matchAll(/`([a-z]+)`/g)].map((m) => m[1]).sort();
    assert.deepEqual(listed, [...allowed].sort(), `docs/architecture.md: what src/${layer} may import`);
  }
});
