/**
 * A steady CPG message stream across real daemons, with the checker the chaos tests and benchmarks use:
 * every sender multicasts `<nodeid>:<seq>` at a fixed interval; every node records what it delivers and every
 * configuration change it sees. `problems()` reports duplicates, order disagreements between any two nodes,
 * refused messages delivered anywhere, and accepted messages of the given senders missing on the given nodes (saying
 * how many of them fell where that node's client saw the sender leave the group: src/lab/stream-gaps.ts).
 */
import { CorolinkClient } from '../client/client.ts';
import type { CpgGroup } from '../client/cpg-group.ts';
import { BackpressureError, DaemonRequestError } from '../client/errors.ts';
import type { MembershipEvent } from '../ipc/schema.ts';
import { type StreamEntry, streamGaps } from './stream-gaps.ts';

/** One node's view: what it delivered and the membership changes it reported. */
export interface StreamNode {
  nodeid: number;
  socket: string;
  client: CorolinkClient | undefined;
  group: CpgGroup | undefined;
  delivered: string[];
  memberships: MembershipEvent[];
  /** Milliseconds (performance.now) of each delivery, parallel to `delivered`. */
  deliveredAt: number[];
  /** Node ids in the group as this node last saw it (its latest confchg). */
  groupMembers: number[];
  /** Deliveries and confchgs in the order this node's client got them: where a missing message fell. */
  seen: StreamEntry[];
}

/** How long `open` waits for every node to see the whole group before a stream may start. */
const GROUP_COMPLETE_TIMEOUT_MS = 20_000;

/** Problems in one node's list (duplicates) or between two nodes (order). */
function pairOrderProblem(a: StreamNode, b: StreamNode): string | undefined {
  const inA = new Set(a.delivered);
  const inB = new Set(b.delivered);
  const aCommon = a.delivered.filter((m) => inB.has(m));
  const bCommon = b.delivered.filter((m) => inA.has(m));
  const at = aCommon.findIndex((m, i) => m !== bCommon[i]);
  if (at < 0) return undefined;
  return `n${a.nodeid} and n${b.nodeid} disagree on the order at common message ${at}: ${aCommon[at]} vs ${bCommon[at]}`;
}

/** Whether a failed send was certainly not multicast (the daemon or the group refused it). */
const isRefusal = (error: unknown) => error instanceof BackpressureError || error instanceof DaemonRequestError;

/** A stream over one CPG group joined on every node. */
export class CpgStream {
  private readonly accepted = new Map<number, string[]>();
  /** Messages certainly not sent (refused): none may ever be delivered. */
  private readonly refused = new Map<number, string[]>();
  /** Each sender's next message number: every attempt takes one (see `start`). */
  private readonly nextNumber = new Map<number, number>();
  private sending = false;
  private readonly loops: Promise<void>[] = [];

  private constructor(
    readonly nodes: StreamNode[],
    private readonly groupName: string,
  ) {}

  /** Connects to every node (nodeid → admin socket), joins `group` and starts recording. */
  static async open(sockets: Map<number, string>, group = 'chaos'): Promise<CpgStream> {
    const stream = new CpgStream(
      [...sockets].map(([nodeid, socket]) => ({
        nodeid,
        socket,
        client: undefined,
        group: undefined,
        delivered: [],
        deliveredAt: [],
        memberships: [],
        groupMembers: [],
        seen: [],
      })),
      group,
    );
    try {
      for (const node of stream.nodes) await stream.attach(node);
      // A message sent before a node's join is ordered is rightly not delivered to it: the stream starts only once
      // every node sees every other in the group.
      await stream.waitForCompleteGroup();
    } catch (error) {
      stream.close();
      throw error;
    }
    return stream;
  }

  node(nodeid: number): StreamNode {
    const node = this.nodes.find((n) => n.nodeid === nodeid);
    if (!node) throw new RangeError(`node ${nodeid} is not in the stream`);
    return node;
  }

  /** (Re)connects one node (after its daemon restarted), keeping what it recorded so far. */
  async attach(node: StreamNode): Promise<void> {
    node.client?.close();
    const client = await CorolinkClient.connect({ socket: node.socket, reconnect: false });
    node.client = client;
    await client.onMembership((event) => node.memberships.push(event));
    const group = await client.cpgJoin(this.groupName);
    group.on('confchg', (change) => {
      node.groupMembers = change.members.map((m) => m.nodeid);
      node.seen.push({ left: change.left });
    });
    group.on('message', (m) => {
      const message = `${m.nodeid}:${Buffer.from(m.data).toString()}`;
      node.delivered.push(message);
      node.deliveredAt.push(performance.now());
      node.seen.push({ message });
    });
    node.group = group;
  }

  private async waitForCompleteGroup(): Promise<void> {
    const everyone = this.nodes.map((n) => n.nodeid);
    const deadline = Date.now() + GROUP_COMPLETE_TIMEOUT_MS;
    while (!this.nodes.every((n) => everyone.every((id) => n.groupMembers.includes(id)))) {
      if (Date.now() > deadline) {
        const views = this.nodes.map((n) => `n${n.nodeid}: ${n.groupMembers.join(' ') || '-'}`).join('; ');
        throw new Error(
          `group ${this.groupName} not complete on every node within ${GROUP_COMPLETE_TIMEOUT_MS} ms (${views})`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Forgets a node's connection (its daemon is about to be killed or was). */
  detach(nodeid: number): void {
    const node = this.node(nodeid);
    node.client?.close();
    node.client = undefined;
    node.group = undefined;
  }

  /**
   * Starts sending from `senders`, one message per `intervalMs` each. A failed send is not counted and not retried,
   * and its number is not used again: a send that timed out or lost its connection may still have been multicast,
   * so only a refusal is known not to be (and is then checked never to be delivered).
   */
  start(senders: number[], intervalMs: number): void {
    this.sending = true;
    for (const nodeid of senders) {
      const accepted = this.accepted.get(nodeid) ?? [];
      this.accepted.set(nodeid, accepted);
      const refused = this.refused.get(nodeid) ?? [];
      this.refused.set(nodeid, refused);
      this.loops.push(
        (async () => {
          while (this.sending) {
            const group = this.node(nodeid).group;
            if (group) {
              const number = this.nextNumber.get(nodeid) ?? 0;
              this.nextNumber.set(nodeid, number + 1);
              const text = String(number);
              try {
                await group.send(text);
                accepted.push(`${nodeid}:${text}`);
              } catch (error) {
                if (isRefusal(error)) refused.push(`${nodeid}:${text}`);
              }
            }
            await new Promise((r) => setTimeout(r, intervalMs));
          }
        })(),
      );
    }
  }

  /** Stops sending and waits for the send loops to end. */
  async stop(): Promise<void> {
    this.sending = false;
    await Promise.all(this.loops.splice(0));
  }

  /** How many messages each sender has had accepted so far (a mark for `problems({ after })`). */
  mark(): Map<number, number> {
    return new Map([...this.accepted].map(([nodeid, list]) => [nodeid, list.length]));
  }

  /** Total deliveries on each of `on` (for waiting on progress). */
  deliveredCounts(on: number[]): number[] {
    return on.map((n) => this.node(n).delivered.length);
  }

  /** Waits until each of `on` delivered `count` more messages than now; false on timeout. */
  async progress(on: number[], count: number, timeoutMs: number): Promise<boolean> {
    const base = this.deliveredCounts(on);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() <= deadline) {
      if (this.deliveredCounts(on).every((c, i) => c >= base[i]! + count)) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  }

  /** Messages accepted from `nodeid`. */
  acceptedFrom(nodeid: number): string[] {
    return this.accepted.get(nodeid) ?? [];
  }

  /**
   * Waits until every accepted message of `senders` (from their `after` mark on, as `problems`) was delivered on every
   * one of `on`; false on timeout.
   */
  async drain(senders: number[], on: number[], timeoutMs: number, after?: Map<number, number>): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const expected = senders.flatMap((s) => this.acceptedFrom(s).slice(after?.get(s) ?? 0));
    for (;;) {
      const done = on.every((n) => {
        const seen = new Set(this.node(n).delivered);
        return expected.every((m) => seen.has(m));
      });
      if (done) return true;
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * Everything wrong with the stream: a message delivered twice on a node, two nodes delivering common
   * messages in different orders, a refused message delivered, and — for `complete` — an accepted message of one
   * of `complete.senders` (from its `after` mark on) missing on one of `complete.on`. Empty when the stream is intact.
   */
  problems(complete?: { senders: number[]; on: number[]; after?: Map<number, number> }): string[] {
    const found: string[] = [];
    for (const node of this.nodes) {
      const seen = new Set<string>();
      const dup = node.delivered.find((m) => seen.has(m) || !seen.add(m));
      if (dup !== undefined) found.push(`n${node.nodeid} delivered ${dup} more than once`);
    }
    const refused = new Set([...this.refused.values()].flat());
    for (const node of this.nodes) {
      const delivered = node.delivered.find((m) => refused.has(m));
      if (delivered !== undefined) found.push(`n${node.nodeid} delivered ${delivered}, whose send was refused`);
    }
    for (const [i, a] of this.nodes.entries())
      for (const b of this.nodes.slice(i + 1)) {
        const problem = pairOrderProblem(a, b);
        if (problem) found.push(problem);
      }
    if (complete)
      for (const n of complete.on) {
        const seen = new Set(this.node(n).delivered);
        for (const s of complete.senders) {
          const sent = this.acceptedFrom(s).slice(complete.after?.get(s) ?? 0);
          const missing = sent.filter((m) => !seen.has(m));
          if (missing.length === 0) continue;
          // Still a problem (the callers expect a whole stream), but one virtual synchrony allows: say which.
          const allowed = streamGaps(sent, this.node(n).seen, { nodeid: s })
            .filter((gap) => gap.senderLeft)
            .reduce((count, gap) => count + gap.missing.length, 0);
          // Where else the first one arrived, and whether it was the last sent: a loss, a lag or a split view.
          const elsewhere = this.nodes.filter((o) => o.nodeid !== n && o.delivered.includes(missing[0]!));
          found.push(
            `n${n} misses ${missing.length} message(s) from n${s}, first ${missing[0]}` +
              (allowed > 0 ? ` (${allowed} of them where n${n}'s client saw n${s} leave the group)` : '') +
              `; ${missing[0]} delivered on ${elsewhere.map((o) => `n${o.nodeid}`).join(', ') || 'no node'}` +
              `, n${s}'s last accepted ${sent.at(-1)}`,
          );
        }
      }
    return found;
  }

  /** Regular configurations reported by any node since the stream opened or `clearMemberships()`. */
  regularChanges(): { nodeid: number; ring_id: string; members: number[] }[] {
    return this.nodes.flatMap((n) =>
      n.memberships
        .filter((e) => e.kind === 'regular')
        .map((e) => ({ nodeid: n.nodeid, ring_id: e.ring_id, members: e.members })),
    );
  }

  /** Forgets the membership changes recorded so far. */
  clearMemberships(): void {
    for (const node of this.nodes) node.memberships.length = 0;
  }

  /** Closes every connection (sending must be stopped first). */
  close(): void {
    this.sending = false;
    for (const node of this.nodes) node.client?.close();
  }
}
