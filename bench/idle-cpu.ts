/**
 * Idle cost of a daemon: CPU seconds (user + system, /proc/PID/stat) each daemon uses over a window in which the
 * cluster does nothing, with the 1-minute load average at the end (the machine is shared: read figures with it).
 * Used by `npm run bench:idle` and the idle row of `npm run bench:vs-corosync`.
 */
import { loadavg } from 'node:os';
import { processCpuSeconds } from '../src/lab/netns-lab.ts';

/** The idle window: 30 s, as the and Corosync's comparison figures. */
export const IDLE_WINDOW_MS = Number(process.env.BENCH_IDLE_MS ?? 30_000);

export interface IdleCpu {
  /** CPU seconds per daemon over the window, in the order of `pids`. */
  perDaemonS: number[];
  /** Mean of perDaemonS. */
  meanS: number;
  /** 1-minute load average when the window ended. */
  load1: number;
}

/** CPU seconds each of `pids` uses over IDLE_WINDOW_MS. */
export async function idleCpu(pids: number[]): Promise<IdleCpu> {
  const before = pids.map(processCpuSeconds);
  await new Promise((resolve) => setTimeout(resolve, IDLE_WINDOW_MS));
  const perDaemonS = pids.map((pid, i) => processCpuSeconds(pid) - before[i]!);
  return {
    perDaemonS,
    meanS: perDaemonS.reduce((a, b) => a + b, 0) / perDaemonS.length,
    load1: loadavg()[0]!,
  };
}
