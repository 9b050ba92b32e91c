/**
 * The pure service stack above the transport: Totem, votequorum and CPG composed into one state machine with
 * the same `step(event, now) → actions` / `nextDeadline()` shape as each of them. Totem carries both services'
 * messages in its agreed order; the first payload byte says which service a message belongs to (corosync's
 * service id). The daemon drives this stack with real sockets and clocks; the simulator can drive the same code.
 */
import type { CpgAction, CpgError, MemberChange, ProcessAddress } from '../cpg/index.ts';
import { Cpg } from '../cpg/index.ts';
import type { QuorumAction, QuorumOptions, QuorumRequestError, QuorumSnapshot } from '../quorum/index.ts';
import { QuorumCore } from '../quorum/index.ts';
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

/** Service ids: the first byte of every Totem payload. */
const SERVICE_QUORUM = 1;
const SERVICE_CPG = 2;
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

/** The Totem packer of the stack (TotemOptions.packer) for a budget of `budgetBytes` per pack. */
export function stackPacker(budgetBytes: number): TotemPacker {
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
}

export type StackEvent =
  | { type: 'tick' }
  /** A whole message from the transport. */
  | { type: 'transportDeliver'; from: number; payload: Uint8Array }
  /** Transport reachability: first link up / last link down. */
  | { type: 'hostUp' | 'hostDown'; nodeId: number }
  | { type: 'cpgJoin' | 'cpgLeave'; group: string; pid: number }
  | { type: 'cpgMulticast'; group: string; pid: number; payload: Uint8Array }
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
  | { type: 'leave' };

export type StackAction =
  | { type: 'transportSend'; to: number | 'all'; payload: Uint8Array; urgent: boolean }
  /** Totem's configuration change, passed up as is. */
  | (Omit<Extract<TotemAction, { type: 'configChange' }>, 'type'> & { type: 'membership' })
  | { type: 'quorum'; quorate: boolean; changed: boolean; members: number[]; ringId: RingId | null }
  | { type: 'quorumRequest'; request: 'setExpected' | 'setVotes'; ok: boolean; error?: QuorumRequestError }
  | { type: 'cpgDeliver'; group: string; pid: number; sender: ProcessAddress; payload: Uint8Array }
  | {
      type: 'cpgConfchg';
      group: string;
      pid: number;
      members: ProcessAddress[];
      left: MemberChange[];
      joined: MemberChange[];
    }
  | { type: 'cpgRequestFailed'; request: 'join' | 'leave' | 'multicast'; group: string; pid: number; error: CpgError }
  /** Totem refused a multicast: the sender should retry later. */
  | { type: 'backpressure'; pending: number }
  /** A node with another cluster config was not admitted into the membership (Totem's `configMismatch`). */
  | { type: 'configMismatch'; nodeId: number; theirs: ConfigStamp; ours: ConfigStamp }
  /** A point-to-point message from another daemon (see `peerSend`). */
  | { type: 'peerDeliver'; from: number; payload: Uint8Array }
  | { type: 'log'; level: StackLogLevel; subsystem: 'TOTEM' | 'QUORUM' | 'CPG'; message: string };

/** Internal work items: a core's actions waiting to be routed. */
type Routed =
  | { from: 'totem'; actions: TotemAction[] }
  | { from: 'quorum'; actions: QuorumAction[] }
  | { from: 'cpg'; actions: CpgAction[] };

export class ServiceStack {
  readonly totem: TotemCore;
  readonly quorum: QuorumCore;
  readonly cpg: Cpg;
  /** Messages from Totem whose service byte is unknown or missing. */
  unknownServiceMessages = 0;
  private output: StackAction[] = [];
  /** Service messages Totem had no room for yet, in order (see `multicast`). */
  private readonly overflow: { payload: Uint8Array; guarantee: Guarantee }[] = [];
  private now: number;

  constructor(options: StackOptions, now: number) {
    this.now = now;
    this.totem = new TotemCore(options.totem, now);
    this.quorum = new QuorumCore(options.quorum, now);
    this.cpg = new Cpg(
      {
        localNodeId: options.totem.localNodeId,
        ...(options.totemPayloadBytesMax === undefined
          ? {}
          : { totemPayloadBytesMax: options.totemPayloadBytesMax - 1 }),
      },
      now,
    );
  }

  /** votequorum's startup adjustments (e.g. two_node forcing wait_for_all), as log actions. */
  startupLog(): StackAction[] {
    return [...this.quorum.configLog];
  }

  step(event: StackEvent, now: number): StackAction[] {
    this.now = now;
    this.output = [];
    const queue: Routed[] = [];
    switch (event.type) {
      case 'tick':
        queue.push({ from: 'totem', actions: this.totem.step({ type: 'tick' }, now) });
        queue.push({ from: 'quorum', actions: this.quorum.step({ type: 'tick' }, now) });
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
        queue.push({ from: 'quorum', actions: this.quorum.step({ type: 'reconfigure', options: event.quorum }, now) });
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
      case 'cpgJoin':
      case 'cpgLeave':
        queue.push({
          from: 'cpg',
          actions: this.cpg.step(
            { type: event.type === 'cpgJoin' ? 'localJoin' : 'localLeave', group: event.group, pid: event.pid },
            now,
          ),
        });
        break;
      case 'cpgMulticast':
        queue.push({
          from: 'cpg',
          actions: this.cpg.step(
            { type: 'localMulticast', group: event.group, pid: event.pid, payload: event.payload },
            now,
          ),
        });
        break;
      case 'processDown':
        queue.push({ from: 'cpg', actions: this.cpg.step({ type: 'processDown', pid: event.pid }, now) });
        break;
      case 'setExpected':
        queue.push({ from: 'quorum', actions: this.quorum.step({ type: 'setExpected', votes: event.votes }, now) });
        break;
      case 'setVotes':
        queue.push({
          from: 'quorum',
          actions: this.quorum.step(
            { type: 'setVotes', votes: event.votes, ...(event.nodeId === undefined ? {} : { nodeId: event.nodeId }) },
            now,
          ),
        });
        break;
      case 'leave':
        queue.push({ from: 'totem', actions: this.totem.step({ type: 'leave' }, now) });
        break;
    }
    for (let item = queue.shift(); item; item = queue.shift()) this.route(item, queue);
    this.drainOverflow(queue);
    const actions = this.output;
    this.output = [];
    return actions;
  }

  nextDeadline(): number {
    return Math.min(this.totem.nextDeadline(), this.quorum.nextDeadline(), this.cpg.nextDeadline());
  }

  /** Whether Totem would take `count` (default 1) more multicasts now, after the service messages waiting. */
  canSend(count = 1): boolean {
    return this.totem.canSend(count + this.overflow.length);
  }

  snapshot(): { totem: TotemSnapshot; quorum: QuorumSnapshot } {
    return { totem: this.totem.snapshot(), quorum: this.quorum.snapshot() };
  }

  private route(item: Routed, queue: Routed[]): void {
    switch (item.from) {
      case 'totem':
        for (const action of item.actions) this.routeTotem(action, queue);
        break;
      case 'quorum':
        for (const action of item.actions) this.routeQuorum(action, queue);
        break;
      case 'cpg':
        for (const action of item.actions) this.routeCpg(action, queue);
        break;
    }
  }

  private routeTotem(action: TotemAction, queue: Routed[]): void {
    const now = this.now;
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
        const { kind, members, left, joined, failed, ringId } = action;
        this.output.push({ type: 'membership', kind, members, left, joined, failed, ringId });
        queue.push({ from: 'quorum', actions: this.quorum.step({ type: 'configChange', kind, members, ringId }, now) });
        queue.push({
          from: 'cpg',
          actions: this.cpg.step({ type: 'totemConfigChange', kind, members, left, joined, ringId }, now),
        });
        break;
      }
      case 'backpressure':
      case 'configMismatch':
      case 'log':
        this.output.push(action);
        break;
    }
  }

  /** One service payload in agreed order: to votequorum or CPG by its service byte. */
  private deliverService(sender: number, payload: Uint8Array, queue: Routed[]): void {
    const service = payload[0];
    const body = payload.subarray(1);
    if (service === SERVICE_QUORUM) {
      queue.push({
        from: 'quorum',
        actions: this.quorum.step({ type: 'receive', from: sender, payload: body }, this.now),
      });
    } else if (service === SERVICE_CPG) {
      queue.push({ from: 'cpg', actions: this.cpg.step({ type: 'totemDeliver', sender, payload: body }, this.now) });
    } else {
      this.unknownServiceMessages++;
    }
  }

  private routeQuorum(action: QuorumAction, queue: Routed[]): void {
    switch (action.type) {
      case 'broadcast':
        this.multicast(SERVICE_QUORUM, action.payload, 'agreed', queue);
        break;
      case 'quorumChange':
        this.output.push({
          type: 'quorum',
          quorate: action.quorate,
          changed: action.changed,
          members: action.members,
          ringId: action.ringId,
        });
        break;
      case 'requestResult':
        this.output.push({
          type: 'quorumRequest',
          request: action.request,
          ok: action.ok,
          ...(action.ok ? {} : { error: action.error }),
        });
        break;
      case 'reconfigureResult':
        // A refused reload is logged by votequorum itself (and it keeps running with its current data).
        break;
      case 'log':
        this.output.push(action);
        break;
    }
  }

  private routeCpg(action: CpgAction, queue: Routed[]): void {
    switch (action.type) {
      case 'totemMulticast':
        this.multicast(SERVICE_CPG, action.payload, 'agreed', queue);
        break;
      case 'deliver':
        this.output.push({
          type: 'cpgDeliver',
          group: action.group,
          pid: action.pid,
          sender: action.sender,
          payload: action.payload,
        });
        break;
      case 'confchg':
        this.output.push({
          type: 'cpgConfchg',
          group: action.group,
          pid: action.pid,
          members: action.members,
          left: action.left,
          joined: action.joined,
        });
        break;
      case 'requestFailed':
        this.output.push({
          type: 'cpgRequestFailed',
          request: action.request,
          group: action.group,
          pid: action.pid,
          error: action.error,
        });
        break;
      case 'log':
        this.output.push(action);
        break;
    }
  }

  /**
   * Hands a service's message to Totem. A service message is never dropped: when Totem's queue is full (or older
   * overflow is still waiting, to keep the order) it waits in `overflow` and goes in at the end of a later step.
   */
  private multicast(service: number, body: Uint8Array, guarantee: Guarantee, queue: Routed[]): void {
    const payload = new Uint8Array(body.length + 1);
    payload[0] = service;
    payload.set(body, 1);
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
