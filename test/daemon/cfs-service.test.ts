// The daemon's side of the file store: the writes applied in one turn of the loop are committed together at its
// end, and each is acknowledged only once that commit covered it (an fsync per write held the loop: issue 14).
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CfsResult } from '../../src/cfs/core.ts';
import { CfsStore } from '../../src/cfs/store.ts';
import { CFS_SERVICE_ID } from '../../src/daemon/cfs-engine.ts';
import { CfsService } from '../../src/daemon/cfs-service.ts';
import type { Fsync } from '../../src/daemon/cfs-wal.ts';
import type { NodeEngine } from '../../src/daemon/engine.ts';
import type { EngineAction, RegularChange, ServiceEngine } from '../../src/daemon/service-engine.ts';

/** A one-node engine: the store's multicasts come straight back as deliveries, outputs are emitted. */
class LoopbackEngine extends EventEmitter {
  constructor(private readonly service: ServiceEngine) {
    super();
  }
  stackSnapshot() {
    return { quorum: { quorate: true } };
  }
  serviceRequest(_service: number, request: unknown): void {
    this.run(this.service.request!({ type: 'serviceRequest', service: CFS_SERVICE_ID, request } as never, 0));
  }
  run(actions: EngineAction[]): void {
    for (const action of actions) {
      if (action.type === 'multicast') this.run(this.service.deliver(1, action.payload, 0));
      else if (action.type === 'serviceOutput') this.emit('serviceOutput', action.service, action.output);
    }
  }
}

/** A synced one-node store service in a fresh directory; `fsync` as CfsService takes it. */
function oneNode(dir: string, fsync?: Fsync): CfsService {
  const cfs = new CfsService(dir, 1, () => {}, fsync);
  const [service] = cfs.services({ payloadBytesMax: undefined, quorate: () => true });
  const engine = new LoopbackEngine(service!);
  cfs.attach(engine as unknown as NodeEngine);
  const change = { kind: 'regular', members: [1], ringId: { rep: 1, seq: 4 } } as unknown as RegularChange;
  engine.run(service!.syncInit!(change, 0));
  assert.equal(cfs.core.phase, 'synced');
  return cfs;
}

/** A disk whose fsyncs wait until the test releases them (in order), recording each. */
class HeldFsync {
  readonly waiting: ((error: NodeJS.ErrnoException | null) => void)[] = [];
  calls = 0;
  readonly fsync: Fsync = (_fd, done) => {
    this.calls++;
    this.waiting.push(done);
  };
  /** Resolves once an fsync is waiting. */
  async next(): Promise<(error: NodeJS.ErrnoException | null) => void> {
    for (let i = 0; i < 1000 && this.waiting.length === 0; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.ok(this.waiting.length > 0, 'an fsync of the WAL file was started');
    return this.waiting.shift()!;
  }
}

const put = (cfs: CfsService, path: string) => cfs.write({ type: 'put', path, data: new TextEncoder().encode(path) });

test('the writes of one turn share one commit; none is acknowledged before it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfs-service-'));
  try {
    const cfs = oneNode(dir);
    const answered: number[] = [];
    const writes = ['a', 'b', 'c'].map((path) =>
      cfs.write({ type: 'put', path, data: new TextEncoder().encode(path) }).then((result: CfsResult) => {
        assert.ok(result.ok);
        answered.push(result.version);
        return result;
      }),
    );
    // Submitted, delivered and applied synchronously; a settled answer would be seen after a few microtasks. The
    // turn has not ended (its commit is a setImmediate).
    for (let i = 0; i < 20; i++) await Promise.resolve();
    assert.equal(cfs.store.appliedSeq(), 3, 'applied in this turn');
    assert.equal(cfs.store.committedSeq(), 0, 'not committed before the turn ends');
    assert.deepEqual(answered, [], 'none acknowledged before its commit');
    await Promise.all(writes);
    assert.deepEqual(answered, [1, 2, 3]);
    assert.equal(cfs.store.committedSeq(), 3, 'one commit covered all three');
    cfs.close();
    const reopened = new CfsStore(join(dir, 'cfs_1.sqlite'));
    assert.equal(reopened.appliedSeq(), 3, 'acknowledged writes are on disk');
    reopened.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a write is acknowledged only after the WAL sync that covers its commit; one sync at a time covers all before it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfs-service-'));
  try {
    const disk = new HeldFsync();
    const cfs = oneNode(dir, disk.fsync);
    const answered: string[] = [];
    const track = (path: string) => put(cfs, path).then((result) => answered.push(`${path}:${result.ok}`));
    const first = [track('a'), track('b')];
    const syncFirst = await disk.next();
    assert.equal(cfs.store.committedSeq(), 2, 'committed at the end of the turn');
    assert.deepEqual(answered, [], 'not acknowledged before the sync');
    // Two more turns commit while the first sync is under way: no second fsync until it is done.
    const second = [track('c')];
    await new Promise((resolve) => setImmediate(resolve));
    const third = [track('d')];
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(cfs.store.committedSeq(), 4);
    assert.equal(disk.calls, 1, 'one fsync at a time');
    syncFirst(null);
    await Promise.all(first);
    assert.deepEqual(answered, ['a:true', 'b:true'], 'the first sync answers only the commit it covered');
    const syncRest = await disk.next();
    assert.equal(disk.calls, 2, 'one more fsync for both later commits');
    syncRest(null);
    await Promise.all([...second, ...third]);
    assert.deepEqual(answered, ['a:true', 'b:true', 'c:true', 'd:true']);
    cfs.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failed WAL sync refuses the writes it covered, counted, and makes the copy stale until it re-syncs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfs-service-'));
  try {
    const disk = new HeldFsync();
    const cfs = oneNode(dir, disk.fsync);
    const result = put(cfs, 'a');
    (await disk.next())(Object.assign(new Error('input/output error'), { code: 'EIO' }));
    const outcome = await result;
    assert.equal(outcome.ok, false);
    assert.equal(!outcome.ok && outcome.code, 'storage');
    assert.match(!outcome.ok ? outcome.message : '', /cannot sync the store's WAL file .*EIO|input\/output error/);
    assert.equal(cfs.core.counters.refused.storage, 1);
    assert.match(cfs.core.failure ?? '', /cannot sync the store's WAL file/);
    const next = await put(cfs, 'b');
    assert.equal(!next.ok && next.code, 'storage', 'a stale copy refuses writes');
    cfs.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
