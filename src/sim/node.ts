/**
 * One simulated corolink node running transport + Totem (the Totem-level fuzz runs): the shared plumbing of
 * host.ts with a Totem core on top — Totem `send` → transport `send` (urgent = control), transport hostDown/hostUp →
 * Totem peerUnreachable/peerReachable. Everything Totem delivers is recorded in order.
 */
import type { TotemCore } from '../totem/totem.ts';
import type { Guarantee, TotemAction, TotemEvent } from '../totem/types.ts';
import type { Transport } from '../transport/transport.ts';
import type { ClusterTrace } from './fuzz-run.ts';
import { SimHost, type TransportUp } from './host.ts';
import type { VirtualNetwork } from './network.ts';
import type { Scheduler } from './scheduler.ts';

export type { SimLogLine } from './host.ts';

/** One incarnation of a node (a restart builds a new SimNode). */
export class SimNode extends SimHost<TotemEvent> {
  /** Everything Totem delivered (messages and configuration changes), in order. */
  readonly trace: ClusterTrace;
  protected readonly upperTick: TotemEvent = { type: 'tick' };
  private refused = false;

  /** Wires the cores to the network and starts them (the Totem core forms its single-node ring at once). */
  constructor(
    nodeId: number,
    incarnation: number,
    transport: Transport,
    readonly totem: TotemCore,
    scheduler: Scheduler,
    network: VirtualNetwork,
  ) {
    super(nodeId, transport, scheduler, network);
    this.trace = { node: nodeId, incarnation, entries: [], ended: 'alive' };
    this.start();
  }

  /** Multicasts through Totem; false when the node is down or Totem refused it (backpressure). */
  multicast(payload: Uint8Array, guarantee: Guarantee): boolean {
    if (!this.isUp()) return false;
    this.refused = false;
    this.feedUpper({ type: 'multicast', payload, guarantee });
    return !this.refused;
  }

  /** Clean shutdown: Totem sends its leave notice, then the node stops. */
  leave(): void {
    if (!this.isUp()) return;
    this.feedUpper({ type: 'leave' });
    this.stop();
  }

  protected override onStop(): void {
    this.trace.ended = 'crashed';
  }

  protected fromTransport(up: TransportUp): TotemEvent {
    if (up.type === 'deliver') return { type: 'receive', from: up.from, payload: up.payload };
    return { type: up.type === 'hostUp' ? 'peerReachable' : 'peerUnreachable', nodeId: up.nodeId };
  }

  protected upperDeadline(): number {
    return this.totem.nextDeadline();
  }

  protected stepUpper(event: TotemEvent, now: number): void {
    for (const action of this.totem.step(event, now)) this.applyTotem(action, now);
  }

  private applyTotem(action: TotemAction, now: number): void {
    switch (action.type) {
      case 'send':
        this.sendDown(action.to, action.payload, action.control);
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
        this.log(now, action.subsystem, action.level, action.message);
        break;
    }
  }
}
