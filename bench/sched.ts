/** The benches' side of `system.sched_rr` (docs/benchmarks.md "Real-time scheduling"). */
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
