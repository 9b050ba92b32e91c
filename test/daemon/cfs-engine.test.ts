// The file store as service engine 3 on stacks wired back to back (no daemons): writes replicate in agreed order,
// fragmented above one Totem payload, and a node arriving with an older copy takes the others' state in the
// store's sync phase after the configuration change.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CfsStore } from '../../src/cfs/store.ts';
import { CFS_SERVICE_ID, CfsEngine, type CfsOutput, type CfsRequest } from '../../src/daemon/cfs-engine.ts';
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
      ({ payloadBytesMax }) => {
        const engine = new CfsEngine(id, stores.get(id)!, payloadBytesMax);
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
