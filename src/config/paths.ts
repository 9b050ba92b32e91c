/** Where corolink keeps its files by default (every command can be pointed elsewhere by flags). */

/** The cluster configuration (corosync.conf grammar). */
export const DEFAULT_CONFIG_PATH = '/etc/corolink/corosync.conf';
/** The shared secret every packet key is derived from. */
export const DEFAULT_AUTHKEY_PATH = '/etc/corolink/authkey';
/** The daemon's admin socket (also `$COROLINK_SOCKET`). */
export const DEFAULT_SOCKET_PATH = '/run/corolink/corolink.sock';
