/**
 * The highest Totem ring sequence this node has used, kept on disk like corosync's `ringid_<nodeid>` file, so a
 * restarted daemon never reuses a ring id and is readmitted at once instead of after the others lose the token.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.ts';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from './private-fs.ts';

export const DEFAULT_STATE_DIR = '/var/lib/corolink';

export class RingSeqFile {
  private readonly path: string;
  private written = -1;

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

  /** Stores a higher value (atomically, mode 0600); a failure (disk full, no file descriptor left) is reported. */
  write(seq: number): void {
    if (seq <= this.written) return;
    try {
      writeFileAtomic(this.path, `${seq}\n`, PRIVATE_FILE_MODE);
      this.written = seq;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      this.warn(
        `cannot store ring sequence ${seq} in ${this.path} (${code}): retried at the next membership change; a restart before then may wait for a token loss to be readmitted`,
      );
    }
  }
}
