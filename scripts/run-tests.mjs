#!/usr/bin/env node
// Runs every test/**/*.test.ts file with node's built-in runner (through tsx).
// Usage: node scripts/run-tests.mjs [path-filter ...]  — filters are substrings of the file path.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...collect(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = collect('test').filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error(`run-tests: no test file matches ${filters.join(' ') || 'test/**/*.test.ts'}`);
  process.exit(1);
}
// The tests run the corolink executable, which runs the bundle: build it from the sources under test first.
const built = spawnSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
if (built.status !== 0) process.exit(built.status ?? 1);
// A test that hangs (a leaked socket, a promise never settled) fails after this long instead of holding CI.
const TEST_TIMEOUT_MS = 10 * 60 * 1000;
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', `--test-timeout=${TEST_TIMEOUT_MS}`, ...files],
  {
    stdio: 'inherit',
  },
);
process.exit(result.status ?? 1);
