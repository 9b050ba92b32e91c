/**
 * The cluster resource manager (ha-manager's CRM, PVE::HA::Manager): the manager status — one row per unit with
 * its state, node and current command uid — and its transitions. Every member of a synced quorate partition
 * applies the same agreed messages to the same table with this code, so every member holds the same status and the
 * next elected manager needs no handover. What depends on one node's clock or file — a lost node's fence deadline
 * having passed, the resources.cfg text — enters only as a message of the elected manager (core.ts).
 *
 * States (ha-manager's): stopped → starting (start command on the node) → started; stopping (stop command) →
 * stopped; migrate/relocate (stop on the node, then starting on the target); a lost node's units → fence → (its
 * deadline passed) recovery → starting elsewhere; a failed start → restart on the node (max_restart), then
 * relocation to another node (max_relocate), then error (until requested disabled); a started unit whose
 * monitor fails the same; a node's clean shutdown with the freeze policy → freeze (stays placed there, never
 * recovered) → starting there once the node is back.
 */
import { assert } from '../base/assert.ts';
import type { HaEvent, HaNodeState, HaServiceState } from './contract.ts';
import type { AdminRequest, HaBody, HaTable, LrmReport, ServiceEntry } from './messages.ts';
import { emptyResources, type HaResourcesConfig, parseResources } from './resources-file.ts';
import { bestPriority, type HaUnit, nodePriority, type PlacementView, selectNode, unitsOf } from './units.ts';

/** What this member knows of its partition beside the table (identical on every member of it). */
export interface CrmView {
  members: readonly number[];
  /** The cluster's nodelist (a table node outside it is `gone`). */
  nodelist: readonly number[];
  nodeName: (id: number) => string | undefined;
}

export type CrmOutput =
  | { type: 'event'; event: HaEvent }
  | { type: 'adminDone'; sender: number; id: number; error: string | null }
  | { type: 'log'; level: 'warning'; message: string };

/**
 * States in which a node may be running (or about to run) the unit. Not `freeze`: its node stopped it before it
 * announced its shutdown, so a frozen unit is neither fenced nor recovered (ha-manager's freeze).
 */
const ACTIVE_STATES: readonly HaServiceState[] = ['started', 'starting', 'stopping', 'migrate', 'relocate'];
/** States a node's clean shutdown with the freeze policy freezes (what it runs or was about to start). */
const FREEZABLE_STATES: readonly HaServiceState[] = ['started', 'starting'];
/** States that carry a command for the unit's node. */
const COMMAND_STATES: readonly HaServiceState[] = ['starting', 'stopping', 'migrate', 'relocate'];

export function emptyTable(): HaTable {
  return {
    epoch: 0,
    seq: 0,
    uidCounter: 0,
    configText: '',
    services: [],
    nodes: [],
    fenced: [],
    maintenance: [],
    shutdown: [],
    reports: [],
    admins: [],
    counters: { recoveries: 0, restarts: 0, relocations: 0, fences: 0 },
  };
}

/** Orders tables of different histories: the later quorate merge, then more applied messages. */
export function newerTable(a: HaTable, b: HaTable): boolean {
  return a.epoch > b.epoch || (a.epoch === b.epoch && a.seq > b.seq);
}

/** Whether the unit's current state asks its node for a command (start for `starting`, stop otherwise). */
export function commandOf(entry: ServiceEntry): 'start' | 'stop' | null {
  if (!COMMAND_STATES.includes(entry.state) || entry.uid === '') return null;
  return entry.state === 'starting' ? 'start' : 'stop';
}

export class ClusterManagerState {
  table: HaTable;
  config: HaResourcesConfig = emptyResources();
  units = new Map<string, HaUnit>();
  private out: CrmOutput[] = [];

  constructor(table: HaTable = emptyTable()) {
    this.table = table;
    this.loadConfig(table.configText);
  }

  /** Replaces the table (a sync's merge) and re-reads its config. */
  replace(table: HaTable): void {
    this.table = structuredClone(table);
    this.loadConfig(this.table.configText);
  }

  entry(id: string): ServiceEntry | undefined {
    return this.table.services.find((e) => e.id === id);
  }

  nodeState(node: number, view: CrmView): HaNodeState {
    if (view.nodelist.length > 0 && !view.nodelist.includes(node)) return 'gone';
    if (view.members.includes(node)) return this.table.maintenance.includes(node) ? 'maintenance' : 'online';
    return this.table.fenced.includes(node) ? 'fence' : 'unknown';
  }

  /**
   * After a quorate sync merged the table: this configuration's members are known and not fenced; the units of
   * nodes outside it wait in `fence` for their node's deadline (or its return).
   */
  afterMerge(view: CrmView, epoch: number): CrmOutput[] {
    this.out = [];
    const t = this.table;
    t.epoch = epoch;
    t.nodes = [...new Set([...t.nodes, ...view.members])].sort((a, b) => a - b);
    t.fenced = t.fenced.filter((n) => !view.members.includes(n));
    // A node in a new configuration runs a new local manager (or kept its old one): it takes units again.
    t.shutdown = t.shutdown.filter((n) => !view.members.includes(n));
    for (const e of t.services) {
      if (e.node !== null && !view.members.includes(e.node) && ACTIVE_STATES.includes(e.state)) {
        this.change(e, 'fence', {}, `fence (${this.name(e.node, view)} left the quorate membership)`);
      }
    }
    this.manage(view);
    return this.take();
  }

  /** One agreed message of a synced quorate partition (not `hello`). */
  apply(sender: number, body: Exclude<HaBody, { t: 'hello' }>, view: CrmView): CrmOutput[] {
    this.out = [];
    this.table.seq++;
    switch (body.t) {
      case 'lrm':
        this.onReport(sender, body.report, view);
        break;
      case 'result':
        this.onResult(body.uid, body.ok, body.message, view);
        break;
      case 'failed':
        this.onMonitorFailed(sender, body.unit, body.since, body.message, view);
        break;
      case 'config':
        this.onConfig(body.text);
        break;
      case 'fenced':
        this.onFenced(body.node, view);
        break;
      case 'shutdown':
        this.onShutdown(sender, body.freeze, view);
        break;
      case 'admin': {
        const error = this.onAdmin(body.request, view);
        const admins = this.table.admins.filter((a) => a.node !== sender);
        this.table.admins = [...admins, { node: sender, id: body.id }].sort((a, b) => a.node - b.node);
        this.out.push({ type: 'adminDone', sender, id: body.id, error });
        break;
      }
    }
    this.manage(view);
    return this.take();
  }

  /** The manager's placement view of this partition. */
  placement(view: CrmView): PlacementView {
    return {
      candidates: view.members.filter((n) => !this.table.maintenance.includes(n) && !this.table.shutdown.includes(n)),
      load: (node) => this.table.services.filter((e) => e.node === node && e.state !== 'stopped').length,
      nodeName: view.nodeName,
    };
  }

  private take(): CrmOutput[] {
    const out = this.out;
    this.out = [];
    return out;
  }

  private loadConfig(text: string): boolean {
    const parsed = parseResources(text);
    if (!parsed.ok) return false;
    this.config = parsed.config;
    this.units = new Map(unitsOf(parsed.config).map((u) => [u.id, u]));
    return true;
  }

  private onConfig(text: string): void {
    if (!this.loadConfig(text)) {
      this.out.push({ type: 'log', level: 'warning', message: 'ignored a resources.cfg that does not parse' });
      return;
    }
    this.table.configText = text;
    for (const id of this.units.keys()) {
      if (this.entry(id) === undefined) {
        this.table.services.push({
          id,
          state: 'stopped',
          node: null,
          target: null,
          uid: '',
          since: this.table.seq,
          restarts: 0,
          relocations: 0,
          failedNodes: [],
          message: null,
        });
      }
    }
    this.table.services.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  private onReport(sender: number, report: LrmReport, view: CrmView): void {
    const reports = this.table.reports.filter((r) => r.node !== sender);
    reports.push({ node: sender, report });
    this.table.reports = reports.sort((a, b) => a.node - b.node);
    // A command whose result was lost (the sender left the membership meanwhile): what the sender runs now decides.
    for (const e of this.table.services) {
      if (e.node !== sender || report.seen < e.since || report.busy.includes(e.uid)) continue;
      const running = report.running.includes(e.id);
      if (e.state === 'starting' || e.state === 'stopping' || e.state === 'migrate' || e.state === 'relocate') {
        const done = (e.state === 'starting') === running;
        if (done) this.onResult(e.uid, true, null, view);
        else this.change(e, e.state, {}, `${e.state} again (its command's result was lost)`);
      } else if (e.state === 'started' && !running) {
        this.change(e, 'starting', {}, `not running on ${this.name(sender, view)}: starting it again`);
      }
    }
  }

  private onResult(uid: string, ok: boolean, message: string | null, view: CrmView): void {
    const e = this.table.services.find((s) => s.uid === uid && uid !== '');
    if (e === undefined) return;
    const unit = this.units.get(e.id);
    const node = e.node!;
    switch (e.state) {
      case 'starting':
        if (ok) this.change(e, 'started', { failedNodes: [] }, `started on ${this.name(node, view)}`);
        else this.failed(e, unit, 'start', message ?? 'no reason', view);
        return;
      case 'stopping':
        if (ok) this.change(e, 'stopped', { node: null }, `stopped on ${this.name(node, view)}`);
        else this.change(e, 'error', {}, `error: stop failed (${message})`);
        return;
      case 'migrate':
      case 'relocate': {
        const target = e.target!;
        if (ok) {
          const why = `starting on ${this.name(target, view)} (${e.state} from ${this.name(node, view)})`;
          this.change(e, 'starting', { node: target, target: null }, why);
        } else {
          this.change(e, 'error', { target: null }, `error: stop for ${e.state} failed (${message})`);
        }
        return;
      }
      default:
        assert(false, 'HA: a command uid belongs to a state that carries a command');
    }
  }

  /** A monitor failure of a started unit: handled as a failed start (restart, relocate, error). Stale: ignored. */
  private onMonitorFailed(sender: number, id: string, since: number, message: string, view: CrmView): void {
    const e = this.entry(id);
    if (e === undefined || e.state !== 'started' || e.node !== sender || e.since !== since) return;
    this.failed(e, this.units.get(id), 'monitor', message, view);
  }

  /**
   * A unit failed on its node (the node stopped what was left of it): restart there up to max_restart, then
   * relocate up to max_relocate (never to a node it failed on), then error. A failed cleanup stop is an error.
   */
  private failed(e: ServiceEntry, unit: HaUnit | undefined, op: 'start' | 'monitor', message: string, view: CrmView) {
    const node = e.node!;
    if (message.startsWith(STOP_FAILED)) {
      this.change(e, 'error', {}, message);
    } else if (unit && e.restarts < unit.maxRestart) {
      this.table.counters.restarts++;
      const why = `${op} failed (${message}): restart ${e.restarts + 1} of ${unit.maxRestart}`;
      this.change(e, 'starting', { restarts: e.restarts + 1 }, why);
    } else {
      const failed = [...e.failedNodes, node];
      const target = unit && e.relocations < unit.maxRelocate ? selectNode(unit, this.placement(view), failed) : null;
      if (target === null) {
        this.change(e, 'error', { failedNodes: failed }, `${op} failed (${message}): error`);
      } else {
        this.table.counters.relocations++;
        const why = `${op} failed on ${this.name(node, view)}: relocate to ${this.name(target, view)}`;
        // max_restart counts per node, as ha-manager's: the new node gets its own restarts.
        this.change(
          e,
          'starting',
          { node: target, failedNodes: failed, relocations: e.relocations + 1, restarts: 0 },
          why,
        );
      }
    }
  }

  /** A node shuts down cleanly: it takes no more units; with `freeze` its units wait for it, frozen. */
  private onShutdown(node: number, freeze: boolean, view: CrmView): void {
    if (!this.table.shutdown.includes(node)) {
      this.table.shutdown = [...this.table.shutdown, node].sort((a, b) => a - b);
    }
    const policy = freeze ? 'freeze' : 'failover';
    this.out.push({
      type: 'event',
      event: { sid: null, nodeId: node, message: `node ${this.name(node, view)}: shutdown (policy ${policy})` },
    });
    if (!freeze) return;
    for (const e of this.table.services) {
      if (e.node !== node || !FREEZABLE_STATES.includes(e.state)) continue;
      this.change(e, 'freeze', {}, `freeze (${this.name(node, view)} shuts down)`);
    }
  }

  private onFenced(node: number, view: CrmView): void {
    if (view.members.includes(node) || this.table.fenced.includes(node)) return;
    this.table.fenced.push(node);
    this.table.fenced.sort((a, b) => a - b);
    this.table.counters.fences++;
    this.out.push({
      type: 'event',
      event: { sid: null, nodeId: node, message: `node ${this.name(node, view)}: fence`, state: 'fence' },
    });
    for (const e of this.table.services) {
      if (e.node !== node || !(ACTIVE_STATES.includes(e.state) || e.state === 'fence')) continue;
      this.change(e, 'recovery', { target: null }, `recovery (${this.name(node, view)} fenced)`);
    }
  }

  private onAdmin(request: AdminRequest, view: CrmView): string | null {
    if (request.op === 'maintenance') {
      if (view.nodelist.length > 0 && !view.nodelist.includes(request.node)) return `no node ${request.node}`;
      const set = new Set(this.table.maintenance);
      if (request.on) set.add(request.node);
      else set.delete(request.node);
      this.table.maintenance = [...set].sort((a, b) => a - b);
      const what = `node ${this.name(request.node, view)}: maintenance ${request.on ? 'on' : 'off'}`;
      this.out.push({
        type: 'event',
        event: { sid: null, nodeId: request.node, message: what, state: request.on ? 'maintenance' : 'online' },
      });
      return null;
    }
    const e = this.entry(request.unit);
    const unit = this.units.get(request.unit);
    if (e === undefined || unit === undefined) return `no service ${request.unit}`;
    if (e.state !== 'started') return `service ${request.unit} is ${e.state}, not started`;
    if (e.node === request.node) return `service ${request.unit} already runs on ${this.name(request.node, view)}`;
    if (!this.placement(view).candidates.includes(request.node)) {
      return `node ${this.name(request.node, view)} is not online (or in maintenance)`;
    }
    if (nodePriority(unit, request.node, view.nodeName) === null) {
      return `node ${this.name(request.node, view)} is not allowed for ${request.unit} (restricted group)`;
    }
    const why = `${request.op} from ${this.name(e.node!, view)} to ${this.name(request.node, view)} (requested)`;
    this.change(e, request.op, { target: request.node }, why);
    return null;
  }

  /** ha-manager's manage(): moves every unit whose state does not match its request or its node's state. */
  private manage(view: CrmView): void {
    const placement = this.placement(view);
    for (const e of [...this.table.services]) {
      const unit = this.units.get(e.id);
      const requested = unit?.requested ?? 'stopped';
      if (requested === 'ignored') continue;
      const online = e.node !== null && view.members.includes(e.node);
      switch (e.state) {
        case 'stopped': {
          if (unit === undefined) {
            this.table.services = this.table.services.filter((s) => s !== e);
            break;
          }
          if (requested !== 'started') break;
          const node = selectNode(unit, placement, []);
          if (node === null) e.message = 'no allowed node is online';
          else
            this.change(e, 'starting', { node, restarts: 0, relocations: 0 }, `starting on ${this.name(node, view)}`);
          break;
        }
        case 'starting':
        case 'started':
          if (!online) break;
          if (requested !== 'started') {
            this.change(e, 'stopping', {}, `stopping on ${this.name(e.node!, view)} (requested ${requested})`);
          } else if (e.state === 'started' && unit) {
            this.moveAway(e, unit, placement, view);
          }
          break;
        case 'freeze':
          // Its node is back from a clean shutdown (ha-manager unfreezes once the node's LRM is active again).
          if (online && !this.table.shutdown.includes(e.node!)) {
            const back = `${this.name(e.node!, view)} is back`;
            if (requested === 'started' && unit) this.change(e, 'starting', {}, `starting on it (${back})`);
            else this.change(e, 'stopped', {}, `stopped (${back})`);
          } else if (requested === 'disabled' && this.table.fenced.includes(e.node!)) {
            // The admin's way out when the node does not come back: past its fence deadline it runs nothing.
            this.change(e, 'stopped', {}, `stopped (requested disabled; ${this.name(e.node!, view)} fenced)`);
          }
          break;
        case 'fence':
          // Back before its deadline: it stopped everything when it left (lrm.ts), so start again there.
          if (online) {
            const back = `${this.name(e.node!, view)} back before its fence deadline`;
            if (requested === 'started') this.change(e, 'starting', {}, `starting on it (${back})`);
            else this.change(e, 'stopped', {}, `stopped (${back})`);
          }
          break;
        case 'recovery': {
          if (requested !== 'started' || unit === undefined) {
            this.change(e, 'stopped', { node: null }, `stopped (requested ${requested})`);
            break;
          }
          const node = selectNode(unit, placement, []);
          if (node === null) {
            e.message = 'recovery: no allowed node is online';
            break;
          }
          this.table.counters.recoveries++;
          const from = e.node === null ? 'nowhere' : this.name(e.node, view);
          const why = `recovery from ${from} to ${this.name(node, view)} (${from} fenced)`;
          this.change(e, 'starting', { node, restarts: 0, relocations: 0, failedNodes: [] }, why);
          break;
        }
        case 'error':
          if (requested === 'disabled' || unit === undefined) {
            this.change(e, 'stopped', { node: null, restarts: 0, relocations: 0, failedNodes: [] }, 'error cleared');
          }
          break;
        default:
          break;
      }
    }
  }

  /** A started unit leaves a node in maintenance, a node it is no longer allowed on, or (failback) a worse one. */
  private moveAway(e: ServiceEntry, unit: HaUnit, placement: PlacementView, view: CrmView): void {
    const node = e.node!;
    const priority = nodePriority(unit, node, view.nodeName);
    const best = bestPriority(unit, placement);
    const maintenance = this.table.maintenance.includes(node);
    const failback = !unit.group?.nofailback && best !== null && priority !== null && best > priority;
    if (!maintenance && priority !== null && !failback) return;
    const target = selectNode(unit, placement, [node]);
    if (target === null) return;
    const why = maintenance ? 'node in maintenance' : priority === null ? 'node not allowed' : 'failback';
    const move = `relocate from ${this.name(node, view)} to ${this.name(target, view)} (${why})`;
    this.change(e, 'relocate', { target }, move);
  }

  /** Every state change gets a new command uid (ha-manager's compute_new_uuid): `epoch.counter`. */
  private change(e: ServiceEntry, state: HaServiceState, fields: Partial<ServiceEntry>, why: string): void {
    Object.assign(e, fields);
    e.state = state;
    e.since = this.table.seq;
    e.message = state === 'error' ? why : null;
    if (COMMAND_STATES.includes(state)) {
      assert(e.node !== null, 'HA: a command state has a node');
      e.uid = `${this.table.epoch}.${++this.table.uidCounter}`;
    } else {
      e.uid = '';
    }
    if (state === 'stopped') e.node = null;
    this.out.push({ type: 'event', event: { sid: e.id, nodeId: e.node, message: `service ${e.id}: ${why}`, state } });
  }

  private name(node: number, view: CrmView): string {
    return view.nodeName(node) ?? `node ${node}`;
  }
}

/** A failed start result whose cleanup stop failed too starts with this (the unit may still run: error). */
export const STOP_FAILED = 'stop failed';
