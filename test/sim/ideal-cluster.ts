// A stand-in cluster for testing the fuzz runner itself: an oracle with perfect membership (connected components
// of the virtual network, re-evaluated every poll) and instant, totally ordered delivery inside a component.
// `flaw` injects one deliberate bug so tests can show the runner and checkers catch it.

import type { ConfigEntry } from '../../src/sim/checkers.ts';
import type { ClusterDeliverEntry, ClusterTrace, FuzzCluster } from '../../src/sim/fuzz-run.ts';
import { Rng, Scheduler, VirtualNetwork } from '../../src/sim/index.ts';
import type { Guarantee } from '../../src/totem/types.ts';

const MEMBERSHIP_POLL_MS = 50;

export type Flaw = 'none' | 'node2-skips-a-message';

export function createIdealCluster(
  options: { seed: number; nodes: number; links: number },
  flaw: Flaw = 'none',
): FuzzCluster {
  const scheduler = new Scheduler();
  const network = new VirtualNetwork(scheduler, new Rng(options.seed), { links: options.links });
  const nodeIds = Array.from({ length: options.nodes }, (_, i) => i + 1);
  const traces: ClusterTrace[] = [];
  const current = new Map<number, ClusterTrace>();
  const ringOf = new Map<number, { members: number[]; ringId: ConfigEntry['ringId']; seq: number }>();
  let ringSeq = 0;
  let delivered = 0;

  const start = (node: number) => {
    const trace: ClusterTrace = {
      node,
      incarnation: traces.filter((t) => t.node === node).length,
      entries: [],
      ended: 'alive',
    };
    traces.push(trace);
    current.set(node, trace);
    network.addHost(node, () => {});
    ringOf.delete(node);
  };
  const connected = (a: number, b: number) =>
    Array.from({ length: options.links }, (_, link) => link).some(
      (link) => network.canReach(a, b, link) && network.canReach(b, a, link),
    );
  const components = (): number[][] => {
    const up = nodeIds.filter((id) => current.has(id));
    const seen = new Set<number>();
    const out: number[][] = [];
    for (const root of up) {
      if (seen.has(root)) continue;
      const component = [root];
      seen.add(root);
      for (let i = 0; i < component.length; i++) {
        for (const other of up) {
          if (!seen.has(other) && connected(component[i]!, other)) {
            seen.add(other);
            component.push(other);
          }
        }
      }
      out.push(component.sort((a, b) => a - b));
    }
    return out;
  };
  const reconfigure = () => {
    for (const members of components()) {
      const same = members.every((id) => ringOf.get(id)?.members.join() === members.join());
      if (same) continue;
      ringSeq += 4;
      const ring = { members, ringId: { rep: members[0]!, seq: ringSeq }, seq: 0 };
      for (const id of members) {
        const old = ringOf.get(id);
        const entries = current.get(id)!.entries;
        if (old)
          entries.push({
            kind: 'config',
            type: 'transitional',
            members: old.members.filter((m) => members.includes(m)),
            ringId: ring.ringId,
          });
        entries.push({ kind: 'config', type: 'regular', members, ringId: ring.ringId });
        ringOf.set(id, ring);
      }
    }
    scheduler.after(MEMBERSHIP_POLL_MS, reconfigure);
  };
  for (const id of nodeIds) start(id);
  reconfigure();

  return {
    scheduler,
    network,
    nodeIds,
    multicast(node: number, payload: Uint8Array, guarantee: Guarantee): boolean {
      const ring = ringOf.get(node);
      if (!current.has(node) || !ring) return false;
      const entry: ClusterDeliverEntry = {
        kind: 'deliver',
        sender: node,
        payload,
        ringId: ring.ringId,
        seq: ++ring.seq,
        guarantee,
      };
      for (const id of ring.members) {
        if (flaw === 'node2-skips-a-message' && id === 2 && ++delivered === 7) continue;
        current.get(id)?.entries.push(entry);
      }
      return true;
    },
    crash(node: number) {
      current.get(node)!.ended = 'crashed';
      current.delete(node);
      ringOf.delete(node);
      network.removeHost(node);
    },
    restart: start,
    isUp: (node: number) => current.has(node),
    setTimerLateness() {},
    traces: () => traces,
  };
}
