#!/usr/bin/env node
// The one entry point: runs the bundle that `npm ci` (prepare) builds from src/ into dist/ (scripts/build.mjs).
import v8 from 'node:v8';

if (process.argv[2] === 'daemon') {
  // The heap limits are node flags given at start (DAEMON_NODE_FLAGS in src/base/limits.ts): V8 sizes its heap once.
  // This one is read by the compilers as they run.
  v8.setFlagsFromString('--optimize-for-size');
}
// Source maps are built but not loaded by default (they cost a daemon ~6 MiB): NODE_OPTIONS=--enable-source-maps
// makes stack traces name src/ files and lines.
await import('../dist/main.mjs');
