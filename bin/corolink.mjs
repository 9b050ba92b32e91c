#!/usr/bin/env node
// The one entry point: runs the TypeScript sources through tsx's loader, so `npm ci` alone is enough.
import v8 from 'node:v8';
import { register } from 'tsx/esm/api';

if (process.argv[2] === 'daemon') {
  // A long-running node allocates little per message: a small young generation keeps its resident memory down
  // (docs/daemon.md, bench:daemon) at no measurable cost to its throughput.
  v8.setFlagsFromString('--max-semi-space-size=1');
  v8.setFlagsFromString('--optimize-for-size');
}
register();
await import('../src/cli/main.ts');
