/** Where corolink keeps its files by default (every command can be pointed elsewhere by flags). */

/** The cluster configuration (corosync.conf grammar). */
export const DEFAULT_CONFIG_PATH = '/etc/corolink/corosync.conf';
/** The shared secret every packet key is derived from. */
export const DEFAULT_AUTHKEY_PATH = '/etc/corolink/authkey';
/** The daemon's admin socket (also `$COROLINK_SOCKET`). */
export const DEFAULT_SOCKET_PATH = '/run/corolink/corolink.sock';

/**
 * The HA watchdog supervisor's socket and pid file, beside the node's admin socket (`/run/corolink/corolink.sock` →
 * `corolink.watchdog.sock`, `corolink.watchdog.pid`): the daemon finds its supervisor again after a restart, and
 * the lab ends the supervisor of a killed daemon by its pid.
 */
export function haWatchdogPaths(socketPath: string): { socketPath: string; pidFile: string } {
  const base = socketPath.endsWith('.sock') ? socketPath.slice(0, -'.sock'.length) : socketPath;
  return { socketPath: `${base}.watchdog.sock`, pidFile: `${base}.watchdog.pid` };
}
