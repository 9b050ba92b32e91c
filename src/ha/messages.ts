/**
 * The HA managers' messages, multicast in safe order (service engine 5, ha-engine.ts): each carries the sender's nonce `n`
 * (its local send time is what renews its lease, see lrm.ts) and one body. `checkMessage` validates what arrives:
 * a message from the network that does not match is dropped and counted, never asserted on.
 */
import type { HaServiceState } from './contract.ts';
import { HA_SERVICE_STATES } from './contract.ts';

/** A unit's row in the manager status (ha-manager's service_status). */
export interface ServiceEntry {
  id: string;
  state: HaServiceState;
  /** Where it runs or is placed. */
  node: number | null;
  /** migrate/relocate: where it goes once stopped. */
  target: number | null;
  /** The command id of the current state ('' when the state needs no command). */
  uid: string;
  /** The table seq at which `uid` was assigned (a local manager's report from before it says nothing of it). */
  since: number;
  restarts: number;
  relocations: number;
  failedNodes: number[];
  message: string | null;
}

/** What a local manager reports (ha-manager's lrm_status). */
export interface LrmReport {
  /** The table seq the report was made at. */
  seen: number;
  /** Units it runs (started, not stopped since). */
  running: string[];
  /** Command uids it is executing. */
  busy: string[];
}

/** The replicated manager status: identical on every member of a synced partition. */
export interface HaTable {
  /** Ring seq of the quorate configuration that last merged it: orders tables of different histories. */
  epoch: number;
  /** Messages applied since the table began: orders tables of one history. */
  seq: number;
  uidCounter: number;
  configText: string;
  services: ServiceEntry[];
  /** Nodes that ever announced a local manager. */
  nodes: number[];
  /** Nodes whose services have been recovered elsewhere after their fence deadline. */
  fenced: number[];
  maintenance: number[];
  /** Nodes whose local manager announced a clean shutdown (and stopped its units): no unit is placed there. */
  shutdown: number[];
  reports: { node: number; report: LrmReport }[];
  /**
   * Per node, the id of its latest admin request applied to this table (accepted or refused): which acknowledged
   * requests a table's history holds. Ids grow within one daemon's life; the simulator's grow per node across
   * restarts, so its checker `ha-admin-kept` can read them (docs/simulator.md "HA").
   */
  admins: { node: number; id: number }[];
  counters: { recoveries: number; restarts: number; relocations: number; fences: number };
}

export type AdminRequest =
  | { op: 'migrate' | 'relocate'; unit: string; node: number }
  | { op: 'maintenance'; node: number; on: boolean };

export type HaBody =
  /** Sync: the sender's table, once per regular configuration. */
  | { t: 'hello'; table: HaTable }
  | { t: 'lrm'; report: LrmReport }
  | { t: 'result'; uid: string; ok: boolean; message: string | null }
  /** A local manager's monitor found a started unit not running (it stopped what was left); `since`: its row's. */
  | { t: 'failed'; unit: string; since: number; message: string }
  /** From the manager: the resources.cfg text of the replicated store. */
  | { t: 'config'; text: string }
  /**
   * A local manager's clean shutdown (`corolink shutdown`, daemon stop): it stopped its units and leaves; with
   * `freeze` its units stay placed on it, frozen, until it is back (ha-manager's shutdown_policy).
   */
  | { t: 'shutdown'; freeze: boolean }
  /** From the manager: the node's fence deadline has passed. */
  | { t: 'fenced'; node: number }
  | { t: 'admin'; id: number; request: AdminRequest };

export interface HaMessage {
  n: number;
  body: HaBody;
}

const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isIntList = (v: unknown): v is number[] => Array.isArray(v) && v.every(isInt);
const isStrList = (v: unknown): v is string[] => Array.isArray(v) && v.every(isStr);
const SERVICE_STATES: readonly string[] = HA_SERVICE_STATES;

function isReport(v: unknown): v is LrmReport {
  const r = v as LrmReport;
  return typeof r === 'object' && r !== null && isInt(r.seen) && isStrList(r.running) && isStrList(r.busy);
}

function isEntry(v: unknown): v is ServiceEntry {
  const e = v as ServiceEntry;
  return (
    typeof e === 'object' &&
    e !== null &&
    isStr(e.id) &&
    SERVICE_STATES.includes(e.state) &&
    (e.node === null || isInt(e.node)) &&
    (e.target === null || isInt(e.target)) &&
    isStr(e.uid) &&
    isInt(e.since) &&
    isInt(e.restarts) &&
    isInt(e.relocations) &&
    isIntList(e.failedNodes) &&
    (e.message === null || isStr(e.message))
  );
}

/**
 * Whether `v` (parsed JSON: a message, or ha/manager_status from the store) is a manager status table. A valid table
 * of a daemon that predates `admins` gets an empty one; anything refused is left as it came.
 */
export function isTable(v: unknown): v is HaTable {
  const t = v as HaTable;
  if (typeof t !== 'object' || t === null) return false;
  const admins = t.admins ?? [];
  const valid =
    isInt(t.epoch) &&
    isInt(t.seq) &&
    isInt(t.uidCounter) &&
    isStr(t.configText) &&
    Array.isArray(t.services) &&
    t.services.every(isEntry) &&
    isIntList(t.nodes) &&
    isIntList(t.fenced) &&
    isIntList(t.maintenance) &&
    isIntList(t.shutdown) &&
    Array.isArray(t.reports) &&
    t.reports.every((r) => isInt(r?.node) && isReport(r.report)) &&
    Array.isArray(admins) &&
    admins.every((a) => isInt(a?.node) && isInt(a.id)) &&
    typeof t.counters === 'object' &&
    t.counters !== null &&
    isInt(t.counters.recoveries) &&
    isInt(t.counters.restarts) &&
    isInt(t.counters.relocations) &&
    isInt(t.counters.fences);
  if (valid) t.admins = admins;
  return valid;
}

function isAdmin(v: unknown): v is AdminRequest {
  const r = v as AdminRequest;
  if (typeof r !== 'object' || r === null) return false;
  if (r.op === 'maintenance') return isInt(r.node) && typeof r.on === 'boolean';
  return (r.op === 'migrate' || r.op === 'relocate') && isStr(r.unit) && isInt(r.node);
}

/** The message when `value` (parsed JSON from the network) is one, else a reason. */
export function checkMessage(value: unknown): HaMessage | string {
  const m = value as HaMessage;
  if (typeof m !== 'object' || m === null || !isInt(m.n) || typeof m.body !== 'object' || m.body === null) {
    return 'not an HA message';
  }
  const b = m.body;
  switch (b.t) {
    case 'hello':
      return isTable(b.table) ? m : 'hello: bad table';
    case 'lrm':
      return isReport(b.report) ? m : 'lrm: bad report';
    case 'result':
      return isStr(b.uid) && typeof b.ok === 'boolean' && (b.message === null || isStr(b.message)) ? m : 'bad result';
    case 'failed':
      return isStr(b.unit) && isInt(b.since) && isStr(b.message) ? m : 'bad failed';
    case 'config':
      return isStr(b.text) ? m : 'config: no text';
    case 'fenced':
      return isInt(b.node) ? m : 'fenced: no node';
    case 'shutdown':
      return typeof b.freeze === 'boolean' ? m : 'shutdown: no freeze flag';
    case 'admin':
      return isInt(b.id) && isAdmin(b.request) ? m : 'admin: bad request';
    default:
      return `unknown message type ${String((b as { t?: unknown }).t)}`;
  }
}
