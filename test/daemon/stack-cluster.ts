// Service stacks wired back to back (no transport) on a virtual clock, for tests of the engines above Totem.
import assert from 'node:assert/strict';
import { DEFAULT_LINK_MTU } from '../../src/config/defaults.ts';
import {
  ServiceStack,
  type StackAction,
  type StackEvent,
  type StackOptions,
  stackSizes,
} from '../../src/daemon/stack.ts';
import type { QuorumOptions } from '../../src/quorum/index.ts';
import { corosyncTotemOptions } from '../../src/sim/cluster.ts';

const RUN_LIMIT_MS = 60_000;
/** The daemon's packer and largest Totem payload, for links of the default MTU. */
const STACK_SIZES = stackSizes(DEFAULT_LINK_MTU);

/** How a node's stack takes one event: its whole step by default (a test may step it in pieces). */
export type StackStepper = (id: number, stack: ServiceStack, event: StackEvent, now: number) => StackAction[];

/**
 * One stack per node of `nodes`, each registering the engines `services(node)` builds. Nodes in `cut` neither send
 * nor receive. Every action but `transportSend` is kept in `outputs`. The stacks have the daemon's sizes, or
 * `totemPayloadBytesMax` when given.
 */
export function stackCluster(
  nodes: number[],
  services: (node: number) => NonNullable<StackOptions['services']>,
  totemPayloadBytesMax?: number,
  quorumExtra: Omit<QuorumOptions, 'localNodeId' | 'nodelist'> = {},
  stepper: StackStepper = (_id, stack, event, now) => stack.step(event, now),
) {
  let now = 0;
  const cut = new Set<number>();
  const stacks = new Map<number, ServiceStack>();
  const outputs = new Map<number, StackAction[]>(nodes.map((id) => [id, []]));
  for (const id of nodes) {
    const options = {
      totem: { ...corosyncTotemOptions(nodes.length), localNodeId: id, nodes, packer: STACK_SIZES.packer },
      quorum: { ...quorumExtra, localNodeId: id, nodelist: nodes.map((nodeId) => ({ nodeId })) },
      services: services(id),
      totemPayloadBytesMax: totemPayloadBytesMax ?? STACK_SIZES.totemPayloadBytesMax,
    };
    stacks.set(id, new ServiceStack(options, now));
  }
  const wire: { to: number; from: number; payload: Uint8Array }[] = [];
  const step = (id: number, event: StackEvent) => {
    for (const action of stepper(id, stacks.get(id)!, event, now)) {
      if (action.type !== 'transportSend') outputs.get(id)!.push(action);
      else if (!cut.has(id)) {
        for (const to of action.to === 'all' ? nodes.filter((n) => n !== id) : [action.to]) {
          if (!cut.has(to)) wire.push({ to, from: id, payload: action.payload });
        }
      }
    }
  };
  const runUntil = (done: () => boolean) => {
    while (!done()) {
      assert.ok(now < RUN_LIMIT_MS, 'the cluster did not get there in time');
      const datagram = wire.shift();
      if (datagram) {
        step(datagram.to, { type: 'transportDeliver', from: datagram.from, payload: datagram.payload });
        continue;
      }
      now = Math.max(now + 0.1, Math.min(...[...stacks.values()].map((s) => s.nextDeadline()), now + 10));
      for (const id of nodes) step(id, { type: 'tick' });
    }
  };
  const members = (id: number) => stacks.get(id)!.snapshot().totem.members.length;
  return { cut, stacks, outputs, step, runUntil, members };
}
