/**
 * The node's copy of the replicated file store in SQLite (better-sqlite3): one table of entries, the sequence
 * number of the last applied write and its epoch (the ring it was sent in: docs/cfs.md, "Synchronisation"). Writes
 * (`put`, `rm`, `replace`) join one open transaction that `commit()` writes into the WAL (`synchronous = NORMAL`:
 * no fsync, it survives the process's death at once): the daemon commits once per turn of its loop, syncs the WAL
 * file in libuv's pool and acknowledges a write only after the sync that covers its commit; checkpoints
 * (`wal_autocheckpoint` off) run on a thread of their own (src/daemon/cfs-wal.ts, docs/daemon.md). Reads see the
 * applied writes, committed or not. Every method is synchronous.
 */
import { createHash } from 'node:crypto';
import Database, { type Statement } from 'better-sqlite3';

/** One file of the store. `version` is the cluster-wide sequence number of the write that set it. */
export interface CfsEntry {
  path: string;
  data: Uint8Array;
  version: number;
  /** Milliseconds since the epoch, set by the node that submitted the write. */
  mtime: number;
}

/** An entry without its content (for listings). */
export type CfsEntryInfo = Omit<CfsEntry, 'data'> & { size: number };

/** SQLite's LIMIT for no limit. */
const UNLIMITED = -1;

interface Row {
  path: string;
  content: Buffer;
  version: number;
  mtime: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS entries (path TEXT PRIMARY KEY, content BLOB NOT NULL, version INTEGER NOT NULL, mtime INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
`;

export class CfsStore {
  private readonly db: Database;
  private seq: number;
  private epochValue: number;
  private total: number;
  /** `seq`, `epoch` and `total` as last committed: a rolled-back transaction returns to them. */
  private committed: { seq: number; epoch: number; total: number };
  private readonly setSeq: Statement;
  private readonly setEpoch: Statement;
  private readonly upsert: Statement;
  private readonly remove: Statement;
  private readonly listing: Statement<CfsEntryInfo>;
  private readonly listingPage: Statement<CfsEntryInfo>;

  /** Opens (creating) the database file; `':memory:'` for tests. */
  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('wal_autocheckpoint = 0');
    // The first commit after a checkpoint cuts the WAL file back to its own frames: its size tells the daemon when
    // the next checkpoint is due.
    this.db.pragma('journal_size_limit = 0');
    this.db.exec(SCHEMA);
    this.setSeq = this.db.prepare(
      "INSERT INTO meta (key, value) VALUES ('seq', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    );
    this.setEpoch = this.db.prepare(
      "INSERT INTO meta (key, value) VALUES ('epoch', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    );
    this.upsert = this.db.prepare(
      'INSERT INTO entries (path, content, version, mtime) VALUES (?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET content = excluded.content, version = excluded.version, mtime = excluded.mtime',
    );
    this.remove = this.db.prepare('DELETE FROM entries WHERE path = ?');
    this.listing = this.db.prepare<CfsEntryInfo>(
      "SELECT path, LENGTH(content) AS size, version, mtime FROM entries WHERE path >= ? AND path < ? || X'FF' ORDER BY path LIMIT ?",
    );
    this.listingPage = this.db.prepare<CfsEntryInfo>(
      "SELECT path, LENGTH(content) AS size, version, mtime FROM entries WHERE path > ? AND path < ? || X'FF' ORDER BY path LIMIT ?",
    );
    const seqRow = this.db.prepare<{ value: number }>("SELECT value FROM meta WHERE key = 'seq'").get();
    this.seq = seqRow?.value ?? 0;
    const epochRow = this.db.prepare<{ value: number }>("SELECT value FROM meta WHERE key = 'epoch'").get();
    this.epochValue = epochRow?.value ?? 0;
    this.total =
      this.db.prepare<{ total: number | null }>('SELECT SUM(LENGTH(content)) AS total FROM entries').get()?.total ?? 0;
    this.committed = { seq: this.seq, epoch: this.epochValue, total: this.total };
  }

  /** Sequence number of the last applied write (0 for an empty, never-written store). */
  appliedSeq(): number {
    return this.seq;
  }

  /**
   * The ring seq of the configuration the last applied write was sent in (0 before any): a copy whose last write
   * came from a later ring holds the newer history (docs/cfs.md, "Synchronisation").
   */
  epoch(): number {
    return this.epochValue;
  }

  /** Sequence number of the last committed write (in the WAL; on disk once the WAL file is synced). */
  committedSeq(): number {
    return this.committed.seq;
  }

  /** Sum of all contents in bytes. */
  totalBytes(): number {
    return this.total;
  }

  get(path: string): CfsEntry | undefined {
    const row = this.db.prepare<Row>('SELECT path, content, version, mtime FROM entries WHERE path = ?').get(path);
    return row && toEntry(row);
  }

  /**
   * Entries whose path starts with `prefix`, sorted by path, without contents. A range of the path index: every
   * UTF-8 path that starts with `prefix` sorts (bytewise) before `prefix` + byte 0xFF, which no UTF-8 text holds.
   * The scan this was (`substr(path, …) = ?`) took 629 µs in a 13,000-entry store, the range 1 µs; the join
   * service lists its tokens after every write, so building that store spent 86 % of node 1's loop in it.
   */
  list(prefix = ''): CfsEntryInfo[] {
    return this.listing.all(prefix, prefix, UNLIMITED);
  }

  /**
   * The first `limit` entries of `list(prefix)`, or (a keyset page) of those whose path sorts after `after`, the
   * last path of the page before: a long listing read a page per turn of the loop (docs/daemon.md).
   */
  listPage(prefix: string, after: string | undefined, limit: number): CfsEntryInfo[] {
    return after === undefined ? this.listing.all(prefix, prefix, limit) : this.listingPage.all(after, prefix, limit);
  }

  /** Every entry with its content, sorted by path. */
  entries(): CfsEntry[] {
    return this.db.prepare<Row>('SELECT path, content, version, mtime FROM entries ORDER BY path').all().map(toEntry);
  }

  /**
   * Applies write number `seq`, sent in the ring of seq `epoch`: sets `entry` (its version is `seq`). On disk at
   * the next `commit()`.
   */
  put(seq: number, epoch: number, path: string, data: Uint8Array, mtime: number): void {
    const previous = this.sizeOf(path);
    this.write(() => {
      this.upsert.run(path, asBuffer(data), seq, mtime);
      this.setPosition(seq, epoch);
    });
    this.total += data.byteLength - previous;
  }

  /** Applies write number `seq`, sent in the ring of seq `epoch`: removes `path`. On disk at the next `commit()`. */
  rm(seq: number, epoch: number, path: string): void {
    const previous = this.sizeOf(path);
    this.write(() => {
      this.remove.run(path);
      this.setPosition(seq, epoch);
    });
    this.total -= previous;
  }

  /** Replaces the whole store (synchronisation from another node). On disk at the next `commit()`. */
  replace(seq: number, epoch: number, entries: readonly CfsEntry[]): void {
    this.write(() => {
      this.db.exec('DELETE FROM entries');
      for (const e of entries) this.upsert.run(e.path, asBuffer(e.data), e.version, e.mtime);
      this.setPosition(seq, epoch);
    });
    this.total = entries.reduce((sum, e) => sum + e.data.byteLength, 0);
  }

  /**
   * Commits the writes applied since the last commit, in one transaction; true when there were any. When that
   * fails they are all rolled back (`appliedSeq()` returns to `committedSeq()`) and the error is thrown.
   */
  commit(): boolean {
    if (!this.db.inTransaction) return false;
    try {
      this.db.exec('COMMIT');
    } catch (error) {
      this.rollback();
      throw error;
    }
    this.committed = { seq: this.seq, epoch: this.epochValue, total: this.total };
    return true;
  }

  /** Copies the WAL's committed frames into the database file (SQLite's PASSIVE checkpoint, fsynced). */
  checkpoint(): void {
    this.db.pragma('wal_checkpoint(PASSIVE)');
  }

  /** SHA-256 (hex) over the sequence number and every entry (path, version, mtime, content) in path order. */
  digest(): string {
    const hash = createHash('sha256').update(`seq ${this.seq}\n`);
    const rows = this.db.prepare<Row>('SELECT path, content, version, mtime FROM entries ORDER BY path').iterate();
    for (const row of rows) {
      hash.update(`${row.path}\0${row.version}\0${row.mtime}\0${row.content.byteLength}\0`).update(row.content);
    }
    return hash.digest('hex');
  }

  /** Throws when the database cannot be written (disk full, no file descriptor left): one small transaction. */
  probe(now: number): void {
    this.db
      .prepare(
        "INSERT INTO meta (key, value) VALUES ('probe', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      )
      .run(now);
  }

  /** Closes the database; writes not committed are lost (never acknowledged). */
  close(): void {
    this.rollback();
    this.db.close();
  }

  /** Runs `apply` in the open transaction (begun if none is); a failure rolls the whole transaction back. */
  private write(apply: () => void): void {
    if (!this.db.inTransaction) this.db.exec('BEGIN IMMEDIATE');
    try {
      apply();
    } catch (error) {
      this.rollback();
      throw error;
    }
  }

  private rollback(): void {
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
    this.seq = this.committed.seq;
    this.epochValue = this.committed.epoch;
    this.total = this.committed.total;
  }

  /** Inside `write`: the copy's last write is number `seq`, of the ring of seq `epoch`. */
  private setPosition(seq: number, epoch: number): void {
    this.setSeq.run(seq);
    if (epoch !== this.epochValue) this.setEpoch.run(epoch);
    this.seq = seq;
    this.epochValue = epoch;
  }

  private sizeOf(path: string): number {
    return (
      this.db.prepare<{ size: number }>('SELECT LENGTH(content) AS size FROM entries WHERE path = ?').get(path)?.size ??
      0
    );
  }
}

function toEntry(row: Row): CfsEntry {
  return { path: row.path, data: new Uint8Array(row.content), version: row.version, mtime: row.mtime };
}

/** better-sqlite3 binds Buffers (not plain Uint8Arrays) as BLOBs; this is a view, no copy. */
function asBuffer(data: Uint8Array): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
