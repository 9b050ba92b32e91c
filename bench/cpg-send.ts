/**
 * Sends as fast as the client library's flow control lets (docs/client.md "Flow control"): every send handed over
 * at once, waiting for `drain` whenever the group is not writable. No retry loop: the group paces itself.
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
