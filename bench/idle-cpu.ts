/**
 * Idle cost of a daemon: CPU seconds (user + system, /proc/PID/stat) each daemon uses over a window in which the
 * cluster does nothing — its own and its descendants' (corolink's carrier watch: `ip -o monitor link` and the shell
 * that ends it, src/daemon/carrier-watch.ts; live ones from /proc/PID/task/TID/children, recursively, exited ones
 * from the reaped children's figure: processTreeCpuSeconds) — with the 1-minute load average at the end (the machine
 * is shared: read figures with it). Also two figures load does not distort: wake-ups of the daemon's main thread per
 * second (voluntary context switches, /proc/PID/status) and UDP datagrams its host sent and received per second
 * (/proc/PID/net/snmp: each lab host is its own network namespace, so these are the daemon's). Used by
 * `npm run bench:idle` and the idle row of `npm run bench:vs-corosync`.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { mainThreadCpuSeconds, processTreeCpuSeconds } from '../src/lab/netns-lab.ts';

/** The idle window: 30 s, as the and Corosync's comparison figures. */
export const IDLE_WINDOW_MS = Number(process.env.BENCH_IDLE_MS ?? 30_000);

export interface IdleCpu {
  /** CPU seconds per daemon (with its descendants) over the window, in the order of `pids`. */
  perDaemonS: number[];
  /** Mean of perDaemonS. */
  meanS: number;
  /** CPU seconds of the daemons' main threads (the event loop), mean over the daemons; the rest is V8's helpers. */
  mainThreadS: number;
  /** Main-thread wake-ups (voluntary context switches) per second, mean over the daemons. */
  wakeupsPerS: number;
  /** UDP datagrams sent / received per second by each daemon's host, mean over the daemons. */
  udpOutPerS: number;
  udpInPerS: number;
  /** 1-minute load average when the window ended. */
  load1: number;
}

/** Voluntary context switches of the process's main thread so far. */
function wakeups(pid: number): number {
  return Number(/^voluntary_ctxt_switches:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
}

/** UDP datagrams [out, in] of the process's network namespace so far. */
function udpDatagrams(pid: number): [number, number] {
  const [names, values] = readFileSync(`/proc/${pid}/net/snmp`, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('Udp:'))
    .map((line) => line.split(/\s+/));
  const field = (name: string) => Number(values?.[names?.indexOf(name) ?? -1] ?? NaN);
  return [field('OutDatagrams'), field('InDatagrams')];
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/** CPU seconds each of `pids` uses over IDLE_WINDOW_MS. */
export async function idleCpu(pids: number[]): Promise<IdleCpu> {
  const before = pids.map((pid) => ({
    cpu: processTreeCpuSeconds(pid),
    mainThread: mainThreadCpuSeconds(pid),
    wakeups: wakeups(pid),
    udp: udpDatagrams(pid),
  }));
  await new Promise((resolve) => setTimeout(resolve, IDLE_WINDOW_MS));
  const windowS = IDLE_WINDOW_MS / 1000;
  const perDaemonS = pids.map((pid, i) => processTreeCpuSeconds(pid) - before[i]!.cpu);
  const perS = (value: (pid: number) => number, start: (i: number) => number) =>
    mean(pids.map((pid, i) => (value(pid) - start(i)) / windowS));
  return {
    perDaemonS,
    meanS: mean(perDaemonS),
    mainThreadS: mean(pids.map((pid, i) => mainThreadCpuSeconds(pid) - before[i]!.mainThread)),
    wakeupsPerS: perS(wakeups, (i) => before[i]!.wakeups),
    udpOutPerS: perS(
      (pid) => udpDatagrams(pid)[0],
      (i) => before[i]!.udp[0],
    ),
    udpInPerS: perS(
      (pid) => udpDatagrams(pid)[1],
      (i) => before[i]!.udp[1],
    ),
    load1: loadavg()[0]!,
  };
}
