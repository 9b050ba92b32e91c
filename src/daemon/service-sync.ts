/**
 * The sync phases after a configuration change, as corosync's exec/sync.c runs them: at a regular configuration
 * the engines sync one after the other in registration order (init, then process until it is complete), and once
 * the last is complete every engine activates, in the same order. A configuration change during a sync aborts
 * the engine whose sync runs. No barrier message: an engine's sync completes on a delivered message, so every
 * member moves to the next engine at the same point of the agreed order.
 */
import type { ConfigChange, EngineAction, RegularChange, ServiceEngine } from './service-engine.ts';

/** Actions of one engine, to be routed under its service id. */
export interface EngineOutput {
  engine: ServiceEngine;
  actions: EngineAction[];
}

/** What `delivered` returns outside a sync: one shared empty list, not a new one per delivered message. */
const NO_OUTPUT: readonly EngineOutput[] = [];

export class ServiceSync {
  /** The configuration being synced, or undefined when no sync runs. */
  private change: RegularChange | undefined;
  /** Index of the engine whose sync runs. */
  private position = 0;
  private initialized = false;
  /** Completed syncs (every engine activated), for tests and status. */
  completed = 0;

  constructor(private readonly engines: readonly ServiceEngine[]) {}

  /** Whether a sync runs. */
  get running(): boolean {
    return this.change !== undefined;
  }

  /** Aborts a running sync; at a regular configuration starts the next one. */
  configChange(change: ConfigChange, now: number): EngineOutput[] {
    const out: EngineOutput[] = [];
    if (this.change !== undefined) {
      const engine = this.engines[this.position]!;
      if (this.initialized) out.push({ engine, actions: engine.syncAbort?.(now) ?? [] });
      this.change = undefined;
    }
    if (change.kind !== 'regular') return out;
    this.change = { ...change, kind: 'regular' };
    this.position = 0;
    this.initialized = false;
    return [...out, ...this.advance(now)];
  }

  /** After a delivery: moves on when the running engine's sync completed. */
  delivered(now: number): readonly EngineOutput[] {
    return this.change === undefined ? NO_OUTPUT : this.advance(now);
  }

  private advance(now: number): EngineOutput[] {
    const change = this.change!;
    const out: EngineOutput[] = [];
    while (this.position < this.engines.length) {
      const engine = this.engines[this.position]!;
      if (!this.initialized) {
        this.initialized = true;
        out.push({ engine, actions: engine.syncInit?.(change, now) ?? [] });
      }
      if (engine.syncProcess?.(now) === false) return out;
      this.position++;
      this.initialized = false;
    }
    this.change = undefined;
    this.completed++;
    for (const engine of this.engines) out.push({ engine, actions: engine.syncActivate?.(now) ?? [] });
    return out;
  }
}
