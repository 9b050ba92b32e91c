#!/usr/bin/env node
// The one entry point: runs the bundle that `npm ci` (prepare) builds from src/ into dist/ (scripts/build.mjs).
// The daemon's V8 settings are node flags given at start (DAEMON_NODE_FLAGS in src/base/limits.ts) and the flags
// NODE_OPTIONS refuses, which the daemon sets on itself as it starts (DAEMON_V8_RUNTIME_FLAGS there); none is set
// here: `--optimize-for-size`, set here until session 22, put every full GC in V8's reduce-memory mode, which lets
// object shapes die with their last object and throws away the optimized code built on them (docs/benchmarks.md
// "optimized code thrown away at every full GC").
// Source maps are built but not loaded by default (they cost a daemon ~6 MiB): NODE_OPTIONS=--enable-source-maps
// makes stack traces name src/ files and lines.
await import('../dist/main.mjs');
