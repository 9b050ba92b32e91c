/** Where corolink keeps its files by default (every command can be pointed elsewhere by flags). */
import { basename, dirname, join } from 'node:path';

/** The cluster configuration (corosync.conf grammar). */
export const DEFAULT_CONFIG_PATH = '/etc/corolink/corosync.conf';
/** The shared secret every packet key is derived from. */
export const DEFAULT_AUTHKEY_PATH = '/etc/corolink/authkey';
/** The daemon's admin socket (also `$COROLINK_SOCKET`). */
export const DEFAULT_SOCKET_PATH = '/run/corolink/corolink.sock';

/**
 * The application socket of the daemon whose admin socket is `socketPath`: the same name in a sibling folder
 * `<folder>-app` (`/run/corolink/corolink.sock` → `/run/corolink-app/corolink.sock`), since the admin socket's
 * folder is 0700 and the application socket's must let other users in (docs/security.md).
 */
export function appSocketPath(socketPath: string): string {
  const dir = dirname(socketPath);
  return join(`${dir === '/' ? '' : dir}-app`, basename(socketPath));
}
/** The daemon's application socket by default. */
export const DEFAULT_APP_SOCKET_PATH = appSocketPath(DEFAULT_SOCKET_PATH);

/** Where `corolink qdevice setup` installs the qdevice-net TLS files: this folder beside the corosync.conf. */
export const QDEVICE_NET_DIR = 'qdevice/net';

/** The qdevice-net TLS files of one node: PEM, mode 0600, in a folder of mode 0700. */
export interface QdeviceTlsFiles {
  dir: string;
  /** corosync-qnetd's CA certificate (the PEM part of its `qnetd-cacert.crt`). */
  ca: string;
  /** This cluster's client certificate: CN = totem.cluster_name, signed by that CA (qnetd checks both). */
  cert: string;
  /** The client certificate's private key. */
  key: string;
}

/** The qdevice-net TLS files of the node whose corosync.conf is `configPath`. */
export function qdeviceTlsFiles(configPath: string): QdeviceTlsFiles {
  const dir = join(dirname(configPath), QDEVICE_NET_DIR);
  return {
    dir,
    ca: join(dir, 'qnetd-cacert.pem'),
    cert: join(dir, 'cluster-cert.pem'),
    key: join(dir, 'cluster-key.pem'),
  };
}

/**
 * The HA watchdog supervisor's socket and pid file, beside the node's admin socket (`/run/corolink/corolink.sock` →
 * `corolink.watchdog.sock`, `corolink.watchdog.pid`): the daemon finds its supervisor again after a restart, and
 * the lab ends the supervisor of a killed daemon by its pid.
 */
export function haWatchdogPaths(socketPath: string): { socketPath: string; pidFile: string } {
  const base = socketPath.endsWith('.sock') ? socketPath.slice(0, -'.sock'.length) : socketPath;
  return { socketPath: `${base}.watchdog.sock`, pidFile: `${base}.watchdog.pid` };
}
