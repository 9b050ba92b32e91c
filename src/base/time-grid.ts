/**
 * A time grid: the instants `originMs + k × intervalMs`. The transport pings on one (docs/transport.md § Pings on a
 * shared grid) and the daemon's loop-lag timer (src/web/loop-lag.ts) runs on the same wall-clock grid, so that one
 * wake-up of the event loop serves both.
 */

/** The first grid instant after `afterMs` (so at most one interval later). */
export function gridInstantAfter(afterMs: number, intervalMs: number, originMs = 0): number {
  const at = originMs + (Math.floor((afterMs - originMs) / intervalMs) + 1) * intervalMs;
  return at > afterMs ? at : at + intervalMs; // float rounding can land on afterMs itself
}

/**
 * The origin of the wall-clock grid on performance.now()'s clock: the Unix epoch, so every node's grid is the same
 * (up to their clocks' offsets). Only drivers call it: a pure core gets the origin as an option.
 */
export function wallClockGridOriginMs(): number {
  return -performance.timeOrigin;
}
