/**
 * The daemon's memory for the dashboard: one link sample per second per peer × link (kept for five minutes, so a
 * freshly opened page shows history) and a bounded timeline of cluster events (link up/down, membership,
 * quorum, config_version). Live listeners (the event stream) get every event and sample as it happens.
 */
import type { EngineEvents, NodeEngine } from '../daemon/engine.ts';
import { quorumState } from '../daemon/status.ts';

/** Interval between link samples. */
export const SAMPLE_INTERVAL_MS = 1000;
/** Samples kept per peer × link: five minutes at one per second. */
export const SAMPLES_KEPT = 300;
/** Timeline events kept. */
export const EVENTS_KEPT = 500;

/** One peer × link observation. */
export interface LinkSample {
  nodeid: number;
  link: number;
  up: boolean;
  /** knet's running average round trip, null before the first pong. */
  latency_ms: number | null;
}

/** One second's samples of every peer × link. */
export interface SampleRow {
  /** Wall-clock time, ms since the epoch. */
  time: number;
  samples: LinkSample[];
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

/** Latency is shown with microsecond resolution. */
const round3 = (value: number): number => Math.round(value * 1000) / 1000;

/** Pushes to a bounded array, dropping the oldest entries. */
function pushBounded<T>(items: T[], item: T, limit: number): void {
  items.push(item);
  if (items.length > limit) items.splice(0, items.length - limit);
}

export class ClusterHistory {
  private readonly rows: SampleRow[] = [];
  private readonly events: ClusterEvent[] = [];
  private readonly listeners = new Set<(item: LiveItem) => void>();
  private readonly sampleObservers = new Set<(sample: LinkSample) => void>();
  private readonly timer: NodeJS.Timeout;
  private nextSeq = 1;
  private configVersion: number;

  constructor(private readonly engine: NodeEngine) {
    this.configVersion = engine.checked.effective.totem.configVersion;
    engine.on('link', this.onLink);
    engine.on('membership', this.onMembership);
    engine.on('quorum', this.onQuorum);
    this.sample();
    this.timer = setInterval(() => this.sample(), SAMPLE_INTERVAL_MS);
    this.timer.unref();
  }

  /** Sample rows, oldest first. */
  samples(): SampleRow[] {
    return [...this.rows];
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

  close(): void {
    clearInterval(this.timer);
    this.engine.off('link', this.onLink);
    this.engine.off('membership', this.onMembership);
    this.engine.off('quorum', this.onQuorum);
    this.listeners.clear();
    this.sampleObservers.clear();
  }

  private readonly onLink = (event: EngineEvents['link'][0]) => this.record('link', event);
  private readonly onMembership = (event: EngineEvents['membership'][0]) => {
    if (event.kind === 'regular') this.record('membership', event);
  };
  private readonly onQuorum = () => this.record('quorum', { ...quorumState(this.engine) });

  private record(type: ClusterEvent['type'], data: Record<string, unknown>): void {
    const event: ClusterEvent = { seq: this.nextSeq++, time: Date.now(), type, data };
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
    const row: SampleRow = { time: Date.now(), samples };
    pushBounded(this.rows, row, SAMPLES_KEPT);
    for (const sample of samples) for (const observer of this.sampleObservers) observer(sample);
    for (const listener of this.listeners) listener({ kind: 'sample', row });
  }
}
