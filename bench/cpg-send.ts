/**
 * Sends as fast as the client library's flow control lets (docs/client.md "Flow control"): every send handed over
 * at once, waiting for `drain` whenever the group is not writable. No retry loop: the group paces itself. And the
 * wait before any measurement that the group spans the whole ring.
 */
import { once } from 'node:events';
import type { CpgGroup } from '../src/client/cpg-group.ts';

/**
 * Sends `payload` `count` times (or until `stopAt`, performance.now() ms); resolves with the number queued once
 * every send resolved, or rejects with the first send's error. A function gives the payload of the i-th send
 * (`group.send` copies it at once). Counts the settled sends instead of keeping their promises, as cpgbench keeps
 * nothing: a phase's 150,000 promises were all alive until its end.
 */
export async function sendMany(
  group: CpgGroup,
  payload: Uint8Array | ((index: number) => Uint8Array),
  count: number,
  stopAt = Infinity,
): Promise<number> {
  let queued = 0;
  let settled = 0;
  let failure: unknown;
  let allSettled: (() => void) | undefined;
  const onSettled = () => {
    settled++;
    if (settled === queued) allSettled?.();
  };
  const onError = (error: unknown) => {
    failure ??= error;
    onSettled();
  };
  while (queued < count && performance.now() < stopAt && failure === undefined) {
    group.send(typeof payload === 'function' ? payload(queued) : payload).then(onSettled, onError);
    queued++;
    if (!group.writable) await once(group, 'drain');
  }
  if (settled < queued) await new Promise<void>((resolve) => (allSettled = resolve));
  if (failure !== undefined) throw failure;
  return queued;
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
