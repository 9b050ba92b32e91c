// Packs that span many transport fragments (the daemon's pack budget, src/daemon/stack.ts stackSizes) on the
// whole-stack simulator: a burst of small CPG messages queued between two token visits is packed into MCASTs of up
// to 16 fragments, and with loss on both links every member still delivers every message once, in one order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkStackRecords } from '../../src/sim/stack-checkers.ts';
import { StackSimCluster } from '../../src/sim/stack-cluster.ts';

const NODES = [1, 2, 3];
/** ≈ 40 bytes each on the wire: the burst needs several frames, so its packs are fragmented. */
const BURST = 600;
const LOSS_PCT = 10;
const FORM_MS = 5_000;
const DELIVERY_MS = 20_000;

test('a burst packed into multi-fragment MCASTs is delivered whole and in one order despite 10 % loss', () => {
  const cluster = new StackSimCluster({ seed: 7, nodes: NODES });
  try {
    cluster.scheduler.runFor(FORM_MS);
    const pids = NODES.map((node) => cluster.spawn(node, 'packs'));
    assert.ok(
      pids.every((pid) => pid !== undefined),
      'every node runs a member',
    );
    cluster.scheduler.runFor(FORM_MS);
    for (const link of [0, 1]) cluster.network.setConditions(link, { lossPct: LOSS_PCT });
    const sent: string[] = [];
    for (let i = 0; i < BURST; i++) {
      const id = cluster.multicast(1, pids[0]!);
      assert.ok(id !== undefined, `message ${i} accepted`);
      sent.push(id);
    }
    cluster.scheduler.runFor(DELIVERY_MS);
    cluster.network.clearConditions();
    cluster.scheduler.runFor(FORM_MS);
    for (const trace of cluster.records.cpg) {
      const delivered = trace.entries.flatMap((e) => (e.kind === 'deliver' ? [e.msgId] : []));
      assert.deepEqual(delivered, sent, `${trace.address} delivers the burst once, in the order sent`);
    }
    assert.deepEqual(checkStackRecords(cluster.records, { quiescent: true }), []);
  } finally {
    cluster.close();
  }
});
