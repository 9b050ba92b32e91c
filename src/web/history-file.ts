/**
 * The dashboard history across a daemon restart: `dashboard-history_<nodeid>.json` in the state directory (next
 * to `ringid_<nodeid>`), mode 0600, replaced atomically every HISTORY_SAVE_INTERVAL_MS and when the server stops.
 * A file that is missing, too big or malformed is ignored (the history starts empty) with the reason.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type Static, Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { LINK_NUMBER_MAX } from '../base/limits.ts';
import { writeFileAtomic, writeFileAtomicAsync } from '../daemon/atomic-file.ts';
import { PRIVATE_FILE_MODE } from '../daemon/private-fs.ts';
import { HISTORY_TIERS, type StoredTiers } from './history-tiers.ts';

/** How often the history is written. */
export const HISTORY_SAVE_INTERVAL_MS = 60_000;
/** Largest history file read back (a 3-node, 2-link cluster writes about 1 MB; see docs/dashboard.md). */
export const HISTORY_FILE_BYTES_MAX = 64 * 1024 * 1024;

/**
 * The file: rows as `[time, [[nodeid, link, up 0|1, latency_ms|null], …]]` — a third of the size of the objects
 * (docs/dashboard.md has the sizes).
 */
const HistoryFileSchema = Type.Object({
  version: Type.Literal(1),
  tiers: Type.Array(
    Type.Array(
      Type.Tuple([
        Type.Integer({ minimum: 0 }),
        Type.Array(
          Type.Tuple([
            Type.Integer({ minimum: 1 }),
            Type.Integer({ minimum: 0, maximum: LINK_NUMBER_MAX }),
            Type.Union([Type.Literal(0), Type.Literal(1)]),
            Type.Union([Type.Number({ minimum: 0 }), Type.Null()]),
          ]),
        ),
      ]),
    ),
    { maxItems: HISTORY_TIERS.length },
  ),
});
type HistoryFile = Static<typeof HistoryFileSchema>;
/** Compiled: checking a 3-node file took 523 ms with Value.Check, 16 ms compiled (docs/dashboard.md). */
const historyFileCheck = Compile(HistoryFileSchema);

function encode(stored: StoredTiers): HistoryFile {
  return {
    version: 1,
    tiers: stored.tiers.map((rows) =>
      rows.map((r) => [r.time, r.samples.map((s) => [s.nodeid, s.link, s.up ? 1 : 0, s.latency_ms])]),
    ),
  };
}

function decode(file: HistoryFile): StoredTiers {
  return {
    version: 1,
    tiers: file.tiers.map((rows) =>
      rows.map(([time, samples]) => ({
        time,
        samples: samples.map(([nodeid, link, up, latency_ms]) => ({ nodeid, link, up: up === 1, latency_ms })),
      })),
    ),
  };
}

export const historyFilePath = (stateDir: string, nodeId: number): string =>
  join(stateDir, `dashboard-history_${nodeId}.json`);

/** The stored history, or the reason it cannot be used (undefined: there is none). */
export function readHistoryFile(path: string): StoredTiers | string | undefined {
  try {
    const size = statSync(path).size;
    if (size > HISTORY_FILE_BYTES_MAX) return `${path}: ${size} bytes, more than ${HISTORY_FILE_BYTES_MAX}`;
    const data: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (historyFileCheck.Check(data)) return decode(data);
    const [error] = [...historyFileCheck.Errors(data)];
    return `${path}: ${error?.instancePath || '/'} ${error?.message ?? 'is not a stored history'}`;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    return `${path}: ${(error as Error).message}`;
  }
}

/** Writes the file; `sync` on shutdown, else the write and its fsync leave the event loop free. */
export function writeHistoryFile(path: string, stored: StoredTiers, sync: true): void;
export function writeHistoryFile(path: string, stored: StoredTiers, sync: false): Promise<void>;
export function writeHistoryFile(path: string, stored: StoredTiers, sync: boolean): void | Promise<void> {
  const text = JSON.stringify(encode(stored));
  return sync ? writeFileAtomic(path, text, PRIVATE_FILE_MODE) : writeFileAtomicAsync(path, text, PRIVATE_FILE_MODE);
}
