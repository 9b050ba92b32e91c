/**
 * The dashboard's link samples at three resolutions: the newest at one per second, older ones averaged into
 * 10-second and 1-minute rows, each tier bounded in time and in rows. Pure: every time comes with the rows and
 * the caller's clock, so tests drive it without timers.
 */
import { round3 } from '../daemon/status.ts';

/** One peer × link observation. */
export interface LinkSample {
  nodeid: number;
  link: number;
  /** In a downsampled row: up during the whole step (one down sample makes it false, so a blip stays visible). */
  up: boolean;
  /** knet's running average round trip (downsampled: the mean of the up samples), null before the first pong. */
  latency_ms: number | null;
}

/** The samples of every peer × link at one time (downsampled: the start of the step). */
export interface SampleRow {
  /** Wall-clock time, ms since the epoch. */
  time: number;
  samples: LinkSample[];
}

const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;

/** One resolution of the history: a row per `stepMs`, kept for `keepMs`. */
export interface HistoryTier {
  stepMs: number;
  keepMs: number;
}

/**
 * Every bound of the kept history, finest first (the first tier's step is the sampling interval). At most
 * 600 + 2160 + 2880 rows, each with one sample per peer × link.
 */
export const HISTORY_TIERS: readonly HistoryTier[] = [
  { stepMs: SECOND_MS, keepMs: 10 * MINUTE_MS },
  { stepMs: 10 * SECOND_MS, keepMs: 6 * HOUR_MS },
  { stepMs: MINUTE_MS, keepMs: 48 * HOUR_MS },
];

/** The ranges `/api/history?range=` answers and the dashboard offers, each from the finest tier reaching it. */
export const HISTORY_RANGES_MS = { '5m': 5 * MINUTE_MS, '1h': HOUR_MS, '24h': 24 * HOUR_MS } as const;
export type HistoryRange = keyof typeof HISTORY_RANGES_MS;
export const HISTORY_RANGE_DEFAULT: HistoryRange = '5m';
export const HISTORY_RANGES = Object.keys(HISTORY_RANGES_MS) as HistoryRange[];

const rowsMax = (tier: HistoryTier): number => Math.ceil(tier.keepMs / tier.stepMs);
const stepStart = (time: number, tier: HistoryTier): number => Math.floor(time / tier.stepMs) * tier.stepMs;

/** One row for `rows` (of one step): each peer × link up only if up in every row, its latency the mean. */
export function downsample(rows: readonly SampleRow[], time: number): SampleRow {
  const paths = new Map<string, { nodeid: number; link: number; up: boolean; sum: number; count: number }>();
  for (const row of rows) {
    for (const s of row.samples) {
      const key = `${s.nodeid}:${s.link}`;
      const path = paths.get(key) ?? { nodeid: s.nodeid, link: s.link, up: true, sum: 0, count: 0 };
      path.up &&= s.up;
      if (s.up && s.latency_ms !== null) {
        path.sum += s.latency_ms;
        path.count++;
      }
      paths.set(key, path);
    }
  }
  const samples = [...paths.values()].map((p) => ({
    nodeid: p.nodeid,
    link: p.link,
    up: p.up,
    latency_ms: p.count === 0 ? null : round3(p.sum / p.count),
  }));
  return { time, samples };
}

/** The stored form (the state file): every tier's closed rows, finest first. */
export interface StoredTiers {
  version: 1;
  tiers: SampleRow[][];
}

export class SampleTiers {
  /** Closed rows per tier, oldest first. */
  private readonly rows: SampleRow[][] = HISTORY_TIERS.map(() => []);
  /** Per coarse tier: the fine rows of its step still open (index 0 unused). */
  private readonly open: SampleRow[][] = HISTORY_TIERS.map(() => []);

  /** Adds a one-second row; closes the coarse steps it ends. Rows come in time order. */
  add(row: SampleRow): void {
    HISTORY_TIERS.forEach((tier, i) => {
      if (i === 0) {
        this.keep(0, row, row.time);
        return;
      }
      const open = this.open[i]!;
      const start = open.length > 0 ? stepStart(open[0]!.time, tier) : undefined;
      if (start !== undefined && start !== stepStart(row.time, tier)) {
        this.keep(i, downsample(open, start), row.time);
        this.open[i] = [];
      }
      this.open[i]!.push(row);
    });
  }

  /** The rows of the `rangeMs` before `now` from the finest tier reaching that far back, the open step last. */
  range(rangeMs: number, now: number): { stepMs: number; rows: SampleRow[] } {
    const index = HISTORY_TIERS.findIndex((t) => t.keepMs >= rangeMs);
    if (index < 0) throw new RangeError(`no history tier keeps ${rangeMs} ms`);
    const tier = HISTORY_TIERS[index]!;
    const rows = this.rows[index]!.filter((r) => r.time > now - rangeMs);
    const open = this.open[index]!;
    if (open.length > 0) rows.push(downsample(open, stepStart(open[0]!.time, tier)));
    return { stepMs: tier.stepMs, rows };
  }

  /** Closed rows of every tier, for the state file. */
  stored(): StoredTiers {
    return { version: 1, tiers: this.rows.map((rows) => [...rows]) };
  }

  /** Takes the rows of a stored history still inside each tier's window at `now` (a restarted daemon). */
  restore(stored: StoredTiers, now: number): void {
    HISTORY_TIERS.forEach((tier, i) => {
      const kept = (stored.tiers[i] ?? []).filter((r) => r.time > now - tier.keepMs && r.time <= now);
      this.rows[i] = kept.slice(-rowsMax(tier));
    });
  }

  /** Appends to a tier, then drops what is older than its window or beyond its row bound. */
  private keep(index: number, row: SampleRow, now: number): void {
    const tier = HISTORY_TIERS[index]!;
    const rows = this.rows[index]!;
    rows.push(row);
    let drop = Math.max(0, rows.length - rowsMax(tier));
    while (drop < rows.length && rows[drop]!.time <= now - tier.keepMs) drop++;
    if (drop > 0) rows.splice(0, drop);
  }
}
