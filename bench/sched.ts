/** The benches' side of `system.sched_rr` (docs/benchmarks.md "Real-time scheduling"). */
import { readdirSync, readFileSync } from 'node:fs';
import { readScheduling } from '../src/daemon/scheduling.ts';

/** The policies the daemons with these PIDs run now (`SCHED_RR` …), distinct, to show in a bench's output. */
export function daemonPolicies(pids: (number | undefined)[]): string {
  return [
    ...new Set(pids.map((pid) => (pid === undefined ? 'gone' : readScheduling(`/proc/${pid}/stat`).policy))),
  ].join(' ');
}

/**
 * `BENCH_SCHED_RR=yes|no`: corolink's `system.sched_rr` in a bench's generated config, so one bench runs both ways
 * for an A/B. The benches that compare with Corosync default to `yes`, the way Corosync runs (its default, as
 * root); the loopback ones to LocalCluster's `no`.
 */
export function benchSystemExtra(fallback: 'yes' | 'no'): { sched_rr: string } {
  const value = process.env.BENCH_SCHED_RR ?? fallback;
  if (value !== 'yes' && value !== 'no') throw new Error(`BENCH_SCHED_RR must be yes or no, not "${value}"`);
  return { sched_rr: value };
}

/**
 * Context switches (voluntary + involuntary) of a daemon's threads so far: about one per turn of its loop that
 * found work, so per message it shows how many messages a turn handles (a real-time daemon runs per datagram).
 */
export function contextSwitches(pid: number): number {
  let sum = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
    for (const match of status.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)$/gm)) sum += Number(match[1]);
  }
  return sum;
}

/** A thread's or a process's time on a CPU and its run-queue wait so far, in seconds. */
export interface SchedulerTimes {
  runSeconds: number;
  /** run_delay: runnable, but another task held the CPU. */
  waitSeconds: number;
}

/** One thread's scheduler times, from `/proc/PID/task/TID/schedstat` (ns: on CPU, run-queue wait, slices). */
export function threadSchedulerTimes(pid: number, tid: number | string): SchedulerTimes {
  const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ');
  return { runSeconds: Number(run) / 1e9, waitSeconds: Number(wait) / 1e9 };
}

/** This process's scheduler times: all its threads, and its main thread (the event loop). */
export function ownSchedulerTimes(): SchedulerTimes[] {
  return [schedulerTimes(process.pid), threadSchedulerTimes(process.pid, process.pid)];
}

/** A process's scheduler times, summed over its threads now (a thread that exited took its times with it). */
export function schedulerTimes(pid: number): SchedulerTimes {
  const sum = { runSeconds: 0, waitSeconds: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const thread = threadSchedulerTimes(pid, tid);
    sum.runSeconds += thread.runSeconds;
    sum.waitSeconds += thread.waitSeconds;
  }
  return sum;
}
