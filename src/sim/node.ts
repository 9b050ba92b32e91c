/**
 * One simulated corolink node: a transport core (knet-like links) under a Totem core, driven by the simulator's
 * virtual clock exactly as the daemon drives them — one timer per core re-armed at `nextDeadline()` after every
 * step, transport `deliver` → Totem `receive`, Totem `send` → transport `send` (urgent = control), transport
 * hostDown/hostUp → Totem peerUnreachable/peerReachable, transport `transmit` → network send, network delivery →
 * transport `receive`, socket send errors → transport `sendError`. Everything Totem delivers is recorded in order.
 */
import type { TotemCore } from '../totem/totem.ts';
import type { Guarantee, TotemAction, TotemEvent } from '../totem/types.ts';
import type { Transport } from '../transport/transport.ts';
import type { TransportAction, TransportEvent } from '../transport/types.ts';
import type { ClusterTrace } from './fuzz-run.ts';
import type { VirtualNetwork } from './network.ts';
import type { Scheduler } from './scheduler.ts';

/** A log line of a simulated node, with its virtual time. */
export interface SimLogLine {
  at: number;
  subsystem: string;
  level: string;
  message: string;
}

type QueuedEvent = { core: 'transport'; event: TransportEvent } | { core: 'totem'; event: TotemEvent };

interface CoreTimer {
  handle: number | null;
  at: number;
}

/** One incarnation of a node (a restart builds a new SimNode). */
export class SimNode {
  /** Everything Totem delivered (messages and configuration changes), in order. */
  readonly trace: ClusterTrace;
  /** Every log action of both cores. */
  readonly logs: SimLogLine[] = [];
  private up = true;
  private timerLatenessMs = 0;
  private refused = false;
  private busy = false;
  private readonly queue: QueuedEvent[] = [];
  private readonly timers = {
    transport: { handle: null, at: Infinity },
    totem: { handle: null, at: Infinity },
  } as Record<'transport' | 'totem', CoreTimer>;

  /** Wires the cores to the network and starts them (the Totem core forms its single-node ring at once). */
  constructor(
    readonly nodeId: number,
    incarnation: number,
    readonly transport: Transport,
    readonly totem: TotemCore,
    private readonly scheduler: Scheduler,
    private readonly network: VirtualNetwork,
  ) {
    this.trace = { node: nodeId, incarnation, entries: [], ended: 'alive' };
    network.addHost(nodeId, (datagram) =>
      this.enqueue({ core: 'transport', event: { type: 'receive', link: datagram.link, bytes: datagram.bytes } }),
    );
    this.enqueue({ core: 'totem', event: { type: 'tick' } });
    this.enqueue({ core: 'transport', event: { type: 'tick' } });
  }

  /** True until `stop()`. */
  isUp(): boolean {
    return this.up;
  }

  /** Multicasts through Totem; false when the node is down or Totem refused it (backpressure). */
  multicast(payload: Uint8Array, guarantee: Guarantee): boolean {
    if (!this.up) return false;
    this.refused = false;
    this.enqueue({ core: 'totem', event: { type: 'multicast', payload, guarantee } });
    return !this.refused;
  }

  /** Clean shutdown: Totem sends its leave notice, then the node stops. */
  leave(): void {
    if (!this.up) return;
    this.enqueue({ core: 'totem', event: { type: 'leave' } });
    this.stop();
  }

  /** Crash: timers cancelled, detached from the network; the trace ends. */
  stop(): void {
    if (!this.up) return;
    this.up = false;
    this.trace.ended = 'crashed';
    for (const timer of Object.values(this.timers)) if (timer.handle !== null) this.scheduler.cancel(timer.handle);
    this.network.removeHost(this.nodeId);
  }

  /** From now on every timer fires `lateMs` late (a stalled or jumping clock). */
  setTimerLateness(lateMs: number): void {
    this.timerLatenessMs = lateMs;
  }

  /** Runs events one at a time, in order, even when handling one produces more (no re-entrant core steps). */
  private enqueue(item: QueuedEvent): void {
    this.queue.push(item);
    if (this.busy) return;
    this.busy = true;
    try {
      for (let next = this.queue.shift(); next && this.up; next = this.queue.shift()) {
        if (next.core === 'transport') this.stepTransport(next.event);
        else this.stepTotem(next.event);
      }
      this.queue.length = 0;
    } finally {
      this.busy = false;
    }
  }

  private stepTransport(event: TransportEvent): void {
    const now = this.scheduler.now();
    for (const action of this.transport.step(event, now)) this.applyTransport(action, now);
    this.arm('transport', this.transport.nextDeadline());
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
        this.queue.push({ core: 'totem', event: { type: 'receive', from: action.from, payload: action.payload } });
        break;
      case 'hostUp':
        this.queue.push({ core: 'totem', event: { type: 'peerReachable', nodeId: action.nodeId } });
        break;
      case 'hostDown':
        this.queue.push({ core: 'totem', event: { type: 'peerUnreachable', nodeId: action.nodeId } });
        break;
      case 'log':
        this.logs.push({ at: now, subsystem: action.subsystem, level: action.level, message: action.message });
        break;
      case 'linkUp':
      case 'linkDown':
        break;
    }
  }

  private stepTotem(event: TotemEvent): void {
    const now = this.scheduler.now();
    for (const action of this.totem.step(event, now)) this.applyTotem(action, now);
    this.arm('totem', this.totem.nextDeadline());
  }

  private applyTotem(action: TotemAction, now: number): void {
    switch (action.type) {
      case 'send':
        this.queue.push({
          core: 'transport',
          event: { type: 'send', to: action.to, payload: action.payload, urgent: action.control },
        });
        break;
      case 'deliver':
        this.trace.entries.push({
          kind: 'deliver',
          sender: action.sender,
          payload: action.payload,
          ringId: action.ringId,
          seq: action.seq,
          guarantee: action.guarantee,
        });
        break;
      case 'configChange':
        this.trace.entries.push({ kind: 'config', type: action.kind, members: action.members, ringId: action.ringId });
        break;
      case 'backpressure':
        this.refused = true;
        break;
      case 'log':
        this.logs.push({ at: now, subsystem: action.subsystem, level: action.level, message: action.message });
        break;
    }
  }

  private arm(core: 'transport' | 'totem', deadline: number): void {
    const timer = this.timers[core];
    const at = deadline + this.timerLatenessMs;
    if (timer.at === at && timer.handle !== null) return;
    if (timer.handle !== null) this.scheduler.cancel(timer.handle);
    timer.at = at;
    timer.handle = Number.isFinite(at)
      ? this.scheduler.at(at, () => {
          timer.handle = null;
          timer.at = Infinity;
          this.enqueue({ core, event: { type: 'tick' } });
        })
      : null;
  }
}
