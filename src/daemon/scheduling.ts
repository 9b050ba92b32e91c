/**
 * `system { sched_rr priority }` as corosync applies them at start (corosync.conf(5)): real-time round robin at the
 * highest priority, and when that is off or fails, the nice value of `priority` (when it fails and none is given,
 * the most favourable one). A failure is one warning line in corosync's words and the daemon goes on.
 *
 * Node has no sched_setscheduler(2): util-linux's `chrt` (every Linux host has it) is run once, on this process,
 * with `--all-tasks` (the event loop and the threads that exist by then: the libuv pool that writes the log, V8's
 * collector helpers, which the loop waits for in a scavenge) and `--reset-on-fork` (children — HA resource agents,
 * the watchdog supervisor — start under the normal scheduler, as do threads started later). Nice values go through
 * `os.setPriority` on every thread (Linux keeps one per thread). The effective policy is read back from
 * /proc/self/stat, as `corolink cmap runtime.scheduler` shows it.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { SCHED_RR_PRIORITY_MAX } from '../base/limits.ts';
import { type EffectiveScheduling, SCHED_RR_FALLBACK_NICE } from '../config/defaults.ts';

/** The kernel's policy numbers (sched.h) by name; /proc/PID/stat field 41. */
const POLICY_NAMES: Record<number, string> = {
  0: 'SCHED_OTHER',
  1: 'SCHED_FIFO',
  2: 'SCHED_RR',
  3: 'SCHED_BATCH',
  5: 'SCHED_IDLE',
  6: 'SCHED_DEADLINE',
};
/** How long `chrt` may take before the attempt counts as failed. */
const CHRT_TIMEOUT_MS = 5_000;

/** A thread's scheduling as the kernel reports it. */
export interface Scheduling {
  policy: string;
  /** 1–99 under SCHED_RR/SCHED_FIFO, else 0. */
  rtPriority: number;
  nice: number;
}

/** The scheduling of a process (its main thread) or one of its threads, from /proc/PID[/task/TID]/stat. */
export function readScheduling(path = '/proc/self/stat'): Scheduling {
  // The command name (field 2) may hold spaces and parentheses: count the fields after its closing one.
  const text = readFileSync(path, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): field N is fields[N - 3].
  const policy = Number(fields[41 - 3]);
  return {
    policy: POLICY_NAMES[policy] ?? `policy ${policy}`,
    rtPriority: Number(fields[40 - 3]),
    nice: Number(fields[19 - 3]),
  };
}

/** The reason of a failed `chrt`: its last `: `-separated part ("Operation not permitted"), or why it did not run. */
function chrtFailure(result: ReturnType<typeof spawnSync>): string | undefined {
  if (result.error !== undefined) {
    const code = (result.error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'chrt (util-linux) is not installed' : result.error.message;
  }
  if (result.status === 0) return undefined;
  const stderr = String(result.stderr).trim();
  return stderr.slice(stderr.lastIndexOf(': ') + 2) || `chrt exited with ${result.status ?? result.signal}`;
}

/** Sets `nice` on every thread of this process; the reason when any refused. */
function setNice(nice: number): string | undefined {
  try {
    for (const tid of readdirSync('/proc/self/task')) setPriority(Number(tid), nice);
    return undefined;
  } catch (error) {
    const info = (error as { info?: { message?: string } }).info;
    return info?.message ?? (error as Error).message;
  }
}

/** Applies `scheduling` to this process; each failure is logged as a warning. Returns the effective scheduling. */
export function applyScheduling(
  scheduling: EffectiveScheduling,
  log: (level: 'warning' | 'info', message: string) => void,
): Scheduling {
  let nice = scheduling.nice;
  if (scheduling.schedRr) {
    const args = [
      '--rr',
      '--reset-on-fork',
      '--all-tasks',
      '--pid',
      String(SCHED_RR_PRIORITY_MAX),
      String(process.pid),
    ];
    const failure = chrtFailure(
      spawnSync('chrt', args, { timeout: CHRT_TIMEOUT_MS, stdio: ['ignore', 'ignore', 'pipe'] }),
    );
    if (failure === undefined) nice = null;
    else {
      log('warning', `Could not set SCHED_RR at priority ${SCHED_RR_PRIORITY_MAX}: ${failure}`);
      nice ??= SCHED_RR_FALLBACK_NICE;
    }
  }
  if (nice !== null) {
    const failure = setNice(nice);
    if (failure !== undefined) log('warning', `Could not set priority ${nice}: ${failure}`);
  }
  const effective = readScheduling();
  log('info', `scheduling: ${effective.policy}, real-time priority ${effective.rtPriority}, nice ${effective.nice}`);
  return effective;
}
