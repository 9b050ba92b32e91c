/**
 * A bare test bench for Totem cores: N cores wired to each other directly (no transport), a virtual clock and a
 * drop filter, so token handling can be examined hop by hop. Every action of every core is recorded.
 */
import { decodeMessage, type TotemMessage } from '../../src/totem/messages.ts';
import { TotemCore } from '../../src/totem/totem.ts';
import type { TotemAction, TotemEvent, TotemOptions } from '../../src/totem/types.ts';

/** corosync's defaults for a 3-node nodelist (token 3000 + 650 coefficient). */
export const THREE_NODE_TIMINGS = {
  tokenMs: 3650,
  tokenRetransmitMs: 869,
  joinMs: 50,
  consensusMs: 4380,
  mergeMs: 200,
  maxMessages: 17,
  windowSize: 50,
  failToRecvConst: 2500,
  seqnoUnchangedConst: 30,
};

/** One message on the bench's wire. */
export interface WireMessage {
  from: number;
  to: number;
  message: TotemMessage;
}

interface InFlight {
  at: number;
  order: number;
  from: number;
  to: number;
  payload: Uint8Array;
}

/** N Totem cores on a perfect (but filterable) wire with a fixed one-way delay. */
export class MiniRing {
  now = 0;
  readonly cores = new Map<number, TotemCore>();
  readonly actions = new Map<number, TotemAction[]>();
  /** Every message put on the wire, decoded. */
  readonly wire: (WireMessage & { at: number })[] = [];
  /** Return true to drop a message. */
  drop: (message: WireMessage) => boolean = () => false;
  private inFlight: InFlight[] = [];
  private order = 0;

  /** Starts the cores of `running` (default: every node of `nodes`, the nodelist each core is given). */
  constructor(
    readonly nodes: number[],
    private readonly options: Partial<TotemOptions> = {},
    readonly delayMs = 0.1,
    running: number[] = nodes,
  ) {
    for (const node of running) this.createCore(node, {});
    for (const node of running) this.step(node, { type: 'tick' });
  }

  /** Starts (or restarts, with a fresh state) a node's core now; `options` override the bench's for it. */
  start(node: number, options: Partial<TotemOptions> = {}): void {
    this.createCore(node, options);
    this.step(node, { type: 'tick' });
  }

  private createCore(node: number, options: Partial<TotemOptions>): void {
    const all = { ...THREE_NODE_TIMINGS, ...this.options, ...options, localNodeId: node, nodes: this.nodes };
    this.cores.set(node, new TotemCore(all, this.now));
    if (!this.actions.has(node)) this.actions.set(node, []);
  }

  /** Feeds an event to a node's core and routes its actions. */
  step(node: number, event: TotemEvent): TotemAction[] {
    const core = this.cores.get(node);
    if (!core) return [];
    const out = core.step(event, this.now);
    this.actions.get(node)!.push(...out);
    for (const action of out) {
      if (action.type !== 'send') continue;
      const targets = action.to === 'all' ? this.nodes.filter((id) => id !== node) : [action.to];
      for (const to of targets) {
        const message = decodeMessage(action.payload);
        if (!message) throw new Error('core sent an undecodable message');
        this.wire.push({ at: this.now, from: node, to, message });
        if (this.drop({ from: node, to, message })) continue;
        this.inFlight.push({
          at: this.now + this.delayMs,
          order: this.order++,
          from: node,
          to,
          payload: action.payload,
        });
      }
    }
    return out;
  }

  /** Runs the clock until `until` (absolute ms), delivering messages and ticking cores at their deadlines. */
  runUntil(until: number): void {
    for (;;) {
      let next = until;
      for (const core of this.cores.values()) next = Math.min(next, core.nextDeadline());
      for (const message of this.inFlight) next = Math.min(next, message.at);
      if (next >= until) break;
      this.now = Math.max(this.now, next);
      const due = this.inFlight
        .filter((message) => message.at <= this.now)
        .sort((a, b) => a.at - b.at || a.order - b.order);
      this.inFlight = this.inFlight.filter((message) => message.at > this.now);
      for (const message of due)
        this.step(message.to, { type: 'receive', from: message.from, payload: message.payload });
      for (const [node, core] of this.cores) if (core.nextDeadline() <= this.now) this.step(node, { type: 'tick' });
    }
    this.now = until;
  }

  /** Runs in `stepMs` steps until `predicate()` holds; false if it did not within `limitMs`. */
  runUntilTrue(predicate: () => boolean, limitMs: number, stepMs = 0.05): boolean {
    const deadline = this.now + limitMs;
    while (!predicate()) {
      if (this.now >= deadline) return false;
      this.runUntil(this.now + stepMs);
    }
    return true;
  }

  /** Runs the clock for `ms`. */
  runFor(ms: number): void {
    this.runUntil(this.now + ms);
  }

  /** Stops a node: its core is gone, messages to it vanish. */
  crash(node: number): void {
    this.cores.delete(node);
  }

  /** Payloads delivered by `node`, as text. */
  delivered(node: number): string[] {
    const decoder = new TextDecoder();
    return this.of(node, 'deliver').map((action) => decoder.decode(action.payload));
  }

  /** Actions of one type a node produced. */
  of<T extends TotemAction['type']>(node: number, type: T): Extract<TotemAction, { type: T }>[] {
    return this.actions
      .get(node)!
      .filter((action): action is Extract<TotemAction, { type: T }> => action.type === type);
  }

  /** Log messages of a node. */
  logs(node: number): string[] {
    return this.of(node, 'log').map((action) => action.message);
  }

  /** Multicasts a text payload from `node`. */
  multicast(node: number, text: string, guarantee: 'agreed' | 'safe' = 'agreed'): TotemAction[] {
    return this.step(node, { type: 'multicast', payload: new TextEncoder().encode(text), guarantee });
  }
}
