#!/usr/bin/env node
// The one entry point: runs the TypeScript sources through tsx's loader, so `npm ci` alone is enough.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
