/**
 * Reusable simulator harness: N transport cores wired to a VirtualNetwork, driven by the Scheduler's virtual
 * clock exactly as a daemon drives them (one timer re-armed at nextDeadline() after every step; send errors
 * fed back as `sendError` events). Records every action with its virtual time for assertions.
 */
import { Rng, Scheduler, VirtualNetwork } from '../../src/sim/index.ts';
import { Transport } from '../../src/transport/transport.ts';
import type { LinkMode, LinkOptions, TransportAction, TransportEvent } from '../../src/transport/types.ts';
import { clusterIdFromName } from '../../src/wire/cluster-id.ts';

/** corolink's fast profile (ping 20 ms, timeout 250 ms, pong_count 2). */
export const FAST_PROFILE = { pingIntervalMs: 20, pingTimeoutMs: 250, pongCount: 2 } as const;

/** Steady state: the pong-timeout backoff (×10 right after start, −1 per second) has decayed to 1. */
export const BACKOFF_SETTLED_MS = 10_000;

/** A recorded action with the node and virtual time at which it happened. */
export interface Recorded {
  node: number;
  at: number;
  action: TransportAction;
}

/** Options of a simulated cluster. */
export interface ClusterOptions {
  nodes: number;
  links: number;
  linkMode: LinkMode;
  seed: number;
  /** Priority of link L (default: all 1). */
  priorityOf?: (link: number) => number;
  failbackHoldMs?: number;
  mtu?: number;
  maxMessageBytes?: number;
  /** Links 0..coreLinks-1 are configured in the cores at start (default `links`); the network always has `links`. */
  coreLinks?: number;
}

/** N nodes (ids 1..N) × L links on a virtual network. */
export class SimCluster {
  readonly scheduler = new Scheduler();
  readonly network: VirtualNetwork;
  readonly cores = new Map<number, Transport>();
  readonly recorded: Recorded[] = [];
  readonly nodeIds: number[];
  private readonly timers = new Map<number, number>();
  /** Datagrams that reached a paused node, waiting in its socket; undefined when the node runs. */
  private readonly paused = new Map<number, { link: number; bytes: Uint8Array }[]>();
  private readonly deliverHandlers: ((node: number, from: number, payload: Uint8Array) => void)[] = [];

  constructor(readonly options: ClusterOptions) {
    this.network = new VirtualNetwork(this.scheduler, new Rng(options.seed), { links: options.links });
    this.nodeIds = Array.from({ length: options.nodes }, (_, i) => i + 1);
    for (const node of this.nodeIds) this.start(node);
  }

  /** The link options every node starts with. */
  linkOptions(): LinkOptions[] {
    return Array.from({ length: this.options.coreLinks ?? this.options.links }, (_, link) => this.linkOption(link));
  }

  /** The options of link `link` (priority from `priorityOf`, the fast profile, the cluster's MTU). */
  linkOption(link: number): LinkOptions {
    return { link, priority: this.options.priorityOf?.(link) ?? 1, ...FAST_PROFILE, mtu: this.options.mtu ?? 1400 };
  }

  /** Every node but `node`, as the `peers` of an `addLink` event. */
  peersOf(node: number): { nodeId: number }[] {
    return this.nodeIds.filter((peer) => peer !== node).map((nodeId) => ({ nodeId }));
  }

  /** Feeds every running node the event `eventFor(node)` at the current virtual time (an admin change on all). */
  stepEvery(eventFor: (node: number) => TransportEvent): void {
    for (const node of this.cores.keys()) this.step(node, eventFor(node));
  }

  /** (Re)starts a node with a fresh core. */
  start(node: number): void {
    const allLinks = this.linkOptions().map(({ link }) => link);
    const core = new Transport(
      {
        localNodeId: node,
        clusterId: clusterIdFromName('sim'),
        linkMode: this.options.linkMode,
        links: this.linkOptions(),
        peers: this.nodeIds.filter((peer) => peer !== node).map((nodeId) => ({ nodeId, links: allLinks })),
        failbackHoldMs: this.options.failbackHoldMs ?? 1000,
        maxMessageBytes: this.options.maxMessageBytes ?? 1024 * 1024,
      },
      this.scheduler.now(),
    );
    this.cores.set(node, core);
    this.network.addHost(node, (datagram) => {
      const queue = this.paused.get(node);
      if (queue !== undefined) queue.push(datagram);
      else this.step(node, { type: 'receive', link: datagram.link, bytes: datagram.bytes });
    });
    this.step(node, { type: 'tick' });
  }

  /** Crashes a node: its core and timer vanish, datagrams to it are lost. */
  crash(node: number): void {
    this.network.removeHost(node);
    this.cores.delete(node);
    const timer = this.timers.get(node);
    if (timer !== undefined) this.scheduler.cancel(timer);
  }

  /**
   * Stops a node's process for `ms` (a GC pause, a blocked event loop): no timer fires, datagrams wait in its
   * socket. On resume the waiting datagrams are read first, then the overdue timer ticks (the daemon's order).
   */
  pause(node: number, ms: number): void {
    const timer = this.timers.get(node);
    if (timer !== undefined) this.scheduler.cancel(timer);
    this.timers.delete(node);
    this.paused.set(node, []);
    this.scheduler.after(ms, () => {
      const queue = this.paused.get(node) ?? [];
      this.paused.delete(node);
      for (const datagram of queue) this.step(node, { type: 'receive', link: datagram.link, bytes: datagram.bytes });
      this.step(node, { type: 'tick' });
    });
  }

  /** Feeds one event to a node's core and performs its actions. */
  step(node: number, event: TransportEvent): void {
    const core = this.cores.get(node);
    if (core === undefined) return;
    const now = this.scheduler.now();
    const actions = core.step(event, now);
    const errors: TransportEvent[] = [];
    for (const action of actions) {
      if (action.type === 'transmit') {
        const result = this.network.send(node, action.to, action.link, action.bytes);
        if (!result.ok) errors.push({ type: 'sendError', link: action.link, to: action.to, code: result.error });
        continue;
      }
      this.recorded.push({ node, at: now, action });
      if (action.type === 'deliver')
        for (const handler of this.deliverHandlers) handler(node, action.from, action.payload);
    }
    this.arm(node, core);
    for (const error of errors) this.step(node, error);
  }

  /** Calls `handler` for every delivered message. */
  onDeliver(handler: (node: number, from: number, payload: Uint8Array) => void): void {
    this.deliverHandlers.push(handler);
  }

  /** Runs the virtual clock forward. */
  runFor(ms: number): void {
    this.scheduler.runFor(ms);
  }

  /** Recorded actions of one type (optionally of one node), in order. */
  actionsOf<T extends TransportAction['type']>(
    type: T,
    node?: number,
  ): (Recorded & { action: Extract<TransportAction, { type: T }> })[] {
    return this.recorded.filter(
      (entry): entry is Recorded & { action: Extract<TransportAction, { type: T }> } =>
        entry.action.type === type && (node === undefined || entry.node === node),
    );
  }

  /** The status row of `node`'s view of `peer` on `link`. */
  status(node: number, peer: number, link: number) {
    const row = this.cores
      .get(node)
      ?.linkStatus(this.scheduler.now())
      .find((status) => status.nodeId === peer && status.link === link);
    if (row === undefined) throw new Error(`no status for ${node}→${peer} link ${link}`);
    return row;
  }

  private arm(node: number, core: Transport): void {
    const previous = this.timers.get(node);
    if (previous !== undefined) this.scheduler.cancel(previous);
    const deadline = core.nextDeadline();
    if (deadline === Number.POSITIVE_INFINITY) {
      this.timers.delete(node);
      return;
    }
    this.timers.set(
      node,
      this.scheduler.at(deadline, () => this.step(node, { type: 'tick' })),
    );
  }
}

/**
 * The simple acking sender of the scenario tests: every message carries (sender, id); the receiver acks it
 * (urgent); the sender retransmits unacknowledged messages every retransmitMs. Tracks what was delivered.
 */
export class AckingTraffic {
  /** Delivered message ids per (from→to), each counted once. */
  readonly delivered = new Map<string, Set<number>>();
  private readonly unacked = new Map<string, Map<number, number>>();
  private nextId = 1;

  constructor(
    private readonly cluster: SimCluster,
    private readonly retransmitMs: number,
  ) {
    cluster.onDeliver((node, from, payload) => this.onDeliver(node, from, payload));
  }

  /** Sends message `id` from → to now and keeps it until acked. */
  send(from: number, to: number): number {
    const id = this.nextId++;
    const pending = this.unacked.get(`${from}>${to}`) ?? new Map<number, number>();
    this.unacked.set(`${from}>${to}`, pending);
    pending.set(id, this.cluster.scheduler.now());
    this.transmit(from, to, id);
    this.cluster.scheduler.after(this.retransmitMs, () => this.retry(from, to, id));
    return id;
  }

  /** Messages from → to not yet acknowledged. */
  unackedCount(from: number, to: number): number {
    return this.unacked.get(`${from}>${to}`)?.size ?? 0;
  }

  /** Ids delivered from → to. */
  deliveredIds(from: number, to: number): Set<number> {
    return this.delivered.get(`${from}>${to}`) ?? new Set();
  }

  private transmit(from: number, to: number, id: number): void {
    const payload = new Uint8Array(9);
    const view = new DataView(payload.buffer);
    view.setUint8(0, 1); // 1 = data
    view.setUint32(1, from);
    view.setUint32(5, id);
    this.cluster.step(from, { type: 'send', to, payload });
  }

  private retry(from: number, to: number, id: number): void {
    if (!this.unacked.get(`${from}>${to}`)?.has(id)) return;
    this.transmit(from, to, id);
    this.cluster.scheduler.after(this.retransmitMs, () => this.retry(from, to, id));
  }

  private onDeliver(node: number, from: number, payload: Uint8Array): void {
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    if (payload.length !== 9) return;
    const kind = view.getUint8(0);
    const id = view.getUint32(5);
    if (kind === 1) {
      const key = `${from}>${node}`;
      const ids = this.delivered.get(key) ?? new Set<number>();
      this.delivered.set(key, ids);
      ids.add(id);
      const ack = payload.slice();
      ack[0] = 2; // 2 = ack
      this.cluster.step(node, { type: 'send', to: from, payload: ack, urgent: true });
    } else if (kind === 2) {
      this.unacked.get(`${node}>${from}`)?.delete(id);
    }
  }
}

/** Payload tag of MessageStream messages (AckingTraffic uses 1 and 2 in 9-byte payloads). */
const STREAM_KIND = 3;
const STREAM_PAYLOAD_BYTES = 12;

/**
 * A fire-and-forget stream: every `everyMs` each node sends one numbered message to every other node. Unlike
 * AckingTraffic nothing is retransmitted, so whatever the transport loses stays lost and shows in `lost()`.
 */
export class MessageStream {
  private readonly sent: { from: number; to: number; id: number }[] = [];
  /** Deliveries per `from>to#id`. */
  private readonly deliveries = new Map<string, number>();
  private nextId = 1;
  private running = true;

  constructor(
    private readonly cluster: SimCluster,
    private readonly everyMs: number,
  ) {
    cluster.onDeliver((node, from, payload) => this.onDeliver(node, from, payload));
    this.sendRound();
  }

  /** Stops sending (run the clock a little longer for the last messages to land). */
  stop(): void {
    this.running = false;
  }

  /** Messages sent so far. */
  get sentCount(): number {
    return this.sent.length;
  }

  /** Messages sent but never delivered, as `from>to#id`. */
  lost(): string[] {
    return this.sent.map(streamKey).filter((key) => !this.deliveries.has(key));
  }

  /** Messages delivered more than once, as `from>to#id`. */
  duplicates(): string[] {
    return [...this.deliveries].filter(([, count]) => count > 1).map(([key]) => key);
  }

  private sendRound(): void {
    if (!this.running) return;
    for (const from of this.cluster.cores.keys()) {
      for (const to of this.cluster.nodeIds.filter((node) => node !== from)) {
        const id = this.nextId++;
        const payload = new Uint8Array(STREAM_PAYLOAD_BYTES);
        const view = new DataView(payload.buffer);
        view.setUint8(0, STREAM_KIND);
        view.setUint32(1, from);
        view.setUint32(5, id);
        this.sent.push({ from, to, id });
        this.cluster.step(from, { type: 'send', to, payload });
      }
    }
    this.cluster.scheduler.after(this.everyMs, () => this.sendRound());
  }

  private onDeliver(node: number, from: number, payload: Uint8Array): void {
    if (payload.length !== STREAM_PAYLOAD_BYTES || payload[0] !== STREAM_KIND) return;
    const id = new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(5);
    const key = streamKey({ from, to: node, id });
    this.deliveries.set(key, (this.deliveries.get(key) ?? 0) + 1);
  }
}

function streamKey({ from, to, id }: { from: number; to: number; id: number }): string {
  return `${from}>${to}#${id}`;
}
