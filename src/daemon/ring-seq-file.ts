/**
 * The highest Totem ring sequence this node has used, kept on disk like corosync's `ringid_<nodeid>` file, so a
 * restarted daemon never reuses a ring id and is readmitted at once instead of after the others lose the token.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const DEFAULT_STATE_DIR = '/var/lib/corolink';

export class RingSeqFile {
  private readonly path: string;
  private written = -1;

  constructor(stateDir: string, nodeId: number) {
    mkdirSync(stateDir, { recursive: true });
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

  /** Stores a higher value (atomically: write, then rename). */
  write(seq: number): void {
    if (seq <= this.written) return;
    const temporary = `${this.path}.tmp`;
    writeFileSync(temporary, `${seq}\n`);
    renameSync(temporary, this.path);
    this.written = seq;
  }
}
