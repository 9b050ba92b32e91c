// The pure service stack never drops a service message: when Totem's queue is full, CPG messages wait in order and
// go in as room appears. Two stacks wired back to back (no transport), driven by their own deadlines.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ServiceStack, type StackEvent } from '../../src/daemon/stack.ts';
import { corosyncTotemOptions } from '../../src/sim/cluster.ts';

/** CPG fragments each message into ~100 Totem messages in one step: far more than Totem's queue. */
const MESSAGES = 3;
const MESSAGE_BYTES = 100 * 1024;
const TOTEM_PAYLOAD_BYTES = 1024;
const TOTEM_QUEUE = 4;
const RUN_LIMIT_MS = 120_000;
const NODES = [1, 2];

test('CPG messages fragmented far beyond Totem queue are delivered whole, in order, on every node', () => {
  let now = 0;
  const stacks = new Map(
    NODES.map((id) => [
      id,
      new ServiceStack(
        {
          totem: { ...corosyncTotemOptions(2), localNodeId: id, nodes: NODES, maxPendingMessages: TOTEM_QUEUE },
          quorum: { localNodeId: id, nodelist: NODES.map((nodeId) => ({ nodeId })) },
          totemPayloadBytesMax: TOTEM_PAYLOAD_BYTES,
        },
        now,
      ),
    ]),
  );
  const delivered = new Map<number, string[]>(NODES.map((id) => [id, []]));
  let refusals = 0;
  const wire: { to: number; from: number; payload: Uint8Array }[] = [];
  const step = (id: number, event: StackEvent) => {
    for (const action of stacks.get(id)!.step(event, now)) {
      if (action.type === 'transportSend') {
        for (const to of action.to === 'all' ? NODES.filter((n) => n !== id) : [action.to]) {
          wire.push({ to, from: id, payload: action.payload });
        }
      } else if (action.type === 'cpgDeliver') {
        delivered.get(id)!.push(Buffer.from(action.payload).toString('base64'));
      } else if (action.type === 'backpressure' || action.type === 'cpgRequestFailed') {
        refusals++;
      }
    }
  };
  const runUntil = (done: () => boolean) => {
    while (!done() && now < RUN_LIMIT_MS) {
      const datagram = wire.shift();
      if (datagram) {
        step(datagram.to, { type: 'transportDeliver', from: datagram.from, payload: datagram.payload });
        continue;
      }
      now = Math.max(now + 0.1, Math.min(...[...stacks.values()].map((s) => s.nextDeadline()), now + 10));
      for (const id of NODES) step(id, { type: 'tick' });
    }
  };
  for (const id of NODES) step(id, { type: 'tick' });
  runUntil(() => NODES.every((id) => stacks.get(id)!.snapshot().totem.members.length === 2));
  for (const id of NODES) step(id, { type: 'cpgJoin', group: 'burst', pid: 7 });
  runUntil(() => NODES.every((id) => stacks.get(id)!.cpg.members('burst').length === 2));
  const sent = Array.from({ length: MESSAGES }, (_, i) => Buffer.alloc(MESSAGE_BYTES, i + 1));
  for (const payload of sent) step(1, { type: 'cpgMulticast', group: 'burst', pid: 7, payload });
  runUntil(() => NODES.every((id) => delivered.get(id)!.length >= MESSAGES));
  assert.equal(refusals, 0);
  for (const id of NODES) {
    assert.deepEqual(
      delivered.get(id),
      sent.map((payload) => payload.toString('base64')),
      `node ${id}`,
    );
  }
});
