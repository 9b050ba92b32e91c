/**
 * Bounds of the replicated file store and the validation of its paths (docs/cfs.md, "Limits"). A file must fit,
 * with its path and the message envelope, into one CPG message (1 MiB), hence 4 KiB less than 1 MiB.
 */

/** How often a write refused while the store synchronises is submitted again (the daemon and the simulator). */
export const SYNC_RETRY_INTERVAL_MS = 50;

/** How often the daemon checks whether a stale copy's storage works again (then asks for a resync). */
export const STORE_RETRY_INTERVAL_MS = 2_000;

/** Largest file content in bytes. */
export const FILE_BYTES_MAX = 1024 * 1024 - 4096;
/** Largest sum of all file contents in bytes (pmxcfs: 128 MiB). */
export const TOTAL_BYTES_MAX = 128 * 1024 * 1024;
/** Longest path in UTF-8 bytes. */
export const PATH_BYTES_MAX = 1024;
/** Longest path segment in UTF-8 bytes. */
export const SEGMENT_BYTES_MAX = 255;

/** Why a path is invalid, or undefined when it is valid: relative, `/`-separated, no `.`/`..`/empty segments. */
export function pathProblem(path: unknown): string | undefined {
  if (typeof path !== 'string' || path.length === 0) return 'path must be a non-empty string';
  if (Buffer.byteLength(path) > PATH_BYTES_MAX) return `path is longer than ${PATH_BYTES_MAX} bytes`;
  if (path.includes('\0')) return 'path must not contain NUL';
  if (path.startsWith('/')) return 'path must be relative (no leading /)';
  for (const segment of path.split('/')) {
    if (segment === '') return 'path must not contain empty segments (// or a trailing /)';
    if (segment === '.' || segment === '..') return 'path must not contain . or .. segments';
    if (Buffer.byteLength(segment) > SEGMENT_BYTES_MAX) return `path segment longer than ${SEGMENT_BYTES_MAX} bytes`;
  }
  return undefined;
}
