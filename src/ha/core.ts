/**
 * The HA managers of one node as one pure state machine (`step(event, now) → actions`, `nextDeadline()`): the
 * replicated manager status and its transitions (crm.ts), the local manager (lrm.ts), the sync of the status after
 * every membership change, the manager election, and the lease that bounds how long this node may run services.
 *
 * - **Sync.** At every regular configuration each member multicasts its table (`hello`); once every member's is
 *   delivered, every member takes the same one — the newest (`newerTable`), ties to the lowest node id — so the
 *   members hold one status again. Until then other HA messages are dropped (their effect is redone: a local
 *   manager's report settles a lost result, the manager re-sends what it sent).
 * - **Transitional configuration.** Every HA message is multicast safe (ha-engine.ts), so one that any member
 *   delivered in the regular configuration was received by every member of the ring, and those that stay up
 *   deliver it, some only in their transitional configuration. The old ring's messages delivered there are
 *   applied exactly as in the regular one — the same total order, against the ring's members and quorum verdict
 *   (votequorum changes at the regular configuration only) — so every member of the ring reaches the table and
 *   verdicts the sender acted on. Nothing local acts on them: no lease renewal, no command, no manager duty, no
 *   admin answer (pending ones were answered "retry" at the change).
 * - **Manager.** The lowest node id of a synced quorate configuration (every member announced itself by its hello,
 *   and all agree on the order, so there is never a second one). Only it adds inputs that depend on a clock or a
 *   file: `fenced` once a lost node's deadline passed, `config` when resources.cfg changed. It also asks the
 *   daemon to `persist` the table (ha/manager_status) when it changed beyond reports; a node starts from that.
 * - **Shutdown.** A clean daemon stop: this node stops its units, runs none again, reports no more and tells the
 *   partition (`shutdown`, with freeze or not); `shutdownReady` once applied or cut by a membership change.
 * - **Lease.** This node may run services (and feed its watchdog) while quorate and within `leaseMs` of sending a
 *   message it received back in a regular configuration while synced and quorate. docs/ha.md derives the recovery wait from it.
 */
import { assert, isStrictlyAscending } from '../base/assert.ts';
import type { HaTimings } from '../config/defaults.ts';
import type { HaEvent, HaOp, HaOpResult, HaResourceSpec, HaStatusSnapshot } from './contract.ts';
import { ClusterManagerState, type CrmOutput, type CrmView, newerTable } from './crm.ts';
import { LocalManager } from './lrm.ts';
import type { AdminRequest, HaBody, HaMessage, HaTable } from './messages.ts';
import { parseResources } from './resources-file.ts';

export interface HaCoreOptions {
  localNodeId: number;
  timings: HaTimings;
  /** The cluster's node ids. */
  nodelist: readonly number[];
  nodeName: (id: number) => string | undefined;
  /** votequorum's verdict for the current configuration (read at each delivery: the same on every member). */
  quorate: () => boolean;
  /** resources.cfg from this node's copy of the replicated store (read only by the elected manager). */
  readConfig: () => string | null;
  /**
   * The manager status last persisted in the replicated store (`ha/manager_status`): this node starts from it, so
   * that a cluster whose members all restarted continues from the counts, fence and freeze states it had.
   */
  initialTable?: HaTable;
}

export type HaCoreEvent =
  /** Totem's configuration changes; a regular one starts the sync (the engine's syncInit). */
  | { type: 'confchg'; kind: 'transitional' | 'regular'; members: readonly number[]; ringSeq: number }
  | { type: 'deliver'; sender: number; message: HaMessage }
  | { type: 'tick' }
  | { type: 'runResult'; id: string; result: HaOpResult }
  | { type: 'admin'; id: number; request: AdminRequest }
  /** resources.cfg may have changed in the replicated store. */
  | { type: 'configChanged' }
  /**
   * The daemon stops cleanly: stop every unit here now and run none again; tell the partition (with `freeze`,
   * ha-manager's shutdown_policy freeze: the units wait for this node, frozen). Answered by `shutdownReady`.
   */
  | { type: 'shutdown'; freeze: boolean };

export type HaCoreAction =
  | { type: 'multicast'; message: HaMessage }
  | { type: 'run'; id: string; op: HaOp; spec: HaResourceSpec }
  | { type: 'stopAll' }
  | { type: 'feed' }
  | { type: 'event'; event: HaEvent }
  | { type: 'adminDone'; id: number; error: string | null }
  /** The partition applied this node's shutdown (or there was none to tell): the daemon may leave. */
  | { type: 'shutdownReady' }
  /** The elected manager: write the manager status to the replicated store (it changed beyond reports). */
  | { type: 'persist'; table: HaTable }
  | { type: 'log'; level: 'notice' | 'warning'; message: string };

type Phase = 'idle' | 'syncing' | 'synced';

export class HaCore {
  readonly crm: ClusterManagerState;
  readonly lrm: LocalManager;
  readonly counters = { dropped: 0, merges: 0 };
  private phase: Phase = 'idle';
  /** From a transitional configuration to the next regular one (see "Transitional configuration" above). */
  private transitional = false;
  /** The ring's members: the regular configuration's, kept through its transitional one. */
  private members: readonly number[] = [];
  private ringSeq = 0;
  private readonly hellos = new Map<number, HaTable>();
  private nonce = 0;
  /** Own messages not delivered yet: nonce → send time. */
  private readonly sentAt = new Map<number, number>();
  /** Send time of the latest own message delivered while synced and quorate (the lease's start). */
  private leaseFrom = Number.NEGATIVE_INFINITY;
  /** When this node saw each lost node leave (the start of its fence wait). */
  private readonly lostAt = new Map<number, number>();
  private lastReportAt = Number.NEGATIVE_INFINITY;
  /** Last report time of every node's local manager, by this node's clock. */
  private readonly reportSeenAt = new Map<number, number>();
  private readonly pendingAdmin = new Set<number>();
  private configSent: string | null = null;
  private readonly fenceSent = new Set<number>();
  /** What this node last asked to persist (`persistKey`), as manager; null: not yet in this term. */
  private persisted: string | null = null;
  private readonly held: HaCoreAction[] = [];
  /** The daemon is stopping: no unit runs here again; the nonce of its `shutdown` message until delivered. */
  private leaving: { nonce: number | null } | null = null;
  /** When the last sync completed (the partition's table took effect). */
  syncedAt = Number.NEGATIVE_INFINITY;
  private out: HaCoreAction[] = [];

  constructor(private readonly options: HaCoreOptions) {
    this.crm = new ClusterManagerState(options.initialTable && structuredClone(options.initialTable));
    this.lrm = new LocalManager(options.localNodeId, options.timings);
  }

  /** Whether this node is the elected manager of a synced quorate partition. */
  get isManager(): boolean {
    return this.active && this.members[0] === this.options.localNodeId;
  }

  /** The ring seq of the latest regular configuration (the epoch its quorate sync gives the table). */
  get ring(): number {
    return this.ringSeq;
  }

  /** The ring's members (the latest regular configuration's). */
  get membership(): readonly number[] {
    return this.members;
  }

  /** Synced and quorate in a regular configuration: the table is this partition's, and this node acts on it. */
  get active(): boolean {
    return this.applying && !this.transitional;
  }

  /** Synced and quorate, in the ring's regular configuration or its transitional one: messages change the table. */
  private get applying(): boolean {
    return this.phase === 'synced' && this.options.quorate();
  }

  step(event: HaCoreEvent, now: number): HaCoreAction[] {
    this.out = [];
    switch (event.type) {
      case 'confchg':
        this.onConfchg(event.kind, event.members, event.ringSeq, now);
        break;
      case 'deliver':
        this.onDeliver(event.sender, event.message, now);
        break;
      case 'tick':
        break;
      case 'runResult':
        for (const action of this.lrm.onResult(event.id, event.result)) this.lrmAction(action, now);
        break;
      case 'admin':
        if (!this.active)
          this.out.push({ type: 'adminDone', id: event.id, error: 'not in a synced quorate partition' });
        else {
          this.pendingAdmin.add(event.id);
          this.send({ t: 'admin', id: event.id, request: event.request }, now);
        }
        break;
      case 'configChanged':
        this.configSent = null;
        break;
      case 'shutdown':
        this.onShutdown(event.freeze, now);
        break;
    }
    this.duties(now);
    const out = this.out;
    this.out = [];
    return out;
  }

  nextDeadline(): number {
    let deadline = this.lrm.nextDeadline();
    const leaseEnd = this.leaseFrom + this.options.timings.leaseMs;
    if (this.lrm.mayRun) deadline = Math.min(deadline, leaseEnd);
    if (this.active && this.leaving === null) {
      deadline = Math.min(deadline, this.lastReportAt + this.options.timings.reportIntervalMs);
    }
    if (this.isManager) {
      for (const node of this.lostNodes()) {
        if (!this.fenceSent.has(node)) deadline = Math.min(deadline, this.fenceDeadline(node));
      }
    }
    return deadline;
  }

  /** This node's view for the admin side. */
  status(): HaStatusSnapshot {
    const view = this.view();
    const table = this.crm.table;
    const nodes = [...new Set([...this.options.nodelist, ...table.nodes])].sort((a, b) => a - b);
    const services: HaStatusSnapshot['services'] = [];
    for (const e of table.services) {
      const unit = this.crm.units.get(e.id);
      for (const spec of unit?.members ?? []) {
        const resource = this.crm.config.resources.find((r) => r.spec.sid === spec.sid);
        services.push({
          sid: spec.sid,
          group: unit?.group?.name ?? null,
          nodeId: e.node,
          state: e.state,
          requested: resource?.settings.state ?? 'stopped',
          restarts: e.restarts,
          relocations: e.relocations,
          message: e.message,
        });
      }
    }
    return {
      quorate: this.options.quorate(),
      manager:
        this.phase === 'synced' && this.options.quorate() && this.members.length > 0
          ? { nodeId: this.members[0]!, name: this.options.nodeName(this.members[0]!) ?? `node ${this.members[0]}` }
          : null,
      nodes: nodes.map((nodeId) => {
        const report = table.reports.find((r) => r.node === nodeId)?.report;
        const lost = !this.members.includes(nodeId) || report === undefined;
        return {
          nodeId,
          name: this.options.nodeName(nodeId) ?? `node ${nodeId}`,
          state: this.crm.nodeState(nodeId, view),
          lrm: lost ? 'lost' : report.running.length + report.busy.length > 0 ? 'active' : 'idle',
          lastReportAt: this.reportSeenAt.get(nodeId) ?? null,
        };
      }),
      services,
      counters: { ...table.counters },
      managerStatus: { epoch: table.epoch, seq: table.seq, stored: null },
    };
  }

  private view(): CrmView {
    return { members: this.members, nodelist: this.options.nodelist, nodeName: this.options.nodeName };
  }

  private onConfchg(kind: 'transitional' | 'regular', members: readonly number[], ringSeq: number, now: number): void {
    assert(
      isStrictlyAscending(members) && members.includes(this.options.localNodeId),
      'HA: members ascending, self in',
    );
    for (const node of this.members) if (!members.includes(node) && !this.lostAt.has(node)) this.lostAt.set(node, now);
    for (const node of members) this.lostAt.delete(node);
    for (const id of this.pendingAdmin)
      this.out.push({ type: 'adminDone', id, error: 'the membership changed: it may or may not be applied; retry' });
    this.pendingAdmin.clear();
    this.configSent = null;
    this.persisted = null;
    // A shutdown cut by the change is not applied now: the others treat this node as lost (fence wait), safe.
    if (this.leaving !== null && this.leaving.nonce !== null) {
      this.leaving.nonce = null;
      this.out.push({ type: 'shutdownReady' });
    }
    this.fenceSent.clear();
    if (kind === 'transitional') {
      this.transitional = true;
      return;
    }
    this.transitional = false;
    this.phase = 'syncing';
    this.members = members;
    this.ringSeq = ringSeq;
    this.hellos.clear();
    // Own messages of the last configuration never come back now; they renew no lease.
    this.sentAt.clear();
    this.send({ t: 'hello', table: this.crm.table }, now);
  }

  private onShutdown(freeze: boolean, now: number): void {
    if (this.leaving !== null) return;
    if (!this.active) {
      this.leaving = { nonce: null };
      this.out.push({ type: 'shutdownReady' });
      return;
    }
    // Sent before the local manager's stopAll (in duties): applied before any later report of this node.
    this.send({ t: 'shutdown', freeze }, now);
    this.leaving = { nonce: this.nonce };
  }

  private onDeliver(sender: number, message: HaMessage, now: number): void {
    if (sender === this.options.localNodeId) {
      const sent = this.sentAt.get(message.n);
      this.sentAt.delete(message.n);
      if (sent !== undefined && this.active) this.leaseFrom = Math.max(this.leaseFrom, sent);
      if (this.leaving?.nonce === message.n && message.body.t === 'shutdown' && this.active) {
        this.leaving.nonce = null;
        this.out.push({ type: 'shutdownReady' });
      }
    }
    const body = message.body;
    if (body.t === 'hello') {
      if (this.phase !== 'syncing' || !this.members.includes(sender)) {
        this.counters.dropped++;
        return;
      }
      this.hellos.set(sender, body.table);
      if (this.hellos.size === this.members.length) this.merge(now);
      return;
    }
    if (!this.applying) {
      this.counters.dropped++;
      return;
    }
    if (body.t === 'lrm') this.reportSeenAt.set(sender, now);
    if (body.t === 'config' && sender === this.options.localNodeId) this.configSent = null;
    if (body.t === 'fenced') this.fenceSent.delete(body.node);
    const outputs = this.crm.apply(sender, body, this.view());
    this.crmOutputs(outputs);
  }

  private merge(now: number): void {
    let best: HaTable | undefined;
    for (const node of this.members) {
      const table = this.hellos.get(node)!;
      if (best === undefined || newerTable(table, best)) best = table;
    }
    this.crm.replace(best!);
    this.hellos.clear();
    // A node lost before this node knew it (it just started): its wait starts now, which is later, so safe.
    for (const node of this.crm.table.nodes) {
      if (!this.members.includes(node) && !this.lostAt.has(node)) this.lostAt.set(node, now);
    }
    this.phase = 'synced';
    this.counters.merges++;
    this.syncedAt = now;
    if (this.options.quorate()) {
      this.crmOutputs(this.crm.afterMerge(this.view(), this.ringSeq));
      // The first report right away: it renews the lease and settles commands whose results the change lost.
      this.lastReportAt = Number.NEGATIVE_INFINITY;
    }
  }

  private crmOutputs(outputs: CrmOutput[]): void {
    for (const output of outputs) {
      if (output.type === 'adminDone') {
        if (output.sender !== this.options.localNodeId || !this.pendingAdmin.delete(output.id)) continue;
        this.out.push({ type: 'adminDone', id: output.id, error: output.error });
      } else if (output.type === 'event') {
        this.out.push(output);
      } else {
        this.out.push({ type: 'log', level: output.level, message: output.message });
      }
    }
  }

  /** What is due after every event: the local manager, its report, and the elected manager's inputs. */
  private duties(now: number): void {
    const mayRun =
      this.leaving === null && this.options.quorate() && now < this.leaseFrom + this.options.timings.leaseMs;
    const table = this.phase === 'synced' && !this.transitional ? this.crm.table : null;
    for (const action of this.lrm.update(table, this.crm.units, mayRun, now)) this.lrmAction(action, now);
    if (!this.lrm.mayRun) this.held.length = 0;
    if (!this.active) return;
    for (const action of this.held.splice(0)) this.out.push(action);
    // A leaving node reports no more: "runs nothing" would make the manager start its units there again.
    if (this.leaving === null && now >= this.lastReportAt + this.options.timings.reportIntervalMs) {
      this.lastReportAt = now;
      this.send({ t: 'lrm', report: this.lrm.report(this.crm.table.seq) }, now);
    }
    if (this.isManager) this.managerDuties(now);
  }

  private managerDuties(now: number): void {
    if (this.configSent === null) {
      const text = this.options.readConfig() ?? '';
      if (text !== this.crm.table.configText) {
        const parsed = parseResources(text);
        if (parsed.ok) this.send({ t: 'config', text }, now);
        else this.out.push({ type: 'log', level: 'warning', message: `not applied: ${parsed.error.message}` });
        this.configSent = text;
      }
    }
    for (const node of this.lostNodes()) {
      if (this.fenceSent.has(node) || now < this.fenceDeadline(node)) continue;
      this.fenceSent.add(node);
      this.send({ t: 'fenced', node }, now);
    }
    const key = persistKey(this.crm.table);
    if (key !== this.persisted) {
      this.persisted = key;
      this.out.push({ type: 'persist', table: structuredClone(this.crm.table) });
    }
  }

  /** Nodes of the table outside this configuration and not fenced yet. */
  private lostNodes(): number[] {
    const table = this.crm.table;
    return table.nodes.filter((n) => !this.members.includes(n) && !table.fenced.includes(n));
  }

  private fenceDeadline(node: number): number {
    return (this.lostAt.get(node) ?? Number.POSITIVE_INFINITY) + this.options.timings.recoveryWaitMs;
  }

  private lrmAction(action: ReturnType<LocalManager['onResult']>[number], now: number): void {
    if (action.type !== 'result' && action.type !== 'failed') {
      this.out.push(action);
      return;
    }
    const body: HaBody =
      action.type === 'result'
        ? { t: 'result', uid: action.uid, ok: action.ok, message: action.message }
        : { t: 'failed', unit: action.unit, since: action.since, message: action.message };
    const message = this.message(body, now);
    // A result during a sync waits for it (its uid is still current then, or the report settles it).
    if (this.active) this.out.push(message);
    else if (this.lrm.mayRun) this.held.push(message);
  }

  private send(body: HaBody, now: number): void {
    this.out.push(this.message(body, now));
  }

  private message(body: HaBody, now: number): HaCoreAction {
    const n = ++this.nonce;
    this.sentAt.set(n, now);
    return { type: 'multicast', message: { n, body } };
  }
}

/** The table without what changes at every report (its seq, the reports): persisting those would write constantly. */
function persistKey(table: HaTable): string {
  return JSON.stringify({ ...table, seq: 0, reports: [] });
}
