/**
 * Did every receiver get every message of a bench phase, and if not, did it see why? The sender numbers its
 * messages (a u32 at the payload's start); per phase and receiving node this records the messages delivered, the
 * numbers missing (as ranges), the configuration changes seen — Totem's `membership` events with their ring ids and
 * the group's CPG confchgs, each tagged with the last number delivered before it — and what the daemon dropped or
 * retransmitted meanwhile (its /metrics, before → after).
 * A bug, said loudly: a number delivered twice or out of order (one sender: FIFO), or messages missing at a node
 * that saw no configuration change (virtual synchrony allows a gap only across one).
 */
import type { CorolinkClient } from '../src/client/client.ts';
import type { CpgConfchg, CpgGroup, CpgMessage } from '../src/client/cpg-group.ts';
import type { MembershipEvent } from '../src/ipc/schema.ts';
import { fetchMetricSamples, samplesOf, sampleValue } from '../test/metrics-samples.ts';

/** Bytes of the message number at the start of each payload. */
export const MESSAGE_NUMBER_BYTES = 4;
/** Missing ranges listed per receiver (then how many more). */
const MISSING_RANGES_SHOWN = 20;

/** What one node saw during one phase. */
export interface ReceiverAudit {
  node: number;
  delivered: number;
  /** Message numbers never delivered, as `first-last` ranges. */
  missingRanges: string[];
  /** Totem configuration changes: `regular 1.8 [1 2 3] @4711` (kind, ring id, members, last number delivered). */
  rings: string[];
  /** The group's confchgs: `members 1 2 3 left 2 joined - @4711`. */
  confchgs: string[];
  /** /metrics counters that moved (drop reasons, retransmissions, link downs), by short name. */
  counters: Record<string, number>;
  /** Messages short of the phase's count. */
  missing: number;
  /** What broke virtual synchrony at this node, or null. */
  bug: string | null;
}

/** One node's deliveries in the current phase. */
class Receiver {
  delivered = 0;
  /** The number the next delivery should carry. */
  expected = 0;
  /** Deliveries whose number was below `expected`: a duplicate or a reordering. */
  outOfOrder = 0;
  readonly gaps: [number, number][] = [];
  readonly rings: string[] = [];
  readonly confchgs: string[] = [];

  record(data: Uint8Array): void {
    const number = Buffer.from(data.buffer, data.byteOffset, data.length).readUInt32BE(0);
    this.delivered++;
    if (number < this.expected) {
      this.outOfOrder++;
      return;
    }
    if (number > this.expected) this.gaps.push([this.expected, number - 1]);
    this.expected = number + 1;
  }

  /** Where in the stream an event came: after the last number delivered (`@-` before the first). */
  get position(): string {
    return `@${this.expected === 0 ? '-' : this.expected - 1}`;
  }
}

function describeRing(event: MembershipEvent): string {
  return `${event.kind} ${event.ring_id} [${event.members.join(' ')}]`;
}

function describeConfchg(change: CpgConfchg): string {
  const ids = (list: { nodeid: number }[]) => (list.length === 0 ? '-' : list.map((a) => a.nodeid).join(' '));
  return `members ${ids(change.members)} left ${ids(change.left)} joined ${ids(change.joined)}`;
}

/**
 * The /metrics samples a phase reports when they moved — received datagrams dropped, by reason; Totem
 * retransmissions; links going down — of one node, by short name (`crypto_replayed`, `retransmits`, `link_down n2 l0`).
 */
async function watchedCounters(httpUrl: string): Promise<Map<string, number>> {
  const samples = await fetchMetricSamples(httpUrl);
  const counters = new Map<string, number>();
  for (const { labels, value } of samplesOf(samples, 'corolink_dropped_total', { direction: 'rx' }))
    counters.set(labels.reason!, value);
  for (const name of ['retransmits', 'token_retransmits']) {
    const value = sampleValue(samples, `corolink_totem_${name}_total`);
    if (value !== undefined) counters.set(name, value);
  }
  for (const { labels, value } of samplesOf(samples, 'corolink_link_down_total'))
    counters.set(`link_down n${labels.nodeid} l${labels.link}`, value);
  return counters;
}

/** `payload` with `number` written at its start (the same buffer: a send copies it at once). */
export function numbered(payload: Buffer, number: number): Buffer {
  payload.writeUInt32BE(number, 0);
  return payload;
}

/** Watches the nodes' clients and groups (node i+1 ↔ index i); `start()` and `finish()` bracket each phase. */
export class PhaseAudit {
  /** The joined groups, by node index. */
  groups: CpgGroup[] = [];
  /** The current phase's receivers; null between phases (other traffic is not audited). */
  private receivers: Receiver[] | null = null;
  /** Members in each group's latest confchg. */
  private readonly groupSizes: number[];
  private countersBefore: Map<string, number>[] = [];

  private constructor(private readonly httpUrls: string[]) {
    this.groupSizes = new Array(httpUrls.length).fill(0);
  }

  /**
   * Joins group `name` on every client and watches its messages and confchgs (listeners attached as each join
   * resolves: a group's first events are held only until then) and every client's Totem configuration changes.
   */
  static async join(clients: CorolinkClient[], name: string, httpUrls: string[]): Promise<PhaseAudit> {
    const audit = new PhaseAudit(httpUrls);
    await Promise.all(
      clients.map((client, i) =>
        client.onMembership((event) => {
          const receiver = audit.receivers?.[i];
          receiver?.rings.push(`${describeRing(event)} ${receiver.position}`);
        }),
      ),
    );
    audit.groups = await Promise.all(
      clients.map(async (client, i) => {
        const group = await client.cpgJoin(name);
        group.on('message', (message: CpgMessage) => audit.receivers?.[i]?.record(message.data));
        group.on('confchg', (change) => {
          audit.groupSizes[i] = change.members.length;
          const receiver = audit.receivers?.[i];
          receiver?.confchgs.push(`${describeConfchg(change)} ${receiver.position}`);
        });
        return group;
      }),
    );
    return audit;
  }

  /** Waits (at most `timeoutMs`) until every group's latest confchg lists every node: the joins are all seen. */
  async waitForFullGroups(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const nodes = this.groupSizes.length;
    while (this.groupSizes.some((size) => size < nodes)) {
      if (Date.now() > deadline) throw new Error(`group sizes ${this.groupSizes.join(' ')} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Starts a phase: reads the counters, then audits every delivery until `finish`. */
  async start(): Promise<void> {
    this.countersBefore = await Promise.all(this.httpUrls.map(watchedCounters));
    this.receivers = this.httpUrls.map(() => new Receiver());
  }

  /** Messages delivered so far in this phase, by node. */
  delivered(): number[] {
    return this.receivers?.map((r) => r.delivered) ?? [];
  }

  /** Whether node index `i` saw a configuration change in this phase. */
  sawChange(i: number): boolean {
    const receiver = this.receivers?.[i];
    return receiver !== undefined && receiver.rings.length + receiver.confchgs.length > 0;
  }

  /** Ends a phase in which messages 0…`sent`−1 were sent. */
  async finish(sent: number): Promise<ReceiverAudit[]> {
    const receivers = this.receivers ?? [];
    this.receivers = null;
    const after = await Promise.all(this.httpUrls.map(watchedCounters));
    return receivers.map((r, i) => {
      const counters: Record<string, number> = {};
      for (const [name, value] of after[i]!) {
        const moved = value - (this.countersBefore[i]!.get(name) ?? 0);
        if (moved !== 0) counters[name] = moved;
      }
      const gaps = r.expected < sent ? [...r.gaps, [r.expected, sent - 1] as [number, number]] : r.gaps;
      const missing = gaps.reduce((sum, [first, last]) => sum + last - first + 1, 0);
      const changed = r.rings.length + r.confchgs.length > 0;
      const bug =
        r.outOfOrder > 0
          ? `${r.outOfOrder} MESSAGES DELIVERED TWICE OR OUT OF ORDER`
          : missing > 0 && !changed
            ? `${missing} MESSAGES LOST WITHOUT A CONFIGURATION CHANGE`
            : null;
      return {
        node: i + 1,
        delivered: r.delivered,
        missingRanges: [
          ...gaps
            .slice(0, MISSING_RANGES_SHOWN)
            .map(([first, last]) => (first === last ? `${first}` : `${first}-${last}`)),
          ...(gaps.length > MISSING_RANGES_SHOWN ? [`${gaps.length - MISSING_RANGES_SHOWN} more ranges`] : []),
        ],
        rings: r.rings,
        confchgs: r.confchgs,
        counters,
        missing,
        bug,
      };
    });
  }
}

/** One line per receiver: delivered, missing numbers, configuration changes, counters that moved. */
export function describeAudit(label: string, audits: ReceiverAudit[]): string[] {
  return audits.map((a) => {
    const changes = [...a.rings.map((r) => `ring ${r}`), ...a.confchgs.map((c) => `cpg ${c}`)];
    const counters = Object.entries(a.counters).map(([name, value]) => `${name} ${value}`);
    const missing = a.missing === 0 ? '' : ` (missing ${a.missingRanges.join(', ')})`;
    const verdict = a.bug === null ? '' : `  *** BUG: ${a.bug} ***`;
    return (
      `${label.padEnd(7)} n${a.node} ${String(a.delivered).padStart(6)}${missing}  ` +
      `${changes.length === 0 ? 'no configuration change' : changes.join('; ')}` +
      `${counters.length === 0 ? '' : `  | ${counters.join(', ')}`}${verdict}`
    );
  });
}
