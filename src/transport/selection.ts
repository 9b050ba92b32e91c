/**
 * Link selection for data traffic to one peer (knet host.c `_host_dstcache_update_sync`, reference §2.3).
 *
 * - passive: one link, the connected link with the highest priority; ties go to the lowest link number.
 *   corolink deviation — fail-back hold-down: a link that came back after being down must have stayed up for
 *   failbackHoldMs before it can take traffic away from the link in use (knet switches back at once, so a
 *   flapping better link drags traffic back and forth). Failover away from a failed link is always immediate.
 * - active: every connected link; rr: round robin over them (the transport keeps the cursor).
 */
import type { PeerLink } from './peer-link.ts';

/** Whether `a` beats `b` in passive mode: higher priority, then lower link number. */
export function isBetterLink(a: PeerLink, b: PeerLink): boolean {
  if (a.options.priority !== b.options.priority) return a.options.priority > b.options.priority;
  return a.link < b.link;
}

/** When a recovered link's fail-back hold-down ends (the same sum nextFailbackMs reports, so no rounding gap). */
function holdEndMs(link: PeerLink, failbackHoldMs: number): number {
  return link.upSinceMs + failbackHoldMs;
}

/** Whether a recovered link is still inside its fail-back hold-down at `now`. */
export function inHoldDown(link: PeerLink, now: number, failbackHoldMs: number): boolean {
  return link.counters.downCount > 0 && now < holdEndMs(link, failbackHoldMs);
}

/**
 * Passive mode: the link that should carry data now, or null when none is usable.
 * `eligible` = connected links of enabled local links; `current` = the link in use so far (or null).
 */
export function choosePassiveLink(
  eligible: readonly PeerLink[],
  current: number | null,
  now: number,
  failbackHoldMs: number,
): PeerLink | null {
  const inUse = eligible.find((candidate) => candidate.link === current);
  let best: PeerLink | null = null;
  for (const candidate of eligible) {
    const held = inUse !== undefined && candidate !== inUse && inHoldDown(candidate, now, failbackHoldMs);
    if (!held && (best === null || isBetterLink(candidate, best))) best = candidate;
  }
  return best;
}

/** Passive mode: when the next held link leaves its hold-down and could take over (Infinity if none). */
export function nextFailbackMs(eligible: readonly PeerLink[], current: number | null, failbackHoldMs: number): number {
  let earliest = Number.POSITIVE_INFINITY;
  const inUse = eligible.find((candidate) => candidate.link === current);
  if (inUse === undefined) return earliest;
  for (const candidate of eligible) {
    if (candidate === inUse || candidate.counters.downCount === 0 || !isBetterLink(candidate, inUse)) continue;
    earliest = Math.min(earliest, holdEndMs(candidate, failbackHoldMs));
  }
  return earliest;
}
