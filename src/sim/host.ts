/**
 * The part every simulated node shares: a transport core (knet-like links) on the virtual network under one upper
 * core (Totem alone in node.ts, the whole service stack in stack-node.ts), driven by the virtual clock exactly as
 * the daemon drives them — one timer per core re-armed at `nextDeadline()` after every step, transport `transmit` →
 * network send, network delivery → transport `receive`, socket send errors → transport `sendError`, and transport
 * `deliver` / `hostUp` / `hostDown` handed to the upper core. Events run one at a time, in order.
 */
import type { Transport } from '../transport/transport.ts';
import type { TransportAction, TransportEvent } from '../transport/types.ts';
import type { VirtualNetwork } from './network.ts';
import type { Scheduler } from './scheduler.ts';

/** A log line of a simulated node, with its virtual time. */
export interface SimLogLine {
  at: number;
  subsystem: string;
  level: string;
  message: string;
}

type QueuedEvent<Upper> = { core: 'transport'; event: TransportEvent } | { core: 'upper'; event: Upper };

interface CoreTimer {
  handle: number | null;
  at: number;
}

/** What the transport hands up: a whole message, or a peer's reachability. */
export type TransportUp =
  | { type: 'deliver'; from: number; payload: Uint8Array }
  | { type: 'hostUp' | 'hostDown'; nodeId: number };

/** One incarnation of a node; subclasses supply the upper core. */
export abstract class SimHost<UpperEvent> {
  /** Every log action of both cores. */
  readonly logs: SimLogLine[] = [];
  private up = true;
  private timerLatenessMs = 0;
  private busy = false;
  private readonly queue: QueuedEvent<UpperEvent>[] = [];
  private readonly timers: Record<'transport' | 'upper', CoreTimer> = {
    transport: { handle: null, at: Infinity },
    upper: { handle: null, at: Infinity },
  };

  constructor(
    readonly nodeId: number,
    readonly transport: Transport,
    protected readonly scheduler: Scheduler,
    private readonly network: VirtualNetwork,
  ) {
    network.addHost(nodeId, (datagram) =>
      this.enqueue({ core: 'transport', event: { type: 'receive', link: datagram.link, bytes: datagram.bytes } }),
    );
  }

  /** Steps the upper core once; its actions go to {@link sendDown}, {@link pushUpper} and the subclass. */
  protected abstract stepUpper(event: UpperEvent, now: number): void;
  protected abstract upperDeadline(): number;
  /** The upper core's event for what the transport hands up. */
  protected abstract fromTransport(up: TransportUp): UpperEvent;
  /** The upper core's tick event. */
  protected abstract readonly upperTick: UpperEvent;

  /** Starts both cores (called by the subclass once its upper core exists). */
  protected start(): void {
    this.enqueue({ core: 'upper', event: this.upperTick });
    this.enqueue({ core: 'transport', event: { type: 'tick' } });
  }

  /** True until `stop()`. */
  isUp(): boolean {
    return this.up;
  }

  /** Crash: timers cancelled, detached from the network; queued events are dropped. */
  stop(): void {
    if (!this.up) return;
    this.up = false;
    this.onStop();
    for (const timer of Object.values(this.timers)) if (timer.handle !== null) this.scheduler.cancel(timer.handle);
    this.network.removeHost(this.nodeId);
  }

  /** From now on every timer fires `lateMs` late (a stalled or jumping clock). */
  setTimerLateness(lateMs: number): void {
    this.timerLatenessMs = lateMs;
  }

  /** Hook for subclasses: the node is stopping. */
  protected onStop(): void {}

  /** Feeds the upper core (runs now unless a step is in progress, then right after it). */
  protected feedUpper(event: UpperEvent): void {
    this.enqueue({ core: 'upper', event });
  }

  /** Queues an upper-core event behind the current step (for actions that feed the core back). */
  protected pushUpper(event: UpperEvent): void {
    this.queue.push({ core: 'upper', event });
  }

  /** Queues a transport send behind the current step. */
  protected sendDown(to: number | 'all', payload: Uint8Array, urgent: boolean): void {
    this.queue.push({ core: 'transport', event: { type: 'send', to, payload, urgent } });
  }

  protected log(at: number, subsystem: string, level: string, message: string): void {
    this.logs.push({ at, subsystem, level, message });
  }

  /** Runs events one at a time, in order, even when handling one produces more (no re-entrant core steps). */
  private enqueue(item: QueuedEvent<UpperEvent>): void {
    this.queue.push(item);
    if (this.busy) return;
    this.busy = true;
    try {
      for (let next = this.queue.shift(); next && this.up; next = this.queue.shift()) {
        const now = this.scheduler.now();
        if (next.core === 'transport') {
          for (const action of this.transport.step(next.event, now)) this.applyTransport(action, now);
          this.arm('transport', this.transport.nextDeadline());
        } else {
          this.stepUpper(next.event, now);
          this.arm('upper', this.upperDeadline());
        }
      }
      this.queue.length = 0;
    } finally {
      this.busy = false;
    }
  }

  private applyTransport(action: TransportAction, now: number): void {
    switch (action.type) {
      case 'transmit': {
        const result = this.network.send(this.nodeId, action.to, action.link, action.bytes);
        if (!result.ok) {
          const event: TransportEvent = { type: 'sendError', link: action.link, to: action.to, code: result.error };
          this.queue.push({ core: 'transport', event });
        }
        break;
      }
      case 'deliver':
        this.pushUpper(this.fromTransport({ type: 'deliver', from: action.from, payload: action.payload }));
        break;
      case 'hostUp':
      case 'hostDown':
        this.pushUpper(this.fromTransport({ type: action.type, nodeId: action.nodeId }));
        break;
      case 'log':
        this.log(now, action.subsystem, action.level, action.message);
        break;
      case 'linkUp':
      case 'linkDown':
        break;
    }
  }

  private arm(core: 'transport' | 'upper', deadline: number): void {
    const timer = this.timers[core];
    const at = deadline + this.timerLatenessMs;
    if (timer.at === at && timer.handle !== null) return;
    if (timer.handle !== null) this.scheduler.cancel(timer.handle);
    timer.at = at;
    timer.handle = Number.isFinite(at)
      ? this.scheduler.at(at, () => {
          timer.handle = null;
          timer.at = Infinity;
          if (core === 'transport') this.enqueue({ core, event: { type: 'tick' } });
          else this.enqueue({ core, event: this.upperTick });
        })
      : null;
  }
}
