// The pure service stack never drops a service message: when Totem's queue is full, CPG messages wait in order and
// go in as room appears. Two stacks wired back to back (no transport), driven by their own deadlines.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ServiceStack, type StackAction, type StackEvent } from '../../src/daemon/stack.ts';
import { corosyncTotemOptions } from '../../src/sim/cluster.ts';
import { type StackStepper, stackCluster } from './stack-cluster.ts';

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

/**
 * Drives a 3-node ring with node 1 multicasting, each step either whole (`step`) or in pieces (`begin`/`resume`),
 * and returns every node's actions in order plus the pieces of node 1's steps.
 */
function runRing(pieces: boolean) {
  const nodes = [1, 2, 3];
  const actions = new Map<number, StackAction[]>(nodes.map((id) => [id, []]));
  const senderPieces: StackAction[][][] = [];
  const stepper: StackStepper = (id, stack, event, now) => {
    const stepPieces: StackAction[][] = [];
    if (pieces) {
      for (let piece: StackAction[] | null = stack.begin(event, now); piece; piece = stack.resume()) {
        stepPieces.push(piece);
      }
    } else stepPieces.push(stack.step(event, now));
    if (id === 1) senderPieces.push(stepPieces);
    actions.get(id)!.push(...stepPieces.flat());
    return stepPieces.flat();
  };
  const c = stackCluster(nodes, () => () => [], undefined, {}, stepper);
  const delivered = (id: number) => actions.get(id)!.filter((a) => a.type === 'cpgDeliver').length;
  for (const id of nodes) c.step(id, { type: 'tick' });
  c.runUntil(() => nodes.every((id) => c.members(id) === 3));
  for (const id of nodes) c.step(id, { type: 'cpgJoin', group: 'hop', pid: 7 });
  c.runUntil(() => nodes.every((id) => c.stacks.get(id)!.cpg.members('hop').length === 3));
  for (let i = 0; i < 40; i++) c.step(1, { type: 'cpgMulticast', group: 'hop', pid: 7, payload: Buffer.alloc(64, i) });
  c.runUntil(() => nodes.every((id) => delivered(id) >= 40));
  return { actions, senderPieces };
}

test('a step in pieces hands over the token forward before the visit’s deliveries, and changes nothing else', () => {
  const whole = runRing(false);
  const split = runRing(true);
  for (const id of [1, 2, 3]) assert.deepEqual(split.actions.get(id), whole.actions.get(id), `node ${id}`);
  // Steps of the sender whose first piece ends with the token forward and whose deliveries come in a later piece.
  const forwardedFirst = split.senderPieces.filter(
    ([first, ...rest]) =>
      first!.at(-1)?.type === 'transportSend' &&
      (first!.at(-1) as { urgent: boolean }).urgent &&
      !first!.some((a) => a.type === 'cpgDeliver') &&
      rest.flat().some((a) => a.type === 'cpgDeliver'),
  );
  assert.ok(forwardedFirst.length > 0, 'no visit of the sender delivered after its token forward');
});
