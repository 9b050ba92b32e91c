/**
 * Multi-sender fairness of Totem's flow control (docs/totem.md "Flow control"): with every member saturated — more
 * pending than max_messages at each visit — the window rule (window_size − fcc, max_messages per visit) gives each
 * sender an equal share of the ring, whatever the depth of its queue.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MiniRing } from './mini-ring.ts';

const NODES = [1, 2, 3];
/** Virtual time the senders are kept saturated. */
const LOAD_MS = 300;

/** Keeps each node's pending queue at `depth[node − 1]` for LOAD_MS; returns the messages n1 delivered per sender. */
function saturated(depth: number[]): { perSender: number[]; ring: MiniRing; since: number } {
  const ring = new MiniRing(NODES);
  ring.runFor(500);
  for (const node of NODES) assert.deepEqual(ring.cores.get(node)!.snapshot().members, NODES);
  const since = ring.of(1, 'deliver').length;
  let n = 0;
  for (let ms = 0; ms < LOAD_MS; ms++) {
    for (const node of NODES) {
      const core = ring.cores.get(node)!;
      while (core.snapshot().pending < depth[node - 1]!) ring.multicast(node, `${node}:${n++}`);
    }
    ring.runFor(1);
  }
  const delivered = ring.of(1, 'deliver').slice(since);
  return { perSender: NODES.map((s) => delivered.filter((d) => d.sender === s).length), ring, since };
}

const fairness = (perSender: number[]) => Math.max(...perSender) / Math.min(...perSender);

describe('Totem flow control: 3 saturated senders', () => {
  test('equal queues: each sender gets an equal share (max/min ≤ 1.5), in the same order on every node', () => {
    const { perSender, ring, since } = saturated([200, 200, 200]);
    assert.ok(Math.min(...perSender) > 1000, `every sender is served: ${perSender}`);
    assert.ok(fairness(perSender) <= 1.5, `shares ${perSender}`);
    const order = (node: number) =>
      ring
        .of(node, 'deliver')
        .slice(since)
        .map((d) => d.seq);
    const common = Math.min(...NODES.map((node) => order(node).length));
    for (const node of [2, 3]) assert.deepEqual(order(node).slice(0, common), order(1).slice(0, common));
  });

  test('a sender with a 20× deeper queue gets no more than the others (no backlog-proportional share)', () => {
    // corosync's fcc_calculate caps each visit at window_size × my backlog ÷ the ring's backlog: with these queues
    // it gives n1 8.5× the others' share (measured on this bench with that cap added, docs/totem.md).
    const { perSender } = saturated([4000, 200, 200]);
    assert.ok(fairness(perSender) <= 1.5, `shares ${perSender}`);
  });
});
