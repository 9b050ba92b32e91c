/**
 * The seam between the HA managers' pure core (src/ha: resources, the cluster manager, the local manager) and the
 * daemon's parts with effects (resource agents that run commands, the watchdog supervisor). The local manager
 * core asks for an operation with a unique id; the daemon runs it once through a `HaResourceRunner` and feeds the
 * result back with the same id (ha-manager's exactly-once command scheme).
 */

/** A resource as kept in `ha/resources.cfg` (ha-manager's section format); `sid` is `type:name`, e.g. `ip:vip`. */
export type HaResourceSpec =
  | {
      type: 'exec';
      sid: string;
      start: string;
      stop: string;
      monitor: string;
      /** Run as this user (default: the daemon's). */
      user?: string;
      timeoutMs: number;
    }
  | { type: 'systemd'; sid: string; unit: string; timeoutMs: number }
  | { type: 'ip'; sid: string; address: string; prefixLength: number; interface: string; timeoutMs: number };

export type HaOp = 'start' | 'stop' | 'monitor';

/** LSB-like: 0 ok (monitor: running), 7 not running (monitor), anything else failed. */
export interface HaOpResult {
  exitCode: number;
  timedOut: boolean;
  /** The last lines of the command's output, for the log. */
  output: string;
}

export const HA_EXIT_OK = 0;
export const HA_EXIT_NOT_RUNNING = 7;

export interface HaResourceRunner {
  run(op: HaOp, spec: HaResourceSpec): Promise<HaOpResult>;
}

/**
 * The fencing guarantee on one node: a separate supervisor process that the daemon feeds while this node may run
 * HA services (it is in a quorate membership). When it is not fed within the fence timeout, or the daemon dies, it
 * stops every active resource itself (kills exec resources' process groups, stops systemd units, removes
 * floating addresses). Never `/dev/watchdog` unless configured explicitly.
 */
export interface HaWatchdog {
  /** Resources the supervisor must stop when it fires (set before each start, cleared after each stop). */
  setActive(resources: readonly HaResourceSpec[]): void;
  /** This node may run services until `now + fence timeout`. */
  feed(): void;
  close(): Promise<void>;
}

/** A resource's requested state (ha-manager's `state` property). */
export const HA_REQUESTED_STATES = ['started', 'stopped', 'disabled', 'ignored'] as const;
export type HaRequestedState = (typeof HA_REQUESTED_STATES)[number];

/** Service states as ha-manager names them. */
export const HA_SERVICE_STATES = [
  'started',
  'starting',
  'stopping',
  'stopped',
  'recovery',
  'fence',
  'freeze',
  'migrate',
  'relocate',
  'error',
] as const;
export type HaServiceState = (typeof HA_SERVICE_STATES)[number];

/** Node states as ha-manager names them. */
export const HA_NODE_STATES = ['online', 'unknown', 'fence', 'gone', 'maintenance'] as const;
export type HaNodeState = (typeof HA_NODE_STATES)[number];

/** A resource's settings beside its type-specific part (ha-manager's service properties). */
export interface HaResourceSettings {
  state: HaRequestedState;
  /** Restarts on the same node after a failed start (default 1). */
  maxRestart: number;
  /** Relocations to another node after the restarts failed (default 1). */
  maxRelocate: number;
  /** Between two monitor runs while started (default 10 s). */
  monitorIntervalMs: number;
  /** One monitor run's limit (default 10 s). */
  monitorTimeoutMs: number;
  /** The group (resources.cfg `group:` section) it belongs to, if any. */
  group?: string;
  comment?: string;
}

/** What `corolink ha status` shows (ha-manager status), as data. */
export interface HaStatusSnapshot {
  quorate: boolean;
  /** The cluster manager's node, null while none is elected. */
  manager: { nodeId: number; name: string } | null;
  nodes: {
    nodeId: number;
    name: string;
    state: HaNodeState;
    /** The local manager: active (runs services), idle (none assigned), lost (no report in this membership). */
    lrm: 'active' | 'idle' | 'lost';
    /** Daemon clock (ms) of the local manager's last report. */
    lastReportAt: number | null;
  }[];
  services: {
    sid: string;
    group: string | null;
    /** Where it runs or is placed; null when nowhere. */
    nodeId: number | null;
    state: HaServiceState;
    requested: HaRequestedState;
    restarts: number;
    relocations: number;
    /** The last error (failed command, fence reason), for `ha status --verbose`. */
    message: string | null;
  }[];
  /** Counters for metrics. */
  counters: { recoveries: number; restarts: number; relocations: number; fences: number };
  /**
   * The manager status (ha-manager's manager_status): this node's copy — `epoch` the ring seq of the quorate
   * configuration that last merged it, `seq` the messages applied — and the last one the manager wrote to the
   * replicated store (`ha/manager_status`), null when none is there.
   */
  managerStatus: { epoch: number; seq: number; stored: { epoch: number; seq: number } | null };
}

/** An HA state change as clients see it (`client.ha` events, the log's `[HA    ]` lines, SSE). */
export interface HaEvent {
  sid: string | null;
  nodeId: number | null;
  /** One line in the log's shape, e.g. `service exec:web: recovery from n3 to n1 (n3 fenced)`. */
  message: string;
  state?: HaServiceState | HaNodeState;
}

/** What the admin side (ipc handlers, web) asks of the HA managers in the daemon. Writes resolve once agreed. */
export interface HaControl {
  status(): HaStatusSnapshot;
  /** The text of `ha/resources.cfg` (ha-manager's section format). */
  resourcesText(): string;
  /** Adds a resource; `section` is one resources.cfg section (validated: errors name line:column). */
  add(section: string): Promise<void>;
  remove(sid: string): Promise<void>;
  set(sid: string, changes: Partial<HaResourceSettings>): Promise<void>;
  migrate(sid: string, nodeId: number): Promise<void>;
  relocate(sid: string, nodeId: number): Promise<void>;
  /** A group section (`group: NAME` with `resources`, `nodes` priorities, `restricted`, `nofailback`). */
  groupSet(section: string): Promise<void>;
  groupRemove(name: string): Promise<void>;
  nodeMaintenance(nodeId: number, on: boolean): Promise<void>;
  onEvent(listener: (event: HaEvent) => void): () => void;
}
