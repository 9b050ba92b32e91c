// Randomized fault schedules for the simulator (TigerBeetle VOPR style): from a seed, a timed list of faults and
// multicasts for the safety phase. A schedule is plain data, so a failing one can be printed and minimised.

import type { Guarantee } from '../totem/types.ts';
import type { LinkConditions } from './network.ts';
import type { Rng } from './rng.ts';

/** Highest random loss on a link (percent). */
export const LOSS_PCT_MAX = 30;
/** Highest extra one-way delay on a link (ms). */
export const DELAY_MS_MAX = 20;
/** Highest jitter on a link (ms). */
export const JITTER_MS_MAX = 5;
/** Highest duplication rate on a link (percent). */
export const DUPLICATE_PCT_MAX = 10;
/** Highest reordering rate on a link (percent). */
export const REORDER_PCT_MAX = 20;
/** Highest lateness of a node's timers (a clock that jumps: every timer of the node fires up to this late). */
export const TIMER_LATENESS_MS_MAX = 150;
/** Mean time between two faults in the safety phase (ms). */
export const FAULT_INTERVAL_MS_MEAN = 250;
/** Multicasts per node per virtual second in the safety phase. */
export const MULTICASTS_PER_NODE_PER_SECOND = 4;
/** Share of multicasts sent with the 'safe' guarantee. */
export const SAFE_MULTICAST_SHARE = 0.25;

/** One scheduled fault or multicast; `at` is virtual ms from the start of the run. */
export type FaultEvent =
  | { at: number; kind: 'crash'; node: number }
  | { at: number; kind: 'restart'; node: number }
  | { at: number; kind: 'partition'; groups: number[][] }
  | { at: number; kind: 'heal' }
  | { at: number; kind: 'cut'; node: number; link: number; direction: 'both' | 'in' | 'out' }
  | { at: number; kind: 'restore'; node: number; link: number }
  | { at: number; kind: 'cutSwitch'; link: number }
  | { at: number; kind: 'restoreSwitch'; link: number }
  | { at: number; kind: 'conditions'; link: number; conditions: LinkConditions; host?: number }
  | { at: number; kind: 'clearConditions' }
  | { at: number; kind: 'timerLateness'; node: number; lateMs: number }
  | { at: number; kind: 'multicast'; node: number; guarantee: Guarantee };

/** Shape of a generated schedule. */
export interface FaultPlanOptions {
  nodeIds: readonly number[];
  links: number;
  /** Length of the safety phase (ms); every event is scheduled before it. */
  safetyMs: number;
}

/** Draws the safety-phase schedule, sorted by time. Uses only `rng`, so a seed reproduces it. */
export function planFaults(rng: Rng, options: FaultPlanOptions): FaultEvent[] {
  const events: FaultEvent[] = [];
  const crashed = new Set<number>();
  for (let at = rng.next() * FAULT_INTERVAL_MS_MEAN * 2; at < options.safetyMs; ) {
    const event = drawFault(rng, options, at, crashed);
    if (event) events.push(event);
    at += rng.next() * FAULT_INTERVAL_MS_MEAN * 2;
  }
  const multicasts = Math.round((options.safetyMs / 1000) * MULTICASTS_PER_NODE_PER_SECOND * options.nodeIds.length);
  for (let i = 0; i < multicasts; i++) {
    const guarantee: Guarantee = rng.chance(SAFE_MULTICAST_SHARE) ? 'safe' : 'agreed';
    events.push({ at: rng.next() * options.safetyMs, kind: 'multicast', node: rng.pick(options.nodeIds), guarantee });
  }
  return events.sort((a, b) => a.at - b.at);
}

function drawFault(rng: Rng, options: FaultPlanOptions, at: number, crashed: Set<number>): FaultEvent | undefined {
  const node = rng.pick(options.nodeIds);
  const link = rng.int(0, options.links - 1);
  switch (rng.int(0, 9)) {
    case 0:
      if (crashed.has(node)) {
        crashed.delete(node);
        return { at, kind: 'restart', node };
      }
      crashed.add(node);
      return { at, kind: 'crash', node };
    case 1:
      return { at, kind: 'partition', groups: randomGroups(rng, options.nodeIds) };
    case 2:
      return { at, kind: 'heal' };
    case 3:
      return { at, kind: 'cut', node, link, direction: rng.pick(['both', 'in', 'out'] as const) };
    case 4:
      return { at, kind: 'restore', node, link };
    case 5:
      return rng.chance(0.5) ? { at, kind: 'cutSwitch', link } : { at, kind: 'restoreSwitch', link };
    case 6:
      return {
        at,
        kind: 'conditions',
        link,
        conditions: randomConditions(rng),
        ...(rng.chance(0.5) ? { host: node } : {}),
      };
    case 7:
      return { at, kind: 'clearConditions' };
    case 8:
      return { at, kind: 'timerLateness', node, lateMs: rng.chance(0.3) ? 0 : rng.next() * TIMER_LATENESS_MS_MAX };
    default:
      return undefined; // a quiet interval
  }
}

function randomGroups(rng: Rng, nodeIds: readonly number[]): number[][] {
  const groupCount = rng.int(2, Math.min(3, nodeIds.length));
  const groups: number[][] = Array.from({ length: groupCount }, () => []);
  for (const node of nodeIds) groups[rng.int(0, groupCount - 1)]!.push(node);
  return groups.filter((group) => group.length > 0);
}

function randomConditions(rng: Rng): LinkConditions {
  return {
    lossPct: rng.next() * LOSS_PCT_MAX,
    delayMs: rng.next() * DELAY_MS_MAX,
    jitterMs: rng.next() * JITTER_MS_MAX,
    duplicatePct: rng.next() * DUPLICATE_PCT_MAX,
    reorderPct: rng.next() * REORDER_PCT_MAX,
  };
}

/** One line per event, for failure reports. */
export function describeFault(event: FaultEvent): string {
  const { at, kind, ...rest } = event;
  return `${at.toFixed(1).padStart(8)} ms  ${kind} ${JSON.stringify(rest)}`;
}
