/**
 * One simulated node running the whole service stack: the transport plumbing of host.ts under the daemon's
 * `ServiceStack` (Totem + votequorum + CPG, src/daemon/stack.ts), driven only through the stack's public pure-core
 * API — `step(event, now)`, `nextDeadline()`, StackEvent in, StackAction out — as the daemon's engine drives it.
 * `transportSend` goes to the transport; every other action goes to the cluster's clients (stack-cluster.ts).
 */
import type { ServiceStack, StackAction, StackEvent } from '../daemon/stack.ts';
import type { Transport } from '../transport/transport.ts';
import { SimHost, type TransportUp } from './host.ts';
import type { VirtualNetwork } from './network.ts';
import type { Scheduler } from './scheduler.ts';

/** What the simulator uses of the service stack (a test double may wrap or replace it). */
export type StackCore = Pick<ServiceStack, 'step' | 'nextDeadline' | 'snapshot'>;

/** Receives every stack action except transport sends and logs. */
export type StackActionSink = (action: Exclude<StackAction, { type: 'transportSend' | 'log' }>) => void;

/** One incarnation of a whole-stack node. */
export class StackSimNode extends SimHost<StackEvent> {
  protected readonly upperTick: StackEvent = { type: 'tick' };
  private sink: StackActionSink = () => {};

  constructor(
    nodeId: number,
    readonly incarnation: number,
    transport: Transport,
    readonly stack: StackCore,
    scheduler: Scheduler,
    network: VirtualNetwork,
  ) {
    super(nodeId, transport, scheduler, network);
  }

  /** Connects the clients and starts the cores. */
  run(sink: StackActionSink): void {
    this.sink = sink;
    this.start();
  }

  /** Feeds the stack one event (runs now, or right after the step in progress). Ignored once stopped. */
  feed(event: StackEvent): void {
    if (this.isUp()) this.feedUpper(event);
  }

  protected fromTransport(up: TransportUp): StackEvent {
    if (up.type === 'deliver') return { type: 'transportDeliver', from: up.from, payload: up.payload };
    return up;
  }

  protected upperDeadline(): number {
    return this.stack.nextDeadline();
  }

  protected stepUpper(event: StackEvent, now: number): void {
    for (const action of this.stack.step(event, now)) {
      if (action.type === 'transportSend') this.sendDown(action.to, action.payload, action.urgent);
      else if (action.type === 'log') this.log(now, action.subsystem, action.level, action.message);
      else this.sink(action);
    }
  }
}
