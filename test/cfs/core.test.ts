// The replicated state machine on a fake agreed-order bus: every multicast is delivered to every member in one
// global order, like CPG does; configuration changes are delivered at one point of that order.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type CfsAction, CfsCore, type CfsResult } from '../../src/cfs/core.ts';
import { FILE_BYTES_MAX } from '../../src/cfs/limits.ts';
import { CfsStore } from '../../src/cfs/store.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

class Bus {
  readonly cores = new Map<number, CfsCore>();
  readonly stores = new Map<number, CfsStore>();
  readonly results = new Map<number, CfsResult>();
  private readonly queue: { sender: number; payload: Uint8Array }[] = [];
  private view: number[] = [];
  private req = 1;

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
    for (const node of members) this.handle(node, this.cores.get(node)!.step({ type: 'confchg', members }));
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

  /** Delivers everything queued, in order, to every member of the current view. */
  run(): void {
    for (let m = this.queue.shift(); m; m = this.queue.shift()) {
      if (!this.view.includes(m.sender)) continue;
      for (const node of this.view) this.handle(node, this.cores.get(node)!.step({ type: 'deliver', ...m }));
    }
  }

  private handle(node: number, actions: CfsAction[]): void {
    for (const action of actions) {
      if (action.type === 'multicast') this.queue.push({ sender: node, payload: action.payload });
      if (action.type === 'done') this.results.set(action.req, action.result);
    }
  }
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
        core.step({ type: 'deliver', sender: 2, payload }).map((a) => a.type),
        ['log'],
      );
    }
  });

  test('ties at the highest sequence go to the lowest node id; a change during sync restarts it', () => {
    const bus = new Bus([1, 2]);
    bus.stores.get(1)!.put(4, 'a', bytes('from 1'), 1);
    bus.stores.get(2)!.put(4, 'a', bytes('from 2'), 1);
    bus.confchg([1, 2]);
    bus.confchg([1, 2]);
    bus.run();
    assert.ok([1, 2].every((n) => bus.cores.get(n)!.phase === 'synced'));
    assert.deepEqual(bus.stores.get(2)!.get('a')?.data, bytes('from 1'));
  });
});
