/**
 * corosync-qdevice's fixed settings for model net (`qdevices/qnet-config.h`, the advanced settings' defaults) and
 * the timers it derives from `quorum.device.timeout` (`qdevice_net_instance_init_from_cmap`).
 */
import { QDEVICE_CAST_VOTE_INTERVAL_FACTOR, QDEVICE_NET_CONNECT_TIMEOUT_FACTOR } from '../config/defaults.ts';

/** The CN qnetd's server certificate carries (`QDEVICE_NET_DEFAULT_NSS_QNETD_CN`). */
export const QNETD_SERVER_CN = 'Qnetd Server';
/** Largest message accepted before the server's init reply says otherwise (`net_initial_msg_receive_size`). */
export const MSG_RECEIVE_BYTES_INITIAL = 1 << 15;
/** The server must accept requests at least this long (`net_min_msg_send_size`). */
export const MSG_SEND_BYTES_MIN = 1 << 15;
/** The server may not announce replies longer than this (`net_max_msg_receive_size`). */
export const MSG_RECEIVE_BYTES_MAX = 1 << 24;
/** Heartbeat interval bounds (`net_heartbeat_interval_min` / `_max`, ms). */
export const HEARTBEAT_INTERVAL_MS_MIN = 1000;
export const HEARTBEAT_INTERVAL_MS_MAX = 2 * 60 * 1000;

export interface QdeviceNetTimers {
  /** Echo request period; sent to qnetd in init (it drops a client silent for 1.5 × this). */
  heartbeatIntervalMs: number;
  /** How long one connection attempt (TCP + preinit + init) may take (`connect_timeout`, default: heartbeat). */
  connectTimeoutMs: number;
  /** votequorum poll period (`cast_vote_timer_interval`); the reconnect delay is random below 0.9 × this. */
  castVoteIntervalMs: number;
  /** Set when the heartbeat interval had to be clamped: corosync-qdevice's warning. */
  warning: string | null;
}

/** Heartbeat = 0.8 × timeout (clamped), cast vote = 0.5 × timeout, as corosync-qdevice derives them. */
export function qdeviceNetTimers(deviceTimeoutMs: number): QdeviceNetTimers {
  const derived = Math.trunc(deviceTimeoutMs * QDEVICE_NET_CONNECT_TIMEOUT_FACTOR);
  let heartbeatIntervalMs = derived;
  let warning: string | null = null;
  if (derived < HEARTBEAT_INTERVAL_MS_MIN) {
    heartbeatIntervalMs = HEARTBEAT_INTERVAL_MS_MIN;
    warning = `Heartbeat interval too small ${derived}. Adjusting to ${heartbeatIntervalMs}.`;
  } else if (derived > HEARTBEAT_INTERVAL_MS_MAX) {
    heartbeatIntervalMs = HEARTBEAT_INTERVAL_MS_MAX;
    warning = `Heartbeat interval too big ${derived}. Adjusting to ${heartbeatIntervalMs}.`;
  }
  return {
    heartbeatIntervalMs,
    connectTimeoutMs: heartbeatIntervalMs,
    castVoteIntervalMs: Math.trunc(deviceTimeoutMs * QDEVICE_CAST_VOTE_INTERVAL_FACTOR),
    warning,
  };
}
