// Shared pieces of the HA agent and watchdog tests: bounded waits on process state, exec resources that leave a
// process running in their group.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { groupMembers } from '../../../src/daemon/ha/process-group.ts';
import type { HaResourceSpec } from '../../../src/ha/contract.ts';

const POLL_MS = 10;

/** Resolves once `condition()` holds; rejects naming `what` after `timeoutMs`. */
export async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** True while process `pid` lives (not a zombie). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * An exec resource whose start leaves a `sleep` running in the background (its pid in `dir/<name>.pid`); monitor
 * is 0 while it runs, 7 when not; stop kills it.
 */
export function sleeperSpec(dir: string, name: string, timeoutMs = 5_000): Extract<HaResourceSpec, { type: 'exec' }> {
  const pidFile = join(dir, `${name}.pid`);
  return {
    type: 'exec',
    sid: `exec:${name}`,
    start: `sleep 600 & echo $! > ${pidFile}`,
    stop: `kill $(cat ${pidFile})`,
    // A zombie not reaped yet is not running.
    monitor: `grep -qs '^State:[[:space:]]*[^Z[:space:]]' /proc/$(cat ${pidFile})/status || exit 7`,
    timeoutMs,
  };
}

/** The pid a sleeper's start wrote. */
export function sleeperPid(dir: string, name: string): number {
  const pidFile = join(dir, `${name}.pid`);
  if (!existsSync(pidFile)) throw new Error(`${pidFile} was not written`);
  return Number(readFileSync(pidFile, 'utf8').trim());
}

export { groupMembers };
