// What the tests wait for in a CPG group: a listener that stays until the wanted event (the events of one read are
// emitted together, so `once` in a loop would miss the second), bounded by a timeout that names the group.
import type { CpgConfchg, CpgGroup, CpgGroupEvents, CpgMessage } from '../src/client/cpg-group.ts';

function nextEvent<K extends 'message' | 'confchg'>(
  group: CpgGroup,
  event: K,
  accept: (value: CpgGroupEvents[K][0]) => boolean,
  timeoutMs: number,
  what: string,
): Promise<CpgGroupEvents[K][0]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      group.off(event, listener as never);
      reject(new Error(`${what} in group ${group.name} within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (value: CpgGroupEvents[K][0]) => {
      if (!accept(value)) return;
      clearTimeout(timer);
      group.off(event, listener as never);
      resolve(value);
    };
    group.on(event, listener as never);
  });
}

/** Resolves with the next message `group` delivers that `accept` takes; rejects after `timeoutMs`. */
export function nextMessage(
  group: CpgGroup,
  accept: (message: CpgMessage) => boolean,
  timeoutMs: number,
): Promise<CpgMessage> {
  return nextEvent(group, 'message', accept, timeoutMs, 'no such message');
}

/** Resolves once a confchg of `group` shows at least `count` members; rejects after `timeoutMs`. */
export async function membersReach(group: CpgGroup, count: number, timeoutMs: number): Promise<void> {
  await nextEvent(
    group,
    'confchg',
    (change: CpgConfchg) => change.members.length >= count,
    timeoutMs,
    `no confchg with ${count} members`,
  );
}
