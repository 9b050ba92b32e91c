/**
 * `cfsLs` in slices (docs/daemon.md, "Work on the loop"): a listing is read and encoded CFS_LIST_PAGE_ENTRIES
 * entries a turn of the loop (keyset pages of the path index), so a listing of a large store never holds the loop
 * longer than a page, and what waits for the answer is a few strings, not an object per entry. Listings take their
 * turns in arrival order, one page per turn of the loop in all (the check phase: `setImmediate`), the first page
 * too, so timers and socket reads run between any two pages.
 *
 * The answer is point-in-time: when the store changed between two pages of a listing (a write applied or rolled
 * back, a synchronisation, a storage failure: `listingPoint()`), the listing starts over. A store that changes
 * every turn would restart it forever, so after CFS_LIST_RESTARTS_MAX restarts it is read whole in one task, as
 * before the slices. A listing whose client is gone (`abandoned()`) is dropped before its next page; beyond
 * CFS_LISTINGS_WAITING_MAX waiting listings a new one is refused (counted in `refused`).
 */
import type { CfsEntryInfo } from '../cfs/store.ts';
import { JsonText } from '../ipc/framing.ts';
import { AdminError } from './admin-socket.ts';
import { CFS_LIST_PAGE_ENTRIES, CFS_LIST_RESTARTS_MAX, CFS_LISTINGS_WAITING_MAX } from './limits.ts';

/** What a listing reads (the daemon's CfsService). */
export interface ListingSource {
  /** Why this node's copy may not be read now, or undefined. */
  readRefusal(): string | undefined;
  /** A value that changes whenever the entries a listing reads may have changed. */
  listingPoint(): string;
  /** `CfsStore.listPage`. */
  listPage(prefix: string, after: string | undefined, limit: number): CfsEntryInfo[];
}

interface Listing {
  readonly prefix: string;
  readonly abandoned: () => boolean;
  /** The `listingPoint()` its pages so far were read at. */
  point: string;
  /** The last path read, undefined before the first page. */
  after: string | undefined;
  /** The pages read, each the JSON of its entries without the array's brackets. */
  pages: string[];
  restarts: number;
  readonly resolve: (result: JsonText) => void;
  readonly reject: (error: unknown) => void;
}

export class CfsListings {
  /** Listings refused because CFS_LISTINGS_WAITING_MAX were waiting. */
  refused = 0;
  private readonly queue: Listing[] = [];
  private scheduled = false;

  constructor(
    private readonly source: ListingSource,
    private readonly pageEntries = CFS_LIST_PAGE_ENTRIES,
  ) {}

  /**
   * The `cfsLs` result, `{entries}` under `prefix` sorted by path, as JSON; rejects while the copy is unreadable,
   * or once `abandoned()` (its client closed) before it was read whole.
   */
  list(prefix: string, abandoned: () => boolean = () => false): Promise<JsonText> {
    if (this.queue.length >= CFS_LISTINGS_WAITING_MAX) {
      this.refused++;
      return Promise.reject(
        new AdminError('refused', `${CFS_LISTINGS_WAITING_MAX} listings of the store are waiting already: retry`),
      );
    }
    return new Promise((resolve, reject) => {
      const listing: Listing = {
        prefix,
        abandoned,
        point: '',
        after: undefined,
        pages: [],
        restarts: 0,
        resolve,
        reject,
      };
      this.queue.push(listing);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(this.turn);
  }

  private readonly turn = (): void => {
    this.scheduled = false;
    const listing = this.queue[0];
    if (listing !== undefined && this.advance(listing)) this.queue.shift();
    this.schedule();
  };

  /** Reads the listing's next page; true once it is answered (or refused). */
  private advance(listing: Listing): boolean {
    try {
      if (!this.readPage(listing)) return false;
      listing.resolve(new JsonText(`{"entries":[${listing.pages.join(',')}]}`));
    } catch (error) {
      listing.reject(error);
    }
    return true;
  }

  /** Reads the next page (all of the rest once the restarts are spent); true when it was the last. */
  private readPage(listing: Listing): boolean {
    if (listing.abandoned()) throw new Error('the client is gone');
    const refusal = this.source.readRefusal();
    if (refusal !== undefined) throw new AdminError('refused', refusal);
    const point = this.source.listingPoint();
    if (listing.after !== undefined && point !== listing.point) {
      listing.restarts++;
      listing.after = undefined;
      listing.pages = [];
    }
    listing.point = point;
    const whole = listing.restarts >= CFS_LIST_RESTARTS_MAX;
    for (;;) {
      const entries = this.source.listPage(listing.prefix, listing.after, this.pageEntries);
      if (entries.length > 0) {
        listing.pages.push(JSON.stringify(entries).slice(1, -1));
        listing.after = entries.at(-1)!.path;
      }
      if (entries.length < this.pageEntries) return true;
      if (!whole) return false;
    }
  }
}
