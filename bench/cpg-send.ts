/**
 * Sends as fast as the client library's flow control lets (docs/client.md "Flow control"): every send handed over
 * at once, waiting for `drain` whenever the group is not writable. No retry loop: the group paces itself. And the
 * wait before any measurement that the group spans the whole ring.
 */
import { once } from 'node:events';
import type { CpgGroup } from '../src/client/cpg-group.ts';

/**
 * Sends `payload` `count` times (or until `stopAt`, performance.now() ms); resolves with the number queued.
 * A function gives the payload of the i-th send (`group.send` copies it at once).
 */
export async function sendMany(
  group: CpgGroup,
  payload: Uint8Array | ((index: number) => Uint8Array),
  count: number,
  stopAt = Infinity,
): Promise<number> {
  const sends: Promise<void>[] = [];
  while (sends.length < count && performance.now() < stopAt) {
    sends.push(group.send(typeof payload === 'function' ? payload(sends.length) : payload));
    if (!group.writable) await once(group, 'drain');
  }
  await Promise.all(sends);
  return sends.length;
}

/** Longest wait for a group to have a member on every node. */
const WHOLE_GROUP_TIMEOUT_MS = 10_000;

/**
 * Resolves once `group` has `count` members as its daemon sees them (one per node: the ring is whole), polling
 * every 10 ms for at most WHOLE_GROUP_TIMEOUT_MS; a measurement on a ring that lost a node would time a smaller
 * cluster.
 */
export async function wholeGroup(group: CpgGroup, count: number, what: string): Promise<void> {
  const deadline = Date.now() + WHOLE_GROUP_TIMEOUT_MS;
  for (;;) {
    const members = (await group.members()).length;
    if (members === count) return;
    if (Date.now() > deadline) throw new Error(`${what}: ${members} group members, not ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
