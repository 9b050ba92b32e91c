// `cfsLs` in slices (src/daemon/cfs-listings.ts): a long listing is read a page per turn of the loop (a due timer runs
// between its pages), answers the same JSON as a one-shot listing, starts over when the store changed between
// pages (its answer is the one-shot listing of the store as it is at the end), and after a bounded number of
// restarts is read whole in one task.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CfsStore } from '../../src/cfs/store.ts';
import { AdminError } from '../../src/daemon/admin-socket.ts';
import { CfsListings, type ListingSource } from '../../src/daemon/cfs-listings.ts';
import { CFS_LIST_RESTARTS_MAX, CFS_LISTINGS_WAITING_MAX } from '../../src/daemon/limits.ts';

const PAGE_ENTRIES = 100;
const PREFIX = 'dir/';

/** A store of `count` entries under PREFIX, plus one entry named PREFIX itself and some outside it. */
function filledStore(count: number): CfsStore {
  const store = new CfsStore(':memory:');
  let seq = 0;
  store.put(++seq, 1, 'dir', new Uint8Array(1), 1);
  store.put(++seq, 1, PREFIX, new Uint8Array(2), 1); // not a valid path for a client, but a stored key all the same
  store.put(++seq, 1, 'dis', new Uint8Array(3), 1);
  for (let i = 0; i < count; i++) store.put(++seq, 1, `${PREFIX}entry-${i}`, new Uint8Array(i % 7), 1000 + i);
  store.commit();
  return store;
}

/** The store as a listing's source; `afterPage` runs after every page read (the page's number, from 1). */
function sourceOf(store: CfsStore, afterPage: (page: number, after: string | undefined) => void = () => {}) {
  const reads: (string | undefined)[] = [];
  let refusal: string | undefined;
  const source: ListingSource = {
    readRefusal: () => refusal,
    listingPoint: () => String(store.appliedSeq()),
    listPage: (prefix, after, limit) => {
      const page = store.listPage(prefix, after, limit);
      reads.push(after);
      afterPage(reads.length, after);
      return page;
    },
  };
  return {
    source,
    /** `after` of every page read, in order (undefined: a first page). */
    reads,
    refuse: (why: string) => {
      refusal = why;
    },
  };
}

const oneShot = (store: CfsStore) => JSON.stringify({ entries: store.list(PREFIX) });

/** Keeps the loop busy for `ms` (a timer set before it is then due). */
function busyFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

test('a listing is read a page per turn, a due timer runs between its pages, and it answers as one listing', async () => {
  const store = filledStore(5 * PAGE_ENTRIES + 50);
  const timersBetween: boolean[] = [];
  let timerFired = false;
  const { source, reads } = sourceOf(store, () => {
    timersBetween.push(timerFired);
    timerFired = false;
    setTimeout(() => {
      timerFired = true;
    }, 0);
    busyFor(2); // the timer is due when this page's turn ends
  });
  const answer = await new CfsListings(source, PAGE_ENTRIES).list(PREFIX);
  assert.equal(answer.text, oneShot(store));
  assert.equal(JSON.parse(answer.text).entries.length, 5 * PAGE_ENTRIES + 51);
  assert.equal(reads.length, 6, 'five full pages and a short one');
  assert.deepEqual(
    timersBetween.slice(1),
    [true, true, true, true, true],
    'the timer of each page ran before the next',
  );
});

test('a listing of less than a page is one read, with the entry named as the prefix', async () => {
  const store = filledStore(3);
  const { source, reads } = sourceOf(store);
  const answer = await new CfsListings(source, PAGE_ENTRIES).list(PREFIX);
  assert.equal(reads.length, 1);
  assert.deepEqual(
    JSON.parse(answer.text).entries.map((e: { path: string }) => e.path),
    [PREFIX, `${PREFIX}entry-0`, `${PREFIX}entry-1`, `${PREFIX}entry-2`],
  );
  assert.equal(answer.text, oneShot(store));
});

test('a write applied between two pages restarts the listing: the answer is the store as it is at its end', async () => {
  const store = filledStore(3 * PAGE_ENTRIES);
  let seq = store.appliedSeq();
  const { source, reads } = sourceOf(store, (page) => {
    // After the second page: one entry already read changes size, one not read yet goes, one new comes first.
    if (page !== 2) return;
    store.put(++seq, 1, `${PREFIX}entry-1`, new Uint8Array(100), 5);
    store.rm(++seq, 1, `${PREFIX}entry-250`);
    store.put(++seq, 1, `${PREFIX}a-new`, new Uint8Array(1), 6);
  });
  const answer = await new CfsListings(source, PAGE_ENTRIES).list(PREFIX);
  assert.equal(answer.text, oneShot(store));
  assert.equal(reads.filter((after) => after === undefined).length, 2, 'started over once');
  const paths = JSON.parse(answer.text).entries.map((e: { path: string }) => e.path);
  assert.ok(paths.includes(`${PREFIX}a-new`) && !paths.includes(`${PREFIX}entry-250`));
});

test(`a store that changes every turn restarts a listing ${CFS_LIST_RESTARTS_MAX} times, then it is read whole in one task`, async () => {
  const store = filledStore(3 * PAGE_ENTRIES);
  let seq = store.appliedSeq();
  let turn = 0;
  let ticking = true;
  const tick = () => {
    turn++;
    store.put(++seq, 1, `${PREFIX}entry-0`, new Uint8Array(seq % 5), seq);
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  const turnOfRead: number[] = [];
  let storeAtRead = '';
  const { source, reads } = sourceOf(store, () => {
    turnOfRead.push(turn);
    storeAtRead = oneShot(store);
  });
  const answer = await new CfsListings(source, PAGE_ENTRIES).list(PREFIX);
  ticking = false;
  const starts = reads.flatMap((after, i) => (after === undefined ? [i] : []));
  assert.equal(starts.length, CFS_LIST_RESTARTS_MAX + 1, 'the restarts, then the whole listing');
  assert.deepEqual(starts, [0, 1, 2, 3], 'each attempt but the last stopped after its first page');
  const last = turnOfRead.slice(starts.at(-1));
  assert.equal(last.length, 4, 'the whole listing: three full pages and a short one');
  assert.equal(new Set(last).size, 1, 'the whole listing is read in one turn');
  assert.equal(answer.text, storeAtRead, 'the answer is the store as it was in that turn');
});

test('a copy that turns stale between pages refuses the listing', async () => {
  const store = filledStore(3 * PAGE_ENTRIES);
  const sourced = sourceOf(store, (page) => {
    if (page === 1) sourced.refuse('stale copy');
  });
  await assert.rejects(
    new CfsListings(sourced.source, PAGE_ENTRIES).list(PREFIX),
    (error) => error instanceof AdminError && error.code === 'refused' && error.message === 'stale copy',
  );
});

test('listings wait in arrival order, one page per turn in all', async () => {
  const store = filledStore(2 * PAGE_ENTRIES + 1);
  const { source, reads } = sourceOf(store);
  const listings = new CfsListings(source, PAGE_ENTRIES);
  const order: number[] = [];
  const answers = await Promise.all(
    [1, 2, 3].map((n) =>
      listings.list(PREFIX).then((answer) => {
        order.push(n);
        return answer.text;
      }),
    ),
  );
  assert.deepEqual(order, [1, 2, 3]);
  assert.deepEqual(answers, [oneShot(store), oneShot(store), oneShot(store)]);
  assert.equal(reads.length, 9, 'three pages each, none read twice');
});

test('a listing whose client is gone reads no more pages; the listings after it go on', async () => {
  const store = filledStore(3 * PAGE_ENTRIES);
  let gone = false;
  const { source, reads } = sourceOf(store, (page) => {
    if (page === 1) gone = true;
  });
  const listings = new CfsListings(source, PAGE_ENTRIES);
  const abandoned = listings.list(PREFIX, () => gone);
  const next = listings.list(PREFIX);
  await assert.rejects(abandoned, /the client is gone/);
  assert.equal((await next).text, oneShot(store));
  assert.equal(reads.length, 1 + 4, 'one page of the abandoned listing, four of the next');
});

test('beyond CFS_LISTINGS_WAITING_MAX waiting listings a new one is refused, counted; the waiting ones are answered', async () => {
  const store = filledStore(PAGE_ENTRIES * 2);
  const listings = new CfsListings(sourceOf(store).source, PAGE_ENTRIES);
  const waiting = Array.from({ length: CFS_LISTINGS_WAITING_MAX }, () => listings.list(PREFIX));
  await assert.rejects(
    listings.list(PREFIX),
    (error: unknown) => error instanceof AdminError && error.code === 'refused',
  );
  assert.equal(listings.refused, 1);
  for (const answer of await Promise.all(waiting)) assert.equal(answer.text, oneShot(store));
  assert.equal((await listings.list(PREFIX)).text, oneShot(store), 'room again once they were answered');
});
