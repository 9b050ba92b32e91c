// Issue 14 (docs/benchmarks.md, "twelve formations": one 32-node formation took 40.1 s). A member of the ring being
// formed drops out while the commit token goes round: its transport takes every link down at once (a send fails
// with ENETUNREACH, as when a loaded daemon finds its pongs late), so it fails every peer and installs a ring of its
// own; its peers never see a link go down. The members already in COMMIT used to wait for the token-loss timeout
// (22.5 s at 32 nodes) — its MERGE_DETECT was ignored in COMMIT — before they gathered again. After the last fault
// with every link up, the 32 must be one ring again far sooner than a token timeout.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { derivedJoinMs, fastLinkTimers } from '../../src/config/defaults.ts';
import { corosyncTotemOptions, SimCluster, TRANSPORT_SETTLED_MS } from '../../src/sim/cluster.ts';
import { DEFAULT_CONFIG_STAMP } from '../../src/totem/config-stamp.ts';
import { decodeMessage, encodeMessage } from '../../src/totem/messages.ts';
import { TotemCore } from '../../src/totem/totem.ts';
import type { TotemAction } from '../../src/totem/types.ts';

const NODE_COUNT = 32;
/** How long the dropout's outbound cables are dead: far below its peers' ping timeout, so only it sees it. */
const OUTBOUND_CUT_MS = 300;
/** One ring of all within this after the cut heals (a link's pongs, a MERGE_DETECT, one gather round). */
const CONVERGED_BOUND_MS = 3000;

/** The daemon's timings at 32 nodes: token 22.5 s, consensus 27 s, join 200 ms, ping timeout 1406 ms. */
function scaleCluster(seed: number, nodes: number[]): SimCluster {
  const totem = corosyncTotemOptions(nodes.length);
  const { pingTimeoutMs, pingIntervalMs, pongCount } = fastLinkTimers({}, totem.tokenMs);
  return new SimCluster({
    seed,
    nodes,
    links: 2,
    totem: { joinMs: derivedJoinMs(nodes.length, totem.consensusMs) },
    transport: { pingTimeoutMs, pingIntervalMs, pongCount },
  });
}

for (const dropout of [20, 31, 32]) {
  test(`32 nodes: node ${dropout} installs a ring of its own during the commit rotation → one ring of 32 within ${CONVERGED_BOUND_MS} ms`, () => {
    const nodes = Array.from({ length: NODE_COUNT }, (_, index) => index + 1);
    const cluster = scaleCluster(dropout, nodes);
    assert.ok(
      cluster.runUntil(() => cluster.converged(nodes), 60_000),
      'the 32 form their first ring',
    );
    assert.ok(cluster.totem.tokenMs > 20_000, `token ${cluster.totem.tokenMs} ms: the 32-node timings`);
    cluster.runFor(TRANSPORT_SETTLED_MS);
    // A membership round of all 32: the last node restarts and merges.
    cluster.crash(NODE_COUNT);
    cluster.runFor(3000);
    cluster.restart(NODE_COUNT);
    const committing = () => nodes.some((node) => cluster.snapshot(node).state === 'commit');
    assert.ok(cluster.runUntil(committing, 30_000, 0.01), 'the commit token of the 32-node ring goes round');
    for (const link of [0, 1]) cluster.network.cut(dropout, link, 'out');
    cluster.runFor(OUTBOUND_CUT_MS);
    for (const link of [0, 1]) cluster.network.restore(dropout, link, 'out');
    const alone = cluster
      .node(dropout)
      .trace.entries.some((entry) => entry.kind === 'config' && entry.type === 'regular' && entry.members.length === 1);
    assert.ok(alone, `node ${dropout} installed a ring of its own during the cut`);
    const healedAt = cluster.scheduler.now();
    const converged = cluster.runUntil(() => cluster.converged(nodes), 60_000);
    const tookMs = cluster.scheduler.now() - healedAt;
    assert.ok(converged && tookMs <= CONVERGED_BOUND_MS, `one ring of 32 ${tookMs} ms after the cut healed`);
  });
}

/** Node 1 of [1, 2, 3] (32-node timings), in COMMIT of the ring of all three, its commit token sent to node 2. */
function committingCore(options: { twoUnreachableBefore: boolean }): { core: TotemCore; sent: Uint8Array } {
  const core = new TotemCore({ ...corosyncTotemOptions(NODE_COUNT), localNodeId: 1, nodes: [1, 2, 3] }, 0);
  core.step({ type: 'tick' }, 0); // its ring of one (seq 4)
  if (options.twoUnreachableBefore) core.step({ type: 'peerUnreachable', nodeId: 2 }, 1);
  const join = (sender: number) =>
    encodeMessage({ type: 'join', sender, proc: [1, 2, 3], fail: [], ringSeq: 4, stamp: DEFAULT_CONFIG_STAMP });
  const actions: TotemAction[] = [];
  for (const at of [2, 3]) {
    for (const sender of [2, 3])
      actions.push(...core.step({ type: 'receive', from: sender, payload: join(sender) }, at));
  }
  assert.equal(core.snapshot().state, 'commit');
  const commit = actions.find((action) => action.type === 'send' && action.to === 2);
  assert.ok(commit?.type === 'send' && decodeMessage(commit.payload)?.type === 'commit', 'commit token sent to 2');
  return { core, sent: commit.payload };
}

const mergeDetect = (sender: number, seq: number) =>
  encodeMessage({
    type: 'mergeDetect',
    sender,
    ringId: { rep: sender, seq },
    members: [sender],
    stamp: DEFAULT_CONFIG_STAMP,
  });

test('COMMIT: a MERGE_DETECT of a ring a forming member installed after its JOIN → GATHER; of an older ring → ignored', () => {
  const { core } = committingCore({ twoUnreachableBefore: false });
  // Node 2's ring from before its JOIN (seq ≤ the JOIN's ring seq 4), delivered late: the round goes on.
  core.step({ type: 'receive', from: 2, payload: mergeDetect(2, 4) }, 10);
  assert.equal(core.snapshot().state, 'commit');
  // A ring node 2 installed after its JOIN: it left the round.
  const out = core.step({ type: 'receive', from: 2, payload: mergeDetect(2, 12) }, 11);
  assert.equal(core.snapshot().state, 'gather');
  assert.ok(out.some((action) => action.type === 'log' && /Node 2 installed ring 2\.c: it left/.test(action.message)));
});

test('COMMIT: the commit token sent while node 2 had no link up goes again the moment node 2 is reachable', () => {
  const { core, sent } = committingCore({ twoUnreachableBefore: true });
  const out = core.step({ type: 'peerReachable', nodeId: 2 }, 10);
  const resent = out.find((action) => action.type === 'send' && action.to === 2);
  assert.ok(resent?.type === 'send', 'a send to node 2');
  assert.deepEqual(resent.payload, sent, 'the same commit token');
  assert.equal(core.snapshot().tokenRetransmits, 1);
  assert.equal(core.snapshot().state, 'commit');
});
