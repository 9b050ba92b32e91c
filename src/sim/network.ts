/**
 * A virtual network of hosts × links for the simulator. Each link is its own network (its own switch);
 * each host has one "cable" per link. Faults: pulled cables (both directions or one), a dead switch,
 * partitions, blocked host pairs, and per-link (optionally per-host) loss, delay, jitter, duplication
 * and reordering. Every datagram travels through the Scheduler, and every random draw comes from the
 * seeded Rng, so a run replays exactly from its seed.
 */
import type { Rng } from './rng.ts';
import type { Scheduler } from './scheduler.ts';

/** Impairments applied to datagrams on a link. Percentages are 0–100. */
export interface LinkConditions {
  lossPct: number;
  delayMs: number;
  jitterMs: number;
  duplicatePct: number;
  reorderPct: number;
}

/** One datagram on the virtual wire. */
export interface Datagram {
  from: number;
  to: number;
  link: number;
  bytes: Uint8Array;
}

/** What a socket send returns: a pulled local cable fails at once, like a NIC that is down. */
export type SendResult = { ok: true } | { ok: false; error: 'ENETUNREACH' };

/** Which way a cable cut applies, seen from the host. */
export type CutDirection = 'both' | 'in' | 'out';

/** Why the network dropped a datagram (keys of `stats.dropped`). */
export type DropReason = 'cable' | 'switch' | 'partition' | 'blocked' | 'loss' | 'no_host';

export interface NetworkOptions {
  /** Number of links (link numbers 0 … links-1). */
  links: number;
  /** One-way latency of every datagram before impairments (default 0.1 ms, a LAN). */
  baseDelayMs?: number;
}

/** Upper bound of the extra delay a reordered datagram gets, as a multiple of the link's delay. */
const REORDER_EXTRA_DELAY_FACTOR = 3;
/** Extra delay of a reordered datagram when the link has no configured delay. */
const REORDER_MIN_EXTRA_MS = 1;
const NO_CONDITIONS: LinkConditions = { lossPct: 0, delayMs: 0, jitterMs: 0, duplicatePct: 0, reorderPct: 0 };

interface CableState {
  inCut: boolean;
  outCut: boolean;
}

export class VirtualNetwork {
  readonly stats: { sent: number; delivered: number; duplicated: number; dropped: Record<DropReason, number> } = {
    sent: 0,
    delivered: 0,
    duplicated: 0,
    dropped: { cable: 0, switch: 0, partition: 0, blocked: 0, loss: 0, no_host: 0 },
  };

  private readonly receivers = new Map<number, (d: Datagram) => void>();
  private readonly cables = new Map<string, CableState>();
  private readonly deadSwitches = new Set<number>();
  private readonly blockedPairs = new Set<string>();
  private groupOf = new Map<number, number>();
  private readonly linkConditions = new Map<number, LinkConditions>();
  private readonly hostConditions = new Map<string, LinkConditions>();
  private readonly baseDelayMs: number;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly rng: Rng,
    readonly options: NetworkOptions,
  ) {
    this.baseDelayMs = options.baseDelayMs ?? 0.1;
  }

  /** Attaches a host (or re-attaches it after a restart) with the function that receives its datagrams. */
  addHost(host: number, receive: (d: Datagram) => void): void {
    this.receivers.set(host, receive);
  }

  /** Detaches a host (a crash): datagrams to it, also those already in flight, vanish. */
  removeHost(host: number): void {
    this.receivers.delete(host);
  }

  /** Sends a datagram; delivery happens later through the scheduler, or never. */
  send(from: number, to: number, link: number, bytes: Uint8Array): SendResult {
    this.checkLink(link);
    this.stats.sent++;
    if (this.cable(from, link).outCut) {
      this.stats.dropped.cable++;
      return { ok: false, error: 'ENETUNREACH' };
    }
    const drop = this.pathDropReason(from, to, link);
    if (drop) {
      this.stats.dropped[drop]++;
      return { ok: true };
    }
    const conditions = this.conditionsFor(from, to, link);
    if (this.rng.chance(conditions.lossPct / 100)) {
      this.stats.dropped.loss++;
      return { ok: true };
    }
    const copy = bytes.slice();
    this.schedule({ from, to, link, bytes: copy }, conditions);
    if (this.rng.chance(conditions.duplicatePct / 100)) {
      this.stats.duplicated++;
      this.schedule({ from, to, link, bytes: copy.slice() }, conditions);
    }
    return { ok: true };
  }

  /** Pulls a host's cable on one link (default both directions). */
  cut(host: number, link: number, direction: CutDirection = 'both'): void {
    this.setCable(host, link, direction, true);
  }

  /** Plugs a host's cable back in. */
  restore(host: number, link: number, direction: CutDirection = 'both'): void {
    this.setCable(host, link, direction, false);
  }

  /** Kills the whole network of one link (its switch). */
  cutSwitch(link: number): void {
    this.checkLink(link);
    this.deadSwitches.add(link);
  }

  restoreSwitch(link: number): void {
    this.deadSwitches.delete(link);
  }

  /** Makes a and b unreachable from each other, on one link or (link omitted) on every link. */
  blockPair(a: number, b: number, link?: number): void {
    this.blockedPairs.add(pairKey(a, b, link));
  }

  unblockPair(a: number, b: number, link?: number): void {
    this.blockedPairs.delete(pairKey(a, b, link));
  }

  /** Splits the hosts into groups that cannot reach each other on any link. Hosts not listed form one more group. */
  partition(groups: number[][]): void {
    this.groupOf = new Map();
    groups.forEach((group, index) => {
      for (const host of group) this.groupOf.set(host, index);
    });
  }

  /** Lifts partitions and pair blocks (cable cuts and dead switches stay). */
  heal(): void {
    this.groupOf = new Map();
    this.blockedPairs.clear();
  }

  /** Sets impairments on a link, for all datagrams or (host given) only those from or to that host. */
  setConditions(link: number, conditions: Partial<LinkConditions>, host?: number): void {
    this.checkLink(link);
    if (host === undefined) {
      this.linkConditions.set(link, { ...(this.linkConditions.get(link) ?? NO_CONDITIONS), ...conditions });
    } else {
      const key = cableKey(host, link);
      this.hostConditions.set(key, { ...(this.hostConditions.get(key) ?? NO_CONDITIONS), ...conditions });
    }
  }

  /** Removes every impairment (not cuts or partitions). */
  clearConditions(): void {
    this.linkConditions.clear();
    this.hostConditions.clear();
  }

  /** Whether a datagram from → to on link would get through right now (ignoring random loss). */
  canReach(from: number, to: number, link: number): boolean {
    return !this.cable(from, link).outCut && this.pathDropReason(from, to, link) === undefined;
  }

  private schedule(datagram: Datagram, conditions: LinkConditions): void {
    let delay = this.baseDelayMs + conditions.delayMs;
    if (conditions.jitterMs > 0) delay += (this.rng.next() * 2 - 1) * conditions.jitterMs;
    if (this.rng.chance(conditions.reorderPct / 100)) {
      delay += this.rng.next() * Math.max(REORDER_MIN_EXTRA_MS, conditions.delayMs * REORDER_EXTRA_DELAY_FACTOR);
    }
    this.scheduler.after(Math.max(0, delay), () => this.deliver(datagram));
  }

  private deliver(datagram: Datagram): void {
    // Faults that happened while the datagram was in flight still apply at the receiving end.
    const receive = this.receivers.get(datagram.to);
    if (!receive) {
      this.stats.dropped.no_host++;
      return;
    }
    if (this.cable(datagram.to, datagram.link).inCut) {
      this.stats.dropped.cable++;
      return;
    }
    if (this.deadSwitches.has(datagram.link)) {
      this.stats.dropped.switch++;
      return;
    }
    this.stats.delivered++;
    receive(datagram);
  }

  private pathDropReason(from: number, to: number, link: number): DropReason | undefined {
    if (!this.receivers.has(to)) return 'no_host';
    if (this.deadSwitches.has(link)) return 'switch';
    if (this.cable(to, link).inCut) return 'cable';
    if ((this.groupOf.get(from) ?? -1) !== (this.groupOf.get(to) ?? -1)) return 'partition';
    if (this.blockedPairs.has(pairKey(from, to)) || this.blockedPairs.has(pairKey(from, to, link))) return 'blocked';
    return undefined;
  }

  private conditionsFor(from: number, to: number, link: number): LinkConditions {
    const base = this.linkConditions.get(link) ?? NO_CONDITIONS;
    const fromHost = this.hostConditions.get(cableKey(from, link));
    const toHost = this.hostConditions.get(cableKey(to, link));
    if (!fromHost && !toHost) return base;
    // Impairments on both ends add up, as two lossy cables would.
    const parts = [base, fromHost ?? NO_CONDITIONS, toHost ?? NO_CONDITIONS];
    const combinePct = (key: 'lossPct' | 'duplicatePct' | 'reorderPct'): number =>
      100 * (1 - parts.reduce((keep, c) => keep * (1 - c[key] / 100), 1));
    return {
      lossPct: combinePct('lossPct'),
      duplicatePct: combinePct('duplicatePct'),
      reorderPct: combinePct('reorderPct'),
      delayMs: parts.reduce((sum, c) => sum + c.delayMs, 0),
      jitterMs: parts.reduce((sum, c) => sum + c.jitterMs, 0),
    };
  }

  private cable(host: number, link: number): CableState {
    return this.cables.get(cableKey(host, link)) ?? { inCut: false, outCut: false };
  }

  private setCable(host: number, link: number, direction: CutDirection, cut: boolean): void {
    this.checkLink(link);
    const state = { ...this.cable(host, link) };
    if (direction !== 'out') state.inCut = cut;
    if (direction !== 'in') state.outCut = cut;
    this.cables.set(cableKey(host, link), state);
  }

  private checkLink(link: number): void {
    if (!Number.isInteger(link) || link < 0 || link >= this.options.links) {
      throw new RangeError(`VirtualNetwork: link ${link} does not exist (links 0–${this.options.links - 1})`);
    }
  }
}

function cableKey(host: number, link: number): string {
  return `${host}/${link}`;
}

function pairKey(a: number, b: number, link?: number): string {
  return `${Math.min(a, b)}-${Math.max(a, b)}/${link ?? '*'}`;
}
