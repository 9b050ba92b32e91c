/**
 * The shape of every cluster service above Totem (corosync's service engines, exec/service.c): a service id, its
 * messages in agreed order, the configuration-change callback and the sync phases that bring the members of a new
 * configuration to one state before the service runs in it (exec/sync.c). The stack (./stack.ts) holds a registry
 * of engines by service id and routes by it; adding a service is one registration.
 *
 * An engine's protocol part is pure: no sockets, timers or clocks; time comes in as `now`. A part with effects
 * (the file store's SQLite copy) is an adapter the daemon hands to the engine when it builds it.
 */
import type { Guarantee, TotemAction } from '../totem/index.ts';
import type { StackAction, StackEvent } from './stack.ts';

/** Totem's configuration change as every engine sees it (transitional, then regular). */
export type ConfigChange = Omit<Extract<TotemAction, { type: 'configChange' }>, 'type'>;

/** A regular configuration: the one a sync runs for. */
export type RegularChange = ConfigChange & { kind: 'regular' };

/** What an engine asks of the stack. */
export type EngineAction =
  /**
   * Multicast to the members in agreed order (the stack adds the service id; it comes back as `deliver`). `safe`:
   * delivered only once every member of the ring has it (Totem's safe delivery); default agreed.
   * `serviceIdFree`: the payload's first byte is left free for the service id, which the stack writes there
   * instead of copying the payload behind it (a 64 KiB CPG message is one copy fewer).
   */
  | { type: 'multicast'; payload: Uint8Array; guarantee?: Guarantee; serviceIdFree?: boolean }
  /** Passed up to the driver as is. */
  | StackAction;

export interface ServiceEngine {
  /** The first byte of every Totem payload of this service (1–255; 0 is the stack's pack). */
  readonly id: number;
  /** For logs and errors. */
  readonly name: string;
  /**
   * The stack events this engine handles (routed to `request`); a `serviceRequest` naming this engine's id is
   * routed to it too. One event type belongs to one engine, except `reconfigure`, which every engine listing it
   * gets. The stack handles `tick` itself (see `tick`).
   */
  readonly requests: readonly StackEvent['type'][];
  request(event: StackEvent, now: number): EngineAction[];
  /** One of this service's messages, in agreed order, own messages included (corosync: the exec handlers). */
  deliver(sender: number, payload: Uint8Array, now: number): EngineAction[];
  // The callbacks below are optional: an engine without one has nothing to do there (a missing `syncProcess` means
  // a sync that is complete at once, a missing `nextDeadline` never needs a tick).
  /** Every Totem configuration change, transitional and regular, before any sync phase (corosync: confchg_fn). */
  confchg?(change: ConfigChange, now: number): EngineAction[];
  /** Starts this engine's sync for `change` (corosync: sync_init): typically multicasts what this node holds. */
  syncInit?(change: RegularChange, now: number): EngineAction[];
  /**
   * Whether this engine's sync is complete on this node (corosync: sync_process returning 0). Asked after
   * `syncInit` and after every delivery while the sync runs. It must depend only on delivered messages, so every
   * member finds it complete at the same point of the agreed order (that is what corosync's sync barrier gives).
   */
  syncProcess?(now: number): boolean;
  /** A new configuration interrupted this engine's sync (corosync: sync_abort). */
  syncAbort?(now: number): EngineAction[];
  /** Every engine's sync is complete: the new state takes effect (corosync: sync_activate). */
  syncActivate?(now: number): EngineAction[];
  /** When the engine next needs a `tick`; Infinity when never. */
  nextDeadline?(): number;
  /** Every stack `tick` (the driver ticks at the stack's earliest deadline, which counts every engine's). */
  tick?(now: number): EngineAction[];
}

/** Checks an engine before it is registered; `taken` holds the ids already registered. */
export function engineProblem(engine: ServiceEngine, taken: ReadonlySet<number>): string | undefined {
  if (!Number.isInteger(engine.id) || engine.id < 1 || engine.id > 255) {
    return `service ${engine.name}: id ${engine.id} is not in 1–255`;
  }
  if (taken.has(engine.id)) return `service ${engine.name}: id ${engine.id} is already registered`;
  return undefined;
}
