#!/usr/bin/env node
// The one entry point: runs the bundle that `npm ci` (prepare) builds from src/ into dist/ (scripts/build.mjs).
import v8 from 'node:v8';

if (process.argv[2] === 'daemon') {
  // A long-running node allocates little per message: a small young generation keeps its resident memory down
  // (docs/daemon.md, bench:daemon) at no measurable cost to its throughput.
  v8.setFlagsFromString('--max-semi-space-size=1');
  v8.setFlagsFromString('--optimize-for-size');
}
// Source maps are built but not loaded by default (they cost a daemon ~6 MiB): NODE_OPTIONS=--enable-source-maps
// makes stack traces name src/ files and lines.
await import('../dist/main.mjs');
