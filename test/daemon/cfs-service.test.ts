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

test('the writes of one turn share one commit; none is acknowledged before it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfs-service-'));
  try {
    const cfs = new CfsService(dir, 1, () => {});
    const [service] = cfs.services({ payloadBytesMax: undefined, quorate: () => true });
    const engine = new LoopbackEngine(service!);
    cfs.attach(engine as unknown as NodeEngine);
    const change = { kind: 'regular', members: [1], ringId: { rep: 1, seq: 4 } } as unknown as RegularChange;
    engine.run(service!.syncInit!(change, 0));
    assert.equal(cfs.core.phase, 'synced');

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
