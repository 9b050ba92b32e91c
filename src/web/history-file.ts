/**
 * The dashboard history across a daemon restart: `dashboard-history_<nodeid>.json` in the state directory (next
 * to `ringid_<nodeid>`), mode 0600, replaced atomically every HISTORY_SAVE_INTERVAL_MS and when the server stops.
 * A file that is missing, too big or malformed is ignored (the history starts empty) with the reason.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Type } from 'typebox';
import { Value } from 'typebox/value';
import { LINK_NUMBER_MAX } from '../base/limits.ts';
import { writeFileAtomic } from '../daemon/atomic-file.ts';
import { PRIVATE_FILE_MODE } from '../daemon/private-fs.ts';
import { HISTORY_TIERS, type StoredTiers } from './history-tiers.ts';

/** How often the history is written. */
export const HISTORY_SAVE_INTERVAL_MS = 60_000;
/** Largest history file read back (a 3-node, 2-link cluster writes about 1 MB; see docs/dashboard.md). */
export const HISTORY_FILE_BYTES_MAX = 64 * 1024 * 1024;

const StoredTiersSchema = Type.Object({
  version: Type.Literal(1),
  tiers: Type.Array(
    Type.Array(
      Type.Object({
        time: Type.Integer({ minimum: 0 }),
        samples: Type.Array(
          Type.Object({
            nodeid: Type.Integer({ minimum: 1 }),
            link: Type.Integer({ minimum: 0, maximum: LINK_NUMBER_MAX }),
            up: Type.Boolean(),
            latency_ms: Type.Union([Type.Number({ minimum: 0 }), Type.Null()]),
          }),
        ),
      }),
    ),
    { maxItems: HISTORY_TIERS.length },
  ),
});

export const historyFilePath = (stateDir: string, nodeId: number): string =>
  join(stateDir, `dashboard-history_${nodeId}.json`);

/** The stored history, or the reason it cannot be used (undefined: there is none). */
export function readHistoryFile(path: string): StoredTiers | string | undefined {
  try {
    const size = statSync(path).size;
    if (size > HISTORY_FILE_BYTES_MAX) return `${path}: ${size} bytes, more than ${HISTORY_FILE_BYTES_MAX}`;
    const data: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (Value.Check(StoredTiersSchema, data)) return data;
    const [error] = [...Value.Errors(StoredTiersSchema, data)];
    return `${path}: ${error?.instancePath || '/'} ${error?.message ?? 'is not a stored history'}`;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    return `${path}: ${(error as Error).message}`;
  }
}

export function writeHistoryFile(path: string, stored: StoredTiers): void {
  writeFileAtomic(path, JSON.stringify(stored), PRIVATE_FILE_MODE);
}
