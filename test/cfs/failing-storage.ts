// A store adapter for tests whose calls fail as SQLite's do when the disk is full or no descriptor is left.
import type { CfsStorage } from '../../src/cfs/core.ts';
import type { CfsStore } from '../../src/cfs/store.ts';

/** A store whose writes throw `code` while `failing` (as SQLite does), and its full read while `entriesFailing`. */
export class FailingStorage implements CfsStorage {
  failing = false;
  entriesFailing = false;
  constructor(
    readonly inner: CfsStore,
    private readonly code = 'SQLITE_FULL',
  ) {}
  private guard<T>(failing: boolean, run: () => T): T {
    if (failing) throw Object.assign(new Error('database or disk is full'), { code: this.code });
    return run();
  }
  appliedSeq = () => this.inner.appliedSeq();
  epoch = () => this.inner.epoch();
  totalBytes = () => this.inner.totalBytes();
  get = (path: string) => this.inner.get(path);
  digest = () => this.inner.digest();
  entries = () => this.guard(this.entriesFailing, () => this.inner.entries());
  put: CfsStore['put'] = (...args) => this.guard(this.failing, () => this.inner.put(...args));
  rm: CfsStore['rm'] = (...args) => this.guard(this.failing, () => this.inner.rm(...args));
  replace: CfsStore['replace'] = (...args) => this.guard(this.failing, () => this.inner.replace(...args));
}
