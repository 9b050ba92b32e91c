// The real stack as the fuzz runner's cluster: SimCluster (transport core + Totem core per node) with nodes 1…n
// and Totem timings shortened so that a few virtual seconds of faults cause real membership changes.

import { SimCluster, type SimTotemOptions, type SimTransportOptions } from './cluster.ts';
import type { ClusterFactory } from './fuzz-run.ts';

/**
 * Totem timings of fuzz runs: a 500 ms token (corosync's ratios: retransmit = token / 4.2, consensus = 1.2 × token),
 * so the safety phase sees token losses, consensus timeouts and merges, and the liveness phase converges quickly.
 */
export const FUZZ_TOTEM_TIMINGS: Partial<SimTotemOptions> = {
  tokenMs: 500,
  tokenRetransmitMs: 119,
  consensusMs: 600,
  joinMs: 50,
  mergeMs: 200,
};

/** Link heartbeats as corosync derives them from the token (reference §2.4): interval token/4, timeout token/2. */
export const FUZZ_TRANSPORT_TIMINGS: Partial<SimTransportOptions> = {
  pingIntervalMs: 125,
  pingTimeoutMs: 250,
  pongCount: 2,
};

/** Builds the real simulated cluster for one fuzz seed. */
export const createFuzzCluster: ClusterFactory = ({ seed, nodes, links }) =>
  new SimCluster({
    seed,
    nodes: Array.from({ length: nodes }, (_, i) => i + 1),
    links,
    totem: FUZZ_TOTEM_TIMINGS,
    transport: FUZZ_TRANSPORT_TIMINGS,
  });
