/**
 * The highest Totem ring sequence this node has used, kept on disk like corosync's `ringid_<nodeid>` file, so a
 * restarted daemon never reuses a ring id and is readmitted at once instead of after the others lose the token.
 *
 * Written off the event loop (libuv's pool): its fsync held the loop 256 ms–2.2 s at ring changes on a disk busy
 * with other work (a `--cpu-prof` of the starvation test's store build, 2026-12-05, docs/daemon.md). A value lost
 * to a crash before it reached the disk costs only that readmission (liveness, never safety), as a failed write does.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicAsync } from './atomic-file.ts';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from './private-fs.ts';

export const DEFAULT_STATE_DIR = '/var/lib/corolink';

export class RingSeqFile {
  private readonly path: string;
  /** The highest value on disk. */
  private written = -1;
  /** The highest value asked for (back to `written` after a failed write, so that the next one retries). */
  private requested = -1;
  private flushing: Promise<void> | undefined;

  /** `warn` reports a value that could not be stored (the daemon runs on; the next membership change retries). */
  constructor(
    stateDir: string,
    nodeId: number,
    private readonly warn: (message: string) => void = () => undefined,
  ) {
    mkdirSync(stateDir, { recursive: true, mode: PRIVATE_DIR_MODE });
    this.path = join(stateDir, `ringid_${nodeId}`);
  }

  /** The stored value, or 0 when there is none or it is unreadable (a fresh node). */
  read(): number {
    try {
      const value = Number(readFileSync(this.path, 'utf8').trim());
      return Number.isSafeInteger(value) && value >= 0 ? value : 0;
    } catch {
      return 0;
    }
  }

  /**
   * Stores a higher value (atomically, mode 0600) in the background, one write at a time, the newest value asked
   * for next; a failure (disk full, no file descriptor left) is reported.
   */
  write(seq: number): void {
    if (seq <= this.requested) return;
    this.requested = seq;
    this.flushing ??= this.flush();
  }

  /** Resolves once every value asked for so far is on disk or was reported as failed (a clean stop waits for it). */
  settled(): Promise<void> {
    return this.flushing ?? Promise.resolve();
  }

  private async flush(): Promise<void> {
    while (this.written < this.requested) {
      const seq = this.requested;
      try {
        await writeFileAtomicAsync(this.path, `${seq}\n`, PRIVATE_FILE_MODE);
        this.written = seq;
      } catch (error) {
        this.requested = this.written;
        const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
        this.warn(
          `cannot store ring sequence ${seq} in ${this.path} (${code}): retried at the next membership change; a restart before then may wait for a token loss to be readmitted`,
        );
      }
    }
    this.flushing = undefined;
  }
}
