/**
 * The seam between the qdevice-net client (the daemon's side of corosync-qdevice: it talks to corosync-qnetd) and
 * votequorum's device side (src/quorum). As in corosync, the client only decides whether this node's device casts
 * its vote; votequorum owns the device's registration, its votes, the poll expiry and the `Qdevice` flag.
 *
 * The daemon builds the client from `quorum { device { model: net … } }`, feeds it the cluster view after every
 * quorum callback, and every `timeout / 2` forwards the client's poll (its vote, unless it awaits the arbiter) to
 * votequorum (corosync's votequorum_qdevice_poll); a device that stops polling loses its vote after `device.timeout`.
 */
import type { RingId } from '../quorum/index.ts';

/** The `quorum.device.net` section plus what the client needs of the rest of corosync.conf. */
export interface QdeviceNetOptions {
  clusterName: string;
  localNodeId: number;
  /** `device.net.host` / `device.net.port` (default 5403). */
  host: string;
  port: number;
  /** `device.net.algorithm`. */
  algorithm: 'ffsplit' | 'lms' | '2nodelms' | 'test';
  /** `device.net.tie_breaker`: lowest, highest or a node id. */
  tieBreaker: 'lowest' | 'highest' | number;
  /** `device.net.tls`: on (use when the server offers it), off, required. */
  tls: 'on' | 'off' | 'required';
  /** PEM files made by `corolink qdevice setup` (qnetd's CA, this cluster's client certificate and key). */
  tlsFiles?: { ca: string; cert: string; key: string };
  /** `device.timeout` (ms): qnetd heartbeat interval is derived from it as corosync-qdevice does. */
  timeoutMs: number;
  /** `device.sync_timeout` (ms). */
  syncTimeoutMs: number;
}

/** What the client is told after every quorum callback and every configuration reload. */
export interface QdeviceClusterView {
  /** `totem.config_version`. */
  configVersion: number;
  /** The configured nodelist (node ids, ascending). */
  nodeIds: readonly number[];
  /** The current membership and its ring (null before the first). */
  members: readonly number[];
  ringId: RingId | null;
  /** votequorum's quorate state (sent to qnetd as the quorum node list). */
  quorate: boolean;
}

/** What the client exposes to the daemon; its events feed logs, metrics and `corolink qdevice status`. */
export interface QdeviceVoteSource {
  /** Connects (and keeps reconnecting) until `stop`. */
  start(): void;
  stop(): Promise<void>;
  update(view: QdeviceClusterView): void;
  /**
   * What to poll votequorum with now: whether this node's device casts its vote, for the ring it was given for; or
   * null for no poll (corosync-qdevice's cast-vote timer is stopped while the arbiter's answer is awaited: a sync
   * then stays open, the node keeping its last announced quorum, until the poll or `device.sync_timeout`).
   */
  poll(): { castVote: boolean; ringId: RingId | null } | null;
  /** For `corolink qdevice status` (corosync-qdevice-tool -s) and metrics. */
  status(): QdeviceNetStatus;
}

export interface QdeviceNetStatus {
  state: 'disconnected' | 'connecting' | 'connected';
  server: string;
  algorithm: QdeviceNetOptions['algorithm'];
  tieBreaker: QdeviceNetOptions['tieBreaker'];
  tls: boolean;
  /** The vote qnetd gave last: ack, nack, ask_later, wait_for_reply, or none yet. */
  lastVote: 'ack' | 'nack' | 'ask_later' | 'wait_for_reply' | 'none';
  castVote: boolean;
  /** Milliseconds (daemon clock) of the last heartbeat reply, null before the first. */
  lastHeartbeatAt: number | null;
  connectedSince: number | null;
}
