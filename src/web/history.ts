/**
 * The daemon's memory for the dashboard: one link sample per second per peer × link, kept at three resolutions
 * (./history-tiers.ts: 1 s for 10 minutes, 10 s for 6 hours, 1 min for 48 hours) and saved to the state directory
 * every minute (./history-file.ts) so a restarted daemon keeps it; and a bounded timeline of cluster events (link
 * up/down, membership, quorum, config_version). Live listeners (the event stream) get every event and sample.
 */
import type { EngineEvents, NodeEngine } from '../daemon/engine.ts';
import { quorumState, round3 } from '../daemon/status.ts';
import { HISTORY_SAVE_INTERVAL_MS, readHistoryFile, writeHistoryFile } from './history-file.ts';
import {
  HISTORY_RANGES_MS,
  HISTORY_TIERS,
  type HistoryRange,
  type LinkSample,
  type SampleRow,
  SampleTiers,
} from './history-tiers.ts';

export type { LinkSample, SampleRow };

/** Interval between link samples: the finest tier's step. */
export const SAMPLE_INTERVAL_MS = HISTORY_TIERS[0]!.stepMs;
/** Timeline events kept. */
export const EVENTS_KEPT = 500;

/** Where the history is saved, and how its problems are told (unset: kept in memory only). */
export interface HistoryOptions {
  file?: string;
  warn?: (message: string) => void;
  /** Wall clock, ms since the epoch (tests inject theirs). */
  now?: () => number;
}

/** A timeline entry: `type` names the topic, `data` is the admin socket's event shape. */
export interface ClusterEvent {
  /** Increases by one per event of this daemon. */
  seq: number;
  /** Wall-clock time, ms since the epoch. */
  time: number;
  type: 'link' | 'membership' | 'quorum' | 'config';
  data: Record<string, unknown>;
}

/** What live listeners receive. */
export type LiveItem = { kind: 'event'; event: ClusterEvent } | { kind: 'sample'; row: SampleRow };

/** Pushes to a bounded array, dropping the oldest entries. */
function pushBounded<T>(items: T[], item: T, limit: number): void {
  items.push(item);
  if (items.length > limit) items.splice(0, items.length - limit);
}

export class ClusterHistory {
  private readonly tiers = new SampleTiers();
  private readonly events: ClusterEvent[] = [];
  private readonly listeners = new Set<(item: LiveItem) => void>();
  private readonly sampleObservers = new Set<(sample: LinkSample) => void>();
  private readonly timers: NodeJS.Timeout[];
  private readonly now: () => number;
  private nextSeq = 1;
  /** The periodic (background) save being written, else null; `close` writes the final save after it. */
  private periodicSave: Promise<void> | null = null;
  private configVersion: number;

  constructor(
    private readonly engine: NodeEngine,
    private readonly options: HistoryOptions = {},
  ) {
    this.now = options.now ?? (() => Date.now());
    this.configVersion = engine.checked.effective.totem.configVersion;
    if (options.file !== undefined) {
      const stored = readHistoryFile(options.file);
      if (typeof stored === 'string') options.warn?.(`dashboard history not restored: ${stored}`);
      else if (stored) this.tiers.restore(stored, this.now());
    }
    engine.on('link', this.onLink);
    engine.on('membership', this.onMembership);
    engine.on('quorum', this.onQuorum);
    this.sample();
    this.timers = [setInterval(() => this.sample(), SAMPLE_INTERVAL_MS)];
    if (options.file !== undefined)
      this.timers.push(
        setInterval(() => {
          // Skipped while the previous one is still being written. Cleared in a later microtask, so never before
          // it was set, even by a write that failed at once.
          this.periodicSave ??= this.saveInBackground().finally(() => {
            this.periodicSave = null;
          });
        }, HISTORY_SAVE_INTERVAL_MS),
      );
    for (const timer of this.timers) timer.unref();
  }

  /** The sample rows of `range` (oldest first) and their step. */
  samples(range: HistoryRange): { stepMs: number; rows: SampleRow[] } {
    return this.tiers.range(HISTORY_RANGES_MS[range], this.now());
  }

  /** The newest `limit` events, oldest first. */
  recentEvents(limit = EVENTS_KEPT): ClusterEvent[] {
    return this.events.slice(-Math.max(0, limit));
  }

  /** Calls `listener` for every new event and sample row; returns the unsubscribe function. */
  subscribe(listener: (item: LiveItem) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Calls `observer` for every link sample taken (the latency histogram). */
  observeSamples(observer: (sample: LinkSample) => void): void {
    this.sampleObservers.add(observer);
  }

  /**
   * Stops sampling and saves the history a last time; resolves once that save is on disk — after a periodic save
   * still in progress, which makes it (a daemon that exits when this resolves loses no sample it took).
   */
  close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    // A background write still going is followed by the final one, so it cannot land last.
    const saved =
      this.periodicSave === null ? Promise.resolve(this.saveNow()) : this.periodicSave.then(() => this.saveNow());
    this.engine.off('link', this.onLink);
    this.engine.off('membership', this.onMembership);
    this.engine.off('quorum', this.onQuorum);
    this.listeners.clear();
    this.sampleObservers.clear();
    return saved;
  }

  private readonly onLink = (event: EngineEvents['link'][0]) => this.record('link', event);
  private readonly onMembership = (event: EngineEvents['membership'][0]) => {
    if (event.kind === 'regular') this.record('membership', event);
  };
  private readonly onQuorum = () => this.record('quorum', { ...quorumState(this.engine) });

  private record(type: ClusterEvent['type'], data: Record<string, unknown>): void {
    const event: ClusterEvent = { seq: this.nextSeq++, time: this.now(), type, data };
    pushBounded(this.events, event, EVENTS_KEPT);
    for (const listener of this.listeners) listener({ kind: 'event', event });
  }

  private sample(): void {
    const configVersion = this.engine.checked.effective.totem.configVersion;
    if (configVersion !== this.configVersion) {
      this.record('config', { config_version: configVersion, previous: this.configVersion });
      this.configVersion = configVersion;
    }
    const samples = this.engine.transportSnapshot().peerLinks.map((s) => ({
      nodeid: s.nodeId,
      link: s.link,
      up: s.connected,
      latency_ms: s.latency ? round3(s.latency.avgMs) : null,
    }));
    const row: SampleRow = { time: this.now(), samples };
    this.tiers.add(row);
    for (const sample of samples) for (const observer of this.sampleObservers) observer(sample);
    for (const listener of this.listeners) listener({ kind: 'sample', row });
  }

  /**
   * Writes the history file without blocking the daemon. A failure is told and retried at the next save: the
   * dashboard is not worth a crash.
   */
  private async saveInBackground(): Promise<void> {
    const file = this.options.file;
    if (file === undefined) return;
    try {
      await writeHistoryFile(file, this.tiers.stored(), false);
    } catch (error) {
      this.warnNotSaved(file, error);
    }
  }

  /** Writes the history file at once (the final save, at close). */
  private saveNow(): void {
    const file = this.options.file;
    if (file === undefined) return;
    try {
      writeHistoryFile(file, this.tiers.stored(), true);
    } catch (error) {
      this.warnNotSaved(file, error);
    }
  }

  private warnNotSaved(file: string, error: unknown): void {
    this.options.warn?.(`dashboard history not saved to ${file}: ${(error as Error).message}`);
  }
}
