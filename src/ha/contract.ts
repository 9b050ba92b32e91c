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
