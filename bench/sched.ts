/**
 * `BENCH_SCHED_RR=yes|no`: corolink's `system.sched_rr` in a bench's generated config, so one bench runs both ways
 * for an A/B (docs/benchmarks.md "Real-time scheduling"). The benches that compare with Corosync default to `yes`,
 * the way Corosync runs (its default, as root); the loopback ones to LocalCluster's `no`.
 */
export function benchSystemExtra(fallback: 'yes' | 'no'): { sched_rr: string } {
  const value = process.env.BENCH_SCHED_RR ?? fallback;
  if (value !== 'yes' && value !== 'no') throw new Error(`BENCH_SCHED_RR must be yes or no, not "${value}"`);
  return { sched_rr: value };
}
