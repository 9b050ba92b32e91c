/** `BENCH_TOTEM=key=value,…`: totem {} keys a bench adds to its generated config (bench:totem, bench:latency). */
export function benchTotemExtra(): Record<string, string> {
  return Object.fromEntries(
    (process.env.BENCH_TOTEM ?? '')
      .split(',')
      .filter((pair) => pair !== '')
      .map((pair) => pair.split('=') as [string, string]),
  );
}
