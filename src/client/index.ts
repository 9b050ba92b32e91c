/** The corolink client library: `import { CorolinkClient } from 'corolink'` (or 'corolink/client'; docs/client.md). */

export * from '../ipc/schema.ts';
export * from './cfs.ts';
export * from './client.ts';
export * from './config.ts';
export * from './cpg-group.ts';
export * from './errors.ts';
export * from './ha.ts';
