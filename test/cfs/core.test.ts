// The replicated state machine on a fake agreed-order bus: every multicast is delivered to every member in one
// global order, like CPG does; configuration changes are delivered at one point of that order.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type CfsAction, CfsCore, type CfsResult } from '../../src/cfs/core.ts';
import { FILE_BYTES_MAX } from '../../src/cfs/limits.ts';
import { CfsStore } from '../../src/cfs/store.ts';
import { FailingStorage } from './failing-storage.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

class Bus {
  readonly cores = new Map<number, CfsCore>();
  readonly stores = new Map<number, CfsStore>();
  readonly results = new Map<number, CfsResult>();
  readonly warnings: string[] = [];
  private readonly queue: { sender: number; payload: Uint8Array }[] = [];
  private view: number[] = [];
  /** Nodes whose votequorum says "not quorate" (the stack's verdict each delivery carries). */
  readonly inquorate = new Set<number>();
  private req = 1;
  private ring = 0;

  constructor(nodes: number[], chunkBytes?: number) {
    for (const node of nodes) {
      const store = new CfsStore(':memory:');
      this.stores.set(node, store);
      this.cores.set(node, new CfsCore(node, store, chunkBytes));
    }
  }

  /** A new view of `members`: undelivered messages of departed nodes are lost, the rest stay in order. */
  confchg(members: number[]): void {
    this.view = members;
    const ring = ++this.ring;
    for (const node of members) this.handle(node, this.cores.get(node)!.step({ type: 'confchg', members, ring }));
  }

  put(node: number, path: string, text: string, quorate = true): number {
    const req = this.req++;
    this.handle(node, this.cores.get(node)!.step({ type: 'put', req, path, data: bytes(text), mtime: req, quorate }));
    return req;
  }

  rm(node: number, path: string): number {
    const req = this.req++;
    this.handle(node, this.cores.get(node)!.step({ type: 'rm', req, path, quorate: true }));
    return req;
  }

  /** The driver's request for a resync on `node` (its storage works again). */
  resync(node: number): void {
    this.handle(node, this.cores.get(node)!.step({ type: 'resync' }));
  }

  /** The old ring's transitional configuration on `nodes` (the engine's confchg of kind transitional). */
  transitional(nodes: number[]): void {
    for (const node of nodes) this.handle(node, this.cores.get(node)!.step({ type: 'transitional' }));
  }

  /** A new regular configuration of `members`: the engine's confchg (suspend), then its sync (confchg). */
  regular(members: number[]): void {
    for (const node of members) this.handle(node, this.cores.get(node)!.step({ type: 'suspend' }));
    this.confchg(members);
  }

  /** Takes what is queued off the bus (to deliver it to some members only). */
  take(): { sender: number; payload: Uint8Array }[] {
    return this.queue.splice(0);
  }

  /** Delivers `messages`, in order, to `nodes` only. */
  deliver(messages: { sender: number; payload: Uint8Array }[], nodes: number[]): void {
    for (const m of messages) for (const node of nodes) this.handle(node, this.deliverTo(node, m));
  }

  /** Delivers everything queued, in order, to every member of the current view. */
  run(): void {
    for (let m = this.queue.shift(); m; m = this.queue.shift()) {
      if (!this.view.includes(m.sender)) continue;
      for (const node of this.view) this.handle(node, this.deliverTo(node, m));
    }
  }

  private deliverTo(node: number, m: { sender: number; payload: Uint8Array }): CfsAction[] {
    return this.cores.get(node)!.step({ type: 'deliver', ...m, quorate: !this.inquorate.has(node) });
  }

  private handle(node: number, actions: CfsAction[]): void {
    for (const action of actions) {
      if (action.type === 'multicast') this.queue.push({ sender: node, payload: action.payload });
      if (action.type === 'done') this.results.set(action.req, action.result);
      if (action.type === 'log' && action.level === 'warning') this.warnings.push(`${node}: ${action.message}`);
    }
  }
}

/** A bus whose node `node` stores through a FailingStorage (failing with `code`). */
function busWithFailing(nodes: number[], node: number, code?: string): { bus: Bus; storage: FailingStorage } {
  const bus = new Bus(nodes);
  const storage = new FailingStorage(bus.stores.get(node)!, code);
  bus.cores.set(node, new CfsCore(node, storage));
  bus.confchg(nodes);
  bus.run();
  return { bus, storage };
}

const digests = (bus: Bus, nodes: number[]) => nodes.map((n) => bus.stores.get(n)!.digest());

describe('CfsCore', () => {
  test('writes are applied in agreed order on every member and acknowledged with their version', () => {
    const bus = new Bus([1, 2, 3]);
    bus.confchg([1, 2, 3]);
    bus.run();
    assert.ok([1, 2, 3].every((n) => bus.cores.get(n)!.phase === 'synced'));
    const a = bus.put(1, 'corosync.conf', 'one');
    const b = bus.put(2, 'corosync.conf', 'two');
    const c = bus.rm(3, 'missing');
    bus.run();
    assert.deepEqual(bus.results.get(a), { ok: true, version: 1 });
    assert.deepEqual(bus.results.get(b), { ok: true, version: 2 });
    assert.equal(bus.results.get(c)?.ok, false);
    for (const node of [1, 2, 3]) assert.deepEqual(bus.stores.get(node)!.get('corosync.conf')?.data, bytes('two'));
    assert.equal(new Set(digests(bus, [1, 2, 3])).size, 1);
  });

  test('refusals: not quorate, syncing, invalid path, too big — nothing is sent', () => {
    const bus = new Bus([1, 2]);
    bus.confchg([1, 2]);
    const syncing = bus.put(1, 'a', 'x');
    bus.run();
    assert.equal((bus.results.get(syncing) as { code: string }).code, 'syncing');
    const inquorate = bus.put(1, 'a', 'x', false);
    const invalid = bus.put(1, '../a', 'x');
    const req = 99;
    const big = bus.cores
      .get(1)!
      .step({ type: 'put', req, path: 'b', data: new Uint8Array(FILE_BYTES_MAX + 1), mtime: 0, quorate: true });
    bus.run();
    assert.equal((bus.results.get(inquorate) as { code: string }).code, 'not_quorate');
    assert.equal((bus.results.get(invalid) as { code: string }).code, 'invalid');
    assert.equal((big[0] as { result: { code: string } }).result.code, 'too_big');
    assert.equal(bus.stores.get(1)!.appliedSeq(), 0);
    assert.equal(bus.cores.get(1)!.counters.refused.not_quorate, 1);
  });

  test('a fractional mtime is refused where it enters: its message would be dropped unanswered on every node', () => {
    const bus = new Bus([1, 2]);
    bus.confchg([1, 2]);
    bus.run();
    const put = (mtime: number) =>
      bus.cores.get(1)!.step({ type: 'put', req: 7, path: 'a', data: bytes('x'), mtime, quorate: true });
    for (const mtime of [1.5, Number.NaN, 2 ** 53]) {
      const actions = put(mtime);
      assert.equal(actions.length, 1, `mtime ${mtime}: only the refusal, nothing multicast`);
      const done = actions[0] as Extract<CfsAction, { type: 'done' }>;
      assert.equal(done.result.ok, false);
      assert.match((done.result as { message: string }).message, new RegExp(`mtime ${mtime} of a `));
    }
    assert.equal(bus.cores.get(1)!.counters.refused.invalid, 3);
    assert.equal(put(1_700_000_000_000)[0]!.type, 'multicast');
  });

  test('a write delivered after a configuration change is dropped everywhere and answered "retry"', () => {
    const bus = new Bus([1, 2, 3]);
    bus.confchg([1, 2, 3]);
    bus.run();
    const req = bus.put(2, 'x', 'late');
    bus.confchg([1, 2, 3]);
    bus.run();
    assert.equal((bus.results.get(req) as { code: string }).code, 'syncing');
    assert.ok([1, 2, 3].every((n) => bus.stores.get(n)!.appliedSeq() === 0));
  });

  test('a write one member delivered (and acknowledged) before a change is applied by the others in their transitional configuration', () => {
    // Whole-stack soak seed 1848 (6 nodes): node 4 delivered its safe write in the regular configuration and
    // acknowledged it; the others got it only in their transitional configuration and dropped it.
    const bus = new Bus([1, 2, 3]);
    bus.confchg([1, 2, 3]);
    bus.run();
    const req = bus.put(3, 'f', 'w1');
    const sent = bus.take();
    bus.deliver(sent, [3]);
    assert.deepEqual(bus.results.get(req), { ok: true, version: 1 });
    bus.transitional([1, 2]);
    bus.deliver(sent, [1, 2]);
    bus.regular([1, 2]);
    bus.run();
    const next = bus.put(1, 'g', 'w2');
    bus.run();
    assert.deepEqual(bus.results.get(next), { ok: true, version: 2 });
    bus.regular([1, 2, 3]);
    bus.run();
    for (const node of [1, 2, 3]) {
      assert.equal(bus.stores.get(node)!.get('f')?.version, 1, `node ${node} keeps the acknowledged write`);
      assert.equal(bus.stores.get(node)!.get('g')?.version, 2);
    }
    assert.equal(new Set(digests(bus, [1, 2, 3])).size, 1);
  });

  test("the newest history wins a sync: a cut-off node's transitional write never replaces the primary's acknowledged one", () => {
    const bus = new Bus([1, 2, 3]);
    bus.confchg([1, 2, 3]);
    bus.run();
    const lost = bus.put(1, 'f', 'cut off');
    const sent = bus.take();
    bus.transitional([1]);
    bus.deliver(sent, [1]);
    assert.equal(bus.results.has(lost), false, 'applied only in the transitional configuration: not acknowledged');
    assert.equal(bus.stores.get(1)!.appliedSeq(), 1);
    bus.inquorate.add(1);
    bus.regular([1]);
    bus.run();
    assert.equal(bus.results.has(lost), false, 'a sync without quorum does not settle it');
    bus.transitional([2, 3]);
    bus.regular([2, 3]);
    bus.run();
    const kept = bus.put(2, 'f', 'primary');
    bus.run();
    assert.deepEqual(bus.results.get(kept), { ok: true, version: 1 });
    // Both copies are at write 1; the primary's came from a later ring, so it is the source, not node 1 (lowest id).
    bus.inquorate.clear();
    bus.regular([1, 2, 3]);
    bus.run();
    for (const node of [1, 2, 3]) assert.deepEqual(bus.stores.get(node)!.get('f')?.data, bytes('primary'));
    assert.equal(new Set(digests(bus, [1, 2, 3])).size, 1);
    assert.equal((bus.results.get(lost) as { code: string }).code, 'syncing', 'answered: not kept, retry');
  });

  test('an own write delivered only in the transitional configuration is answered after a quorate sync: kept', () => {
    // The lab's disk-full drill: a membership change while node 1's write was in flight. Every member of the
    // transitional configuration applied it, and the next primary component keeps that history.
    const bus = new Bus([1, 2, 3]);
    bus.confchg([1, 2, 3]);
    bus.run();
    const req = bus.put(1, 'f', 'w1');
    const sent = bus.take();
    bus.transitional([1, 2]);
    bus.deliver(sent, [1, 2]);
    assert.equal(bus.results.has(req), false, 'in doubt until the next configuration synced');
    bus.regular([1, 2]);
    bus.run();
    assert.deepEqual(bus.results.get(req), { ok: true, version: 1 });
    bus.regular([1, 2, 3]);
    bus.run();
    for (const node of [1, 2, 3]) assert.equal(bus.stores.get(node)!.get('f')?.version, 1);
  });

  test('a write in doubt hidden by a later write to its path is answered "unknown"; an older copy\'s answer is "retry"', () => {
    const bus = new Bus([1, 2, 3]);
    bus.confchg([1, 2, 3]);
    bus.run();
    const hidden = bus.put(1, 'f', 'mine');
    bus.put(1, 'h', 'mine');
    const gone = bus.put(1, 'g', 'mine');
    const sent = bus.take();
    bus.transitional([1]);
    bus.deliver(sent, [1]);
    bus.inquorate.add(1);
    bus.regular([1]);
    bus.run();
    bus.transitional([2, 3]);
    bus.deliver(sent.slice(0, 1), [2, 3]);
    bus.regular([2, 3]);
    bus.run();
    const later = bus.put(2, 'f', 'later');
    bus.run();
    assert.deepEqual(bus.results.get(later), { ok: true, version: 2 });
    bus.inquorate.clear();
    bus.regular([1, 2, 3]);
    bus.run();
    assert.equal((bus.results.get(hidden) as { code: string }).code, 'unknown', 'f was overwritten: cannot tell');
    assert.equal(
      (bus.results.get(gone) as { code: string }).code,
      'syncing',
      'the copy never reached write 3: not kept',
    );
    assert.equal(bus.stores.get(1)!.get('g'), undefined);
  });

  test('a write submitted in the transitional configuration is refused: the store is changing views', () => {
    const bus = new Bus([1, 2]);
    bus.confchg([1, 2]);
    bus.run();
    bus.transitional([1]);
    const req = bus.put(1, 'f', 'x');
    assert.equal((bus.results.get(req) as { code: string }).code, 'syncing');
    assert.equal(bus.take().length, 0);
  });

  test('after a partition the returning node with an older copy takes the state of the highest sequence', () => {
    const bus = new Bus([1, 2, 3], 64);
    bus.confchg([1, 2, 3]);
    bus.run();
    bus.put(1, 'shared', 'v1');
    bus.run();
    bus.confchg([1, 2]);
    bus.run();
    for (let i = 0; i < 5; i++) bus.put(2, `nodes/n${i}.conf`, `value ${i}`);
    bus.rm(1, 'shared');
    bus.run();
    assert.equal(bus.stores.get(3)!.appliedSeq(), 1);
    bus.confchg([1, 2, 3]);
    bus.run();
    assert.equal(bus.cores.get(3)!.phase, 'synced');
    assert.equal(bus.cores.get(3)!.counters.stateTransfers, 1);
    assert.equal(new Set(digests(bus, [1, 2, 3])).size, 1);
    assert.equal(bus.stores.get(3)!.get('shared'), undefined);
    assert.equal(bus.stores.get(3)!.list('nodes/').length, 5);
    assert.equal(bus.stores.get(3)!.appliedSeq(), 7);
  });

  test('a malformed message is dropped with a warning, never thrown', () => {
    const core = new CfsCore(1, new CfsStore(':memory:'));
    for (const payload of [
      new Uint8Array(0),
      new Uint8Array([9, 0, 0, 0, 0]),
      new Uint8Array([0, 0, 0, 0, 3, 1, 2, 3]),
    ]) {
      assert.deepEqual(
        core.step({ type: 'deliver', sender: 2, payload, quorate: true }).map((a) => a.type),
        ['log'],
      );
    }
  });

  test('ties at the highest sequence go to the lowest node id; a change during sync restarts it', () => {
    const bus = new Bus([1, 2]);
    bus.stores.get(1)!.put(4, 1, 'a', bytes('from 1'), 1);
    bus.stores.get(2)!.put(4, 1, 'a', bytes('from 2'), 1);
    bus.confchg([1, 2]);
    bus.confchg([1, 2]);
    bus.run();
    assert.ok([1, 2].every((n) => bus.cores.get(n)!.phase === 'synced'));
    assert.deepEqual(bus.stores.get(2)!.get('a')?.data, bytes('from 1'));
  });

  test('disk full on one node: its write is refused (never acknowledged), the others apply it, no divergence', () => {
    const { bus, storage } = busWithFailing([1, 2, 3], 2);
    bus.put(1, 'before', 'x');
    bus.run();
    storage.failing = true;
    const mine = bus.put(2, 'a', 'from 2');
    const theirs = bus.put(1, 'b', 'from 1');
    bus.run();
    assert.equal(bus.results.get(mine)?.ok, false);
    assert.equal((bus.results.get(mine) as { code: string }).code, 'storage');
    assert.match((bus.results.get(mine) as { message: string }).message, /SQLITE_FULL/);
    assert.deepEqual(bus.results.get(theirs), { ok: true, version: 3 });
    const core2 = bus.cores.get(2)!;
    assert.match(core2.failure ?? '', /cannot store write 2 \(a\): SQLITE_FULL/);
    assert.equal(core2.counters.storageFailures.disk_full, 1, 'the second write was dropped, not tried');
    assert.equal(bus.warnings.filter((w) => w.startsWith('2:')).length, 1, 'one warning per episode');
    assert.equal(bus.stores.get(2)!.appliedSeq(), 1, 'the stale copy has no gap filled by later writes');
    const refused = bus.put(2, 'c', 'later');
    assert.equal((bus.results.get(refused) as { code: string }).code, 'storage', 'refused at once while stale');
    // Space is back: the driver asks for a resync; node 2 takes the others' state and serves writes again.
    storage.failing = false;
    bus.resync(2);
    bus.run();
    assert.equal(core2.failure, undefined);
    assert.equal(core2.counters.stateTransfers, 1);
    assert.equal(new Set(digests(bus, [1, 2, 3])).size, 1, 'one state everywhere');
    const again = bus.put(2, 'c', 'later');
    bus.run();
    assert.deepEqual(bus.results.get(again), { ok: true, version: 4 });
  });

  test('a failed commit (storeFailed) makes the copy stale, logged once; writes refused; a resync repairs it', () => {
    const bus = new Bus([1, 2, 3]);
    bus.confchg([1, 2, 3]);
    bus.run();
    bus.put(1, 'a', 'x');
    bus.run();
    const core2 = bus.cores.get(2)!;
    const error = Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
    const actions = core2.step({ type: 'storeFailed', error, what: 'cannot store writes 1–1' });
    assert.equal(actions.length, 1);
    assert.match((actions[0] as { message: string }).message, /^cannot store writes 1–1: SQLITE_IOERR/);
    assert.equal(core2.counters.storageFailures.io, 1);
    assert.deepEqual(core2.step({ type: 'storeFailed', error, what: 'again' }), [], 'one log line per episode');
    const refused = bus.put(2, 'b', 'y');
    assert.equal((bus.results.get(refused) as { code: string }).code, 'storage');
    bus.resync(2);
    bus.run();
    assert.equal(core2.failure, undefined);
    assert.equal(new Set(digests(bus, [1, 2, 3])).size, 1);
  });

  test('a resync that still cannot store leaves the copy stale, logged once; a stale node is never the source', () => {
    const { bus, storage } = busWithFailing([1, 2, 3], 1, 'EMFILE');
    storage.failing = true;
    bus.put(2, 'a', 'x');
    bus.run();
    assert.ok(bus.cores.get(1)!.failure, 'node 1 stale');
    bus.resync(1);
    bus.run();
    assert.ok(bus.cores.get(1)!.failure, 'still stale: the state could not be stored');
    assert.ok(['synced'].includes(bus.cores.get(2)!.phase) && bus.cores.get(3)!.phase === 'synced');
    assert.equal(bus.cores.get(1)!.counters.storageFailures.no_descriptor, 2);
    assert.equal(bus.warnings.filter((w) => w.startsWith('1:')).length, 1);
    // A membership change while node 1 (lowest id, equal sequence to nobody) is stale: node 2 is the source.
    storage.failing = false;
    bus.confchg([1, 2, 3]);
    bus.run();
    assert.equal(bus.cores.get(1)!.failure, undefined);
    assert.equal(new Set(digests(bus, [1, 2, 3])).size, 1);
  });

  test('the sync source that cannot read its copy asks for a resync: another member serves, it takes that state', () => {
    const { bus, storage } = busWithFailing([1, 2, 3], 1);
    bus.put(1, 'a', 'x');
    bus.run();
    bus.stores.get(3)!.replace(0, 0, []);
    storage.entriesFailing = true;
    bus.confchg([1, 2, 3]);
    bus.run();
    assert.ok(
      [2, 3].every((n) => bus.cores.get(n)!.phase === 'synced'),
      'the others synced',
    );
    assert.equal(bus.stores.get(3)!.get('a')?.version, 1, "node 3 took node 2's state");
    assert.ok(bus.warnings.some((w) => /^1: cannot read the copy to send it: SQLITE_FULL/.test(w)));
    // Its writes still work: it took node 2's state in the same round and is whole again.
    assert.equal(bus.cores.get(1)!.failure, undefined);
    assert.equal(bus.cores.get(1)!.phase, 'synced');
    assert.equal(new Set(digests(bus, [1, 2, 3])).size, 1);
  });
});
