// The file store as service engine 3 on stacks wired back to back (no daemons): writes replicate in agreed order,
// fragmented above one Totem payload, and a node arriving with an older copy takes the others' state in the
// store's sync phase after the configuration change.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CfsStore } from '../../src/cfs/store.ts';
import { CFS_SERVICE_ID, CfsEngine, type CfsOutput, type CfsRequest } from '../../src/daemon/cfs-engine.ts';
import { FailingStorage } from '../cfs/failing-storage.ts';
import { stackCluster } from './stack-cluster.ts';

const NODES = [1, 2, 3];
/** Small Totem payloads: a file of FILE_BYTES spans several fragments. */
const TOTEM_PAYLOAD_BYTES = 1024;
const FILE_BYTES = 5000;

test('the file store engine replicates writes and syncs a returning node by state transfer', () => {
  const engines = new Map<number, CfsEngine>();
  const stores = new Map(NODES.map((id) => [id, new CfsStore(':memory:')]));
  const c = stackCluster(
    NODES,
    (id) =>
      ({ payloadBytesMax, quorate }) => {
        const engine = new CfsEngine(id, stores.get(id)!, quorate, payloadBytesMax);
        engines.set(id, engine);
        return [engine];
      },
    TOTEM_PAYLOAD_BYTES,
  );
  const results = (id: number) =>
    c.outputs
      .get(id)!
      .flatMap((a) => (a.type === 'serviceOutput' && a.service === CFS_SERVICE_ID ? [a.output as CfsOutput] : []))
      .filter((o) => o.type === 'done');
  const synced = (ids: number[]) => ids.every((id) => engines.get(id)!.core.phase === 'synced');
  c.cut.add(3);
  for (const id of NODES) c.step(id, { type: 'tick' });
  c.runUntil(() => c.members(1) === 2 && c.members(2) === 2 && synced([1, 2]));

  const data = Buffer.alloc(FILE_BYTES, 7);
  const put: CfsRequest = { type: 'put', req: 1, path: 'a/b', data, mtime: 1000, quorate: true };
  c.step(1, { type: 'serviceRequest', service: CFS_SERVICE_ID, request: put });
  c.runUntil(() => results(1).length === 1 && stores.get(2)!.appliedSeq() === 1);
  assert.deepEqual(results(1), [{ type: 'done', req: 1, result: { ok: true, version: 1 } }]);
  assert.deepEqual(stores.get(2)!.get('a/b')?.data, new Uint8Array(data));
  assert.equal(stores.get(3)!.appliedSeq(), 0);

  c.cut.delete(3);
  c.runUntil(() => NODES.every((id) => c.members(id) === 3) && synced(NODES));
  assert.equal(engines.get(3)!.core.counters.stateTransfers, 1);
  for (const id of NODES) assert.equal(stores.get(id)!.digest(), stores.get(1)!.digest(), `node ${id}`);
  assert.deepEqual(engines.get(3)!.core.view, NODES);
});

test('a node whose store fails (SQLITE_FULL) refuses its write, the stack stays up, a resync brings its copy back', () => {
  const engines = new Map<number, CfsEngine>();
  const stores = new Map(NODES.map((id) => [id, new CfsStore(':memory:')]));
  const failing = new FailingStorage(stores.get(2)!);
  const c = stackCluster(NODES, (id) => ({ payloadBytesMax, quorate }) => {
    const engine = new CfsEngine(id, id === 2 ? failing : stores.get(id)!, quorate, payloadBytesMax);
    engines.set(id, engine);
    return [engine];
  });
  const done = (id: number) =>
    c.outputs
      .get(id)!
      .flatMap((a) => (a.type === 'serviceOutput' && a.service === CFS_SERVICE_ID ? [a.output as CfsOutput] : []))
      .filter((o) => o.type === 'done');
  for (const id of NODES) c.step(id, { type: 'tick' });
  c.runUntil(() => NODES.every((id) => c.members(id) === 3 && engines.get(id)!.core.phase === 'synced'));
  failing.failing = true;
  const put = (req: number): CfsRequest => ({
    type: 'put',
    req,
    path: `f${req}`,
    data: Buffer.from('x'),
    mtime: 1,
    quorate: true,
  });
  c.step(2, { type: 'serviceRequest', service: CFS_SERVICE_ID, request: put(1) });
  c.step(1, { type: 'serviceRequest', service: CFS_SERVICE_ID, request: put(2) });
  c.runUntil(() => done(2).length === 1 && done(1).length === 1);
  assert.equal((done(2)[0] as { result: { ok: boolean; code?: string } }).result.code, 'storage');
  assert.equal((done(1)[0] as { result: { ok: boolean } }).result.ok, true, "node 1's write acknowledged");
  assert.ok(engines.get(2)!.core.failure);
  assert.ok(
    c.outputs.get(2)!.some((a) => a.type === 'log' && a.level === 'warning' && /SQLITE_FULL/.test(a.message)),
    'logged',
  );
  failing.failing = false;
  c.step(2, { type: 'serviceRequest', service: CFS_SERVICE_ID, request: { type: 'resync' } });
  c.runUntil(
    () => engines.get(2)!.core.failure === undefined && NODES.every((id) => engines.get(id)!.core.phase === 'synced'),
  );
  for (const id of NODES) assert.equal(stores.get(id)!.digest(), stores.get(1)!.digest(), `node ${id}`);
  assert.equal(c.members(2), 3, 'no membership change');
});
