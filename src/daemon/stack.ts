/**
 * The pure service stack above the transport: Totem and a registry of service engines (./service-engine.ts:
 * votequorum, CPG, and whatever the driver registers) composed into one state machine with the same
 * `step(event, now) → actions` / `nextDeadline()` shape as each of them. Totem carries every service's messages in
 * its agreed order; the first payload byte is the service id of the engine it belongs to (corosync's service id),
 * and after each configuration change the engines sync in registration order (./service-sync.ts). The daemon
 * drives this stack with real sockets and clocks; the simulator can drive the same code.
 */

import { assert } from '../base/assert.ts';
import type { Cpg, CpgAction } from '../cpg/index.ts';
import type { QuorumCore, QuorumOptions, QuorumRequestError, QuorumSnapshot } from '../quorum/index.ts';
import type {
  ConfigStamp,
  Guarantee,
  RingId,
  TotemAction,
  TotemOptions,
  TotemPacker,
  TotemSnapshot,
  TotemTimings,
} from '../totem/index.ts';
import { TotemCore } from '../totem/index.ts';
import { FRAGMENT_HEADER_BYTES, HEADER_BYTES } from '../wire/packet.ts';
import { CpgEngine } from './cpg-engine.ts';
import { PACK_FRAMES_MAX, TOTEM_PAYLOAD_BYTES_MAX } from './limits.ts';
import { QuorumEngine } from './quorum-engine.ts';
import { type EngineAction, engineProblem, type ServiceEngine } from './service-engine.ts';
import { type EngineOutput, ServiceSync } from './service-sync.ts';

/** Every Totem payload starts with the service id of its engine (service-engine.ts), one byte. */
const SERVICE_ID_BYTES = 1;
/**
 * A pack of several service payloads in one Totem MCAST (corosync's totempg packing):
 * SERVICE_PACK | { length u16 BE | payload (its own service byte first) }+ — unpacked in order on delivery.
 */
const SERVICE_PACK = 0;
const PACK_HEADER_BYTES = 1;
/**
 * First bytes of a point-to-point message between two daemons outside Totem's order (a node fetching the cluster
 * config it is not admitted without). Totem messages start with their magic (0xc07a, little-endian), so the two
 * never collide on a link.
 */
const PEER_MESSAGE_PREFIX = [0xd1, 0x7c] as const;
const PACK_LENGTH_BYTES = 2;

/** Room for the Totem MCAST header (34 bytes) with a margin, when sizing packs to whole transport frames. */
const TOTEM_MCAST_HEADER_BUDGET = 64;

/**
 * The pack budget for links of `linkMtu` bytes: PACK_FRAMES_MAX whole transport fragments (the transport fragments
 * the pack), at most one Totem payload (the cap matters with jumbo frames).
 */
function packBudgetBytes(linkMtu: number): number {
  const frames = PACK_FRAMES_MAX * (linkMtu - HEADER_BYTES - FRAGMENT_HEADER_BYTES) - TOTEM_MCAST_HEADER_BUDGET;
  return Math.min(TOTEM_PAYLOAD_BYTES_MAX, frames);
}

/**
 * The sizes of a stack over links of `linkMtu` bytes (the smallest of its links): Totem's packer — totempg packing,
 * small service payloads share one MCAST of whole transport fragments — and the largest Totem payload. The daemon
 * builds its stack with them, and so does the simulator.
 */
export function stackSizes(linkMtu: number): { packer: TotemPacker; totemPayloadBytesMax: number } {
  return { packer: stackPacker(packBudgetBytes(linkMtu)), totemPayloadBytesMax: TOTEM_PAYLOAD_BYTES_MAX };
}

/** The Totem packer of the stack (TotemOptions.packer) for a budget of `budgetBytes` per pack. */
function stackPacker(budgetBytes: number): TotemPacker {
  return {
    budgetBytes,
    packedBytes: (count, bytes) => PACK_HEADER_BYTES + count * PACK_LENGTH_BYTES + bytes,
    pack(payloads) {
      let size = PACK_HEADER_BYTES;
      for (const p of payloads) size += PACK_LENGTH_BYTES + p.length;
      const out = new Uint8Array(size);
      out[0] = SERVICE_PACK;
      let offset = PACK_HEADER_BYTES;
      for (const p of payloads) {
        out[offset] = p.length >>> 8;
        out[offset + 1] = p.length & 0xff;
        out.set(p, offset + PACK_LENGTH_BYTES);
        offset += PACK_LENGTH_BYTES + p.length;
      }
      return out;
    },
  };
}

function isPeerMessage(payload: Uint8Array): boolean {
  return payload[0] === PEER_MESSAGE_PREFIX[0] && payload[1] === PEER_MESSAGE_PREFIX[1];
}

/** The payloads of a pack (views), or null when it is malformed. */
function unpack(pack: Uint8Array): Uint8Array[] | null {
  const out: Uint8Array[] = [];
  let offset = PACK_HEADER_BYTES;
  while (offset < pack.length) {
    if (offset + PACK_LENGTH_BYTES > pack.length) return null;
    const length = (pack[offset]! << 8) | pack[offset + 1]!;
    const start = offset + PACK_LENGTH_BYTES;
    if (length === 0 || start + length > pack.length) return null;
    out.push(pack.subarray(start, start + length));
    offset = start + length;
  }
  return out;
}

export type StackLogLevel = 'debug' | 'info' | 'notice' | 'warning' | 'error';

export interface StackOptions {
  totem: TotemOptions;
  quorum: QuorumOptions;
  /** Largest Totem payload (CPG fragments above it). */
  totemPayloadBytesMax?: number;
  /**
   * Builds the engines registered after votequorum (1) and CPG (2), in this order, which is also their sync order.
   * `payloadBytesMax`: the largest payload an engine may multicast (undefined: the engine's own default);
   * `quorate`: votequorum's verdict now (the same on every member at one point of the agreed order).
   */
  services?: (context: { payloadBytesMax: number | undefined; quorate: () => boolean }) => readonly ServiceEngine[];
}

export type StackEvent =
  | { type: 'tick' }
  /** A whole message from the transport. */
  | { type: 'transportDeliver'; from: number; payload: Uint8Array }
  /** Transport reachability: first link up / last link down. */
  | { type: 'hostUp' | 'hostDown'; nodeId: number }
  | { type: 'cpgJoin' | 'cpgLeave'; group: string; pid: number }
  /** `guarantee`: the CPG process's choice of Totem delivery (default agreed). */
  | { type: 'cpgMulticast'; group: string; pid: number; payload: Uint8Array; guarantee?: Guarantee }
  | { type: 'processDown'; pid: number }
  | { type: 'setExpected'; votes: number }
  | { type: 'setVotes'; votes: number; nodeId?: number }
  /** A new cluster config applied at run time (docs/reconfiguration.md): the parts Totem and votequorum take live. */
  | {
      type: 'reconfigure';
      totem: { nodes: number[]; configStamp: ConfigStamp; timings: Partial<TotemTimings> };
      quorum: QuorumOptions;
    }
  /** A point-to-point message to one daemon, outside Totem (delivered there as `peerDeliver`). */
  | { type: 'peerSend'; to: number; payload: Uint8Array }
  /** A request to the registered engine with this service id (its `request` reads `request`). */
  | { type: 'serviceRequest'; service: number; request: unknown }
  | { type: 'leave' };

export type StackAction =
  | { type: 'transportSend'; to: number | 'all'; payload: Uint8Array; urgent: boolean }
  /** Totem's configuration change, passed up as is. */
  | (Omit<Extract<TotemAction, { type: 'configChange' }>, 'type'> & { type: 'membership' })
  | { type: 'quorum'; quorate: boolean; changed: boolean; members: number[]; ringId: RingId | null }
  | { type: 'quorumRequest'; request: 'setExpected' | 'setVotes'; ok: boolean; error?: QuorumRequestError }
  /** CPG's deliveries, membership changes and refused requests, as its core emits them. */
  | Extract<CpgAction, { type: 'cpgDeliver' | 'cpgConfchg' | 'cpgRequestFailed' }>
  /** Totem refused a multicast: the sender should retry later. */
  | { type: 'backpressure'; pending: number }
  /** A node with another cluster config was not admitted into the membership (Totem's `configMismatch`). */
  | { type: 'configMismatch'; nodeId: number; theirs: ConfigStamp; ours: ConfigStamp }
  /** A point-to-point message from another daemon (see `peerSend`). */
  | { type: 'peerDeliver'; from: number; payload: Uint8Array }
  /** Output of a registered engine for its daemon-side adapter (`service` is the engine's id). */
  | { type: 'serviceOutput'; service: number; output: unknown }
  | {
      type: 'log';
      level: StackLogLevel;
      subsystem: 'TOTEM' | 'QUORUM' | 'CPG' | 'CFS' | 'KNET' | 'HA' | 'CFG';
      message: string;
    };

/** Internal work items: actions waiting to be routed, Totem's or one engine's. */
type Routed = { from: 'totem'; actions: TotemAction[] } | { from: ServiceEngine; actions: EngineAction[] };

/** Stack events the stack itself handles (the others are routed to the engine that lists them). */
const STACK_EVENTS: ReadonlySet<StackEvent['type']> = new Set([
  'tick',
  'transportDeliver',
  'hostUp',
  'hostDown',
  'reconfigure',
  'peerSend',
  'serviceRequest',
  'leave',
]);
/** Stack events every engine listing them gets. */
const SHARED_EVENTS: ReadonlySet<StackEvent['type']> = new Set(['reconfigure']);

export class ServiceStack {
  readonly totem: TotemCore;
  readonly quorum: QuorumCore;
  readonly cpg: Cpg;
  /** Messages from Totem whose service byte is unknown or missing. */
  unknownServiceMessages = 0;
  /** The registry: service id → engine, in registration order (which is the sync order). */
  private readonly engines = new Map<number, ServiceEngine>();
  /** Messages each engine multicast (tx) and had delivered (rx), by service id (cmap runtime.services.*). */
  private readonly traffic = new Map<number, { tx: number; rx: number }>();
  /** Which engines take each stack event. */
  private readonly handlers = new Map<StackEvent['type'], ServiceEngine[]>();
  private readonly sync: ServiceSync;
  private output: StackAction[] = [];
  /** The work of the step `begin` started that is still to be routed (null: no step under way). */
  private rest: Routed[] | null = null;
  /** Service messages Totem had no room for yet, in order (see `multicast`). */
  private readonly overflow: { payload: Uint8Array; guarantee: Guarantee }[] = [];
  private now: number;

  constructor(options: StackOptions, now: number) {
    this.now = now;
    this.totem = new TotemCore(options.totem, now);
    const quorum = new QuorumEngine(options.quorum, now);
    const payloadBytesMax =
      options.totemPayloadBytesMax === undefined ? undefined : options.totemPayloadBytesMax - SERVICE_ID_BYTES;
    const cpg = new CpgEngine(
      {
        localNodeId: options.totem.localNodeId,
        ...(payloadBytesMax === undefined ? {} : { totemPayloadBytesMax: payloadBytesMax }),
      },
      now,
    );
    this.quorum = quorum.core;
    this.cpg = cpg.core;
    const quorate = () => this.quorum.snapshot().quorate;
    for (const engine of [quorum, cpg, ...(options.services?.({ payloadBytesMax, quorate }) ?? [])]) {
      this.register(engine);
    }
    this.sync = new ServiceSync([...this.engines.values()]);
  }

  /** votequorum's startup adjustments (e.g. two_node forcing wait_for_all), as log actions. */
  startupLog(): StackAction[] {
    return [...this.quorum.configLog];
  }

  step(event: StackEvent, now: number): StackAction[] {
    const actions = this.begin(event, now);
    for (let rest = this.resume(); rest !== null; rest = this.resume()) for (const a of rest) actions.push(a);
    return actions;
  }

  /**
   * `step` in pieces, for a driver with sockets: the actions up to the first urgent send whose step has more work
   * after it — on a token visit, the token forward — so the token can leave before the visit's messages are
   * delivered to the engines (on the sender ≈ 250 µs per visit of 1 KiB messages, which every other node waited
   * for: docs/benchmarks.md "Forward first"). `resume` returns the next piece, null once the step is over; it
   * must be called until then, before the next `begin`. The pieces together are `step`'s actions, in order.
   */
  begin(event: StackEvent, now: number): StackAction[] {
    assert(this.rest === null, 'ServiceStack: a step begins only after the previous one was resumed to its end');
    this.now = now;
    this.output = [];
    const queue: Routed[] = [];
    switch (event.type) {
      case 'tick':
        queue.push({ from: 'totem', actions: this.totem.step({ type: 'tick' }, now) });
        for (const engine of this.engines.values()) queue.push({ from: engine, actions: engine.tick?.(now) ?? [] });
        break;
      case 'transportDeliver':
        if (isPeerMessage(event.payload)) {
          const payload = event.payload.subarray(PEER_MESSAGE_PREFIX.length);
          this.output.push({ type: 'peerDeliver', from: event.from, payload });
          break;
        }
        queue.push({
          from: 'totem',
          actions: this.totem.step({ type: 'receive', from: event.from, payload: event.payload }, now),
        });
        break;
      case 'peerSend': {
        const payload = new Uint8Array(PEER_MESSAGE_PREFIX.length + event.payload.length);
        payload.set(PEER_MESSAGE_PREFIX);
        payload.set(event.payload, PEER_MESSAGE_PREFIX.length);
        this.output.push({ type: 'transportSend', to: event.to, payload, urgent: false });
        break;
      }
      case 'reconfigure':
        queue.push({ from: 'totem', actions: this.totem.step({ type: 'reconfigure', ...event.totem }, now) });
        break;
      case 'hostUp':
      case 'hostDown':
        queue.push({
          from: 'totem',
          actions: this.totem.step(
            { type: event.type === 'hostUp' ? 'peerReachable' : 'peerUnreachable', nodeId: event.nodeId },
            now,
          ),
        });
        break;
      case 'serviceRequest': {
        const engine = this.engines.get(event.service);
        if (engine === undefined) throw new RangeError(`serviceRequest: no service with id ${event.service}`);
        queue.push({ from: engine, actions: engine.request(event, now) });
        break;
      }
      case 'leave':
        queue.push({ from: 'totem', actions: this.totem.step({ type: 'leave' }, now) });
        break;
    }
    for (const engine of this.handlers.get(event.type) ?? []) {
      queue.push({ from: engine, actions: engine.request(event, now) });
    }
    this.rest = queue;
    return this.routeRest();
  }

  /** The next piece of the step `begin` started, or null when it is over. */
  resume(): StackAction[] | null {
    return this.rest === null ? null : this.routeRest();
  }

  /** Routes the step's remaining work up to the next urgent send with work after it, or to the step's end. */
  private routeRest(): StackAction[] {
    const queue = this.rest!;
    for (let item = queue.shift(); item; item = queue.shift()) {
      if (this.route(item, queue)) return this.takeOutput();
    }
    this.drainOverflow(queue);
    this.rest = null;
    return this.takeOutput();
  }

  private takeOutput(): StackAction[] {
    const actions = this.output;
    this.output = [];
    return actions;
  }

  nextDeadline(): number {
    let deadline = this.totem.nextDeadline();
    for (const engine of this.engines.values()) deadline = Math.min(deadline, engine.nextDeadline?.() ?? Infinity);
    return deadline;
  }

  /** Whether Totem would take `count` (default 1) more multicasts now, after the service messages waiting. */
  canSend(count = 1, bytes = 0): boolean {
    return this.totem.canSend(count + this.overflow.length, bytes);
  }

  snapshot(): { totem: TotemSnapshot; quorum: QuorumSnapshot } {
    return { totem: this.totem.snapshot(), quorum: this.quorum.snapshot() };
  }

  /** The registered engines in registration order, with their message counts. */
  services(): { id: number; name: string; tx: number; rx: number }[] {
    return [...this.engines.values()].map(({ id, name }) => ({ id, name, ...this.traffic.get(id)! }));
  }

  /** Adds an engine to the registry and routes the stack events it lists to it. */
  private register(engine: ServiceEngine): void {
    const problem = engineProblem(engine, new Set(this.engines.keys()));
    if (problem) throw new RangeError(problem);
    for (const type of engine.requests) {
      const taken = this.handlers.get(type) ?? [];
      if (STACK_EVENTS.has(type) && !SHARED_EVENTS.has(type)) {
        throw new RangeError(`service ${engine.name}: the stack handles ${type} events itself`);
      }
      if (taken.length > 0 && !SHARED_EVENTS.has(type)) {
        throw new RangeError(`service ${engine.name}: ${type} events already go to ${taken[0]!.name}`);
      }
      this.handlers.set(type, [...taken, engine]);
    }
    this.engines.set(engine.id, engine);
    this.traffic.set(engine.id, { tx: 0, rx: 0 });
  }

  /**
   * Routes one work item. After an urgent send (Totem's control traffic: the token) with more of Totem's actions
   * behind it, the rest goes back to the front of the queue and the route pauses (true) so that `begin`/`resume`
   * can return the send first; the order of everything routed does not change.
   */
  private route(item: Routed, queue: Routed[]): boolean {
    if (item.from === 'totem') {
      const { actions } = item;
      for (let i = 0; i < actions.length; i++) {
        const action = actions[i]!;
        this.routeTotem(action, queue);
        if (action.type === 'send' && action.control && i + 1 < actions.length) {
          queue.unshift({ from: 'totem', actions: actions.slice(i + 1) });
          return true;
        }
      }
      return false;
    }
    for (const action of item.actions) {
      if (action.type === 'multicast') this.multicast(item.from.id, action, queue);
      else this.output.push(action);
    }
    return false;
  }

  private routeTotem(action: TotemAction, queue: Routed[]): void {
    switch (action.type) {
      case 'send':
        this.output.push({ type: 'transportSend', to: action.to, payload: action.payload, urgent: action.control });
        break;
      case 'deliver': {
        if (action.payload[0] !== SERVICE_PACK) {
          this.deliverService(action.sender, action.payload, queue);
          break;
        }
        const payloads = unpack(action.payload);
        if (payloads === null) this.unknownServiceMessages++;
        else for (const payload of payloads) this.deliverService(action.sender, payload, queue);
        break;
      }
      case 'configChange': {
        const { type: _, ...change } = action;
        this.output.push({ ...change, type: 'membership' });
        for (const engine of this.engines.values()) {
          queue.push({ from: engine, actions: engine.confchg?.(change, this.now) ?? [] });
        }
        this.queueSync(this.sync.configChange(change, this.now), queue);
        break;
      }
      case 'backpressure':
      case 'configMismatch':
      case 'log':
        this.output.push(action);
        break;
    }
  }

  /** One service payload in agreed order: to the engine its service byte names. */
  private deliverService(sender: number, payload: Uint8Array, queue: Routed[]): void {
    const engine = this.engines.get(payload[0]!);
    if (engine === undefined) {
      this.unknownServiceMessages++;
      return;
    }
    this.traffic.get(engine.id)!.rx++;
    queue.push({ from: engine, actions: engine.deliver(sender, payload.subarray(SERVICE_ID_BYTES), this.now) });
    this.queueSync(this.sync.delivered(this.now), queue);
  }

  private queueSync(outputs: readonly EngineOutput[], queue: Routed[]): void {
    for (const { engine, actions } of outputs) queue.push({ from: engine, actions });
  }

  /**
   * Hands a service's message to Totem. A service message is never dropped: when Totem's queue is full (or older
   * overflow is still waiting, to keep the order) it waits in `overflow` and goes in at the end of a later step.
   */
  private multicast(service: number, action: EngineAction & { type: 'multicast' }, queue: Routed[]): void {
    const payload = action.serviceIdFree ? action.payload : new Uint8Array(SERVICE_ID_BYTES + action.payload.length);
    if (!action.serviceIdFree) payload.set(action.payload, SERVICE_ID_BYTES);
    payload[0] = service;
    const guarantee = action.guarantee ?? 'agreed';
    this.traffic.get(service)!.tx++;
    if (this.overflow.length > 0 || !this.totem.canSend()) {
      this.overflow.push({ payload, guarantee });
      return;
    }
    queue.push({ from: 'totem', actions: this.totem.step({ type: 'multicast', payload, guarantee }, this.now) });
  }

  /** Moves overflow into Totem while it has room (its actions are routed like any other). */
  private drainOverflow(queue: Routed[]): void {
    while (this.overflow.length > 0 && this.totem.canSend()) {
      const { payload, guarantee } = this.overflow.shift()!;
      queue.push({ from: 'totem', actions: this.totem.step({ type: 'multicast', payload, guarantee }, this.now) });
      for (let item = queue.shift(); item; item = queue.shift()) this.route(item, queue);
    }
  }
}
