/** The config file a command reads when `-c` is not given. */
import { DEFAULT_CONFIG_PATH } from '../config/paths.ts';

/** `$COROLINK_CONFIG` (set by `corolink lab exec`), else /etc/corolink/corosync.conf. */
export function defaultConfigPath(): string {
  return process.env.COROLINK_CONFIG || DEFAULT_CONFIG_PATH;
}
