/** Shared test helper: nodelists for the quorum simulator. */
import type { QuorumNodelistEntry } from '../../src/quorum/types.ts';

/** Nodes 1..count with one vote each, or with the given votes (index 0 = node 1). */
export function nodelist(count: number, votes: readonly number[] = []): QuorumNodelistEntry[] {
  return Array.from({ length: count }, (_, index) => ({ nodeId: index + 1, quorumVotes: votes[index] ?? 1 }));
}
