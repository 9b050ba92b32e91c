/**
 * Admin-socket methods of the cluster config (docs/reconfiguration.md): `configGet {version?}` → the running
 * corosync.conf (or a stored earlier version) and its config_version; `configHistory` → every stored version; `configPropose {text, force?, dry_run?}` → the change plan, committed to the store and
 * applied on every node unless it is refused or a dry run; `joinTokenCreate {ttl_ms?}` → a one-time join token.
 */
import { CONFIG_FILE_BYTES_MAX } from '../config/defaults.ts';
import { AdminError, type Handler } from './admin-socket.ts';
import type { ClusterConfigService } from './cluster-config.ts';
import { JOIN_TOKEN_TTL_MAX_MS, type JoinService, JoinServiceError } from './join-service.ts';

/** A join token's life when the caller does not say: one hour. */
const JOIN_TOKEN_TTL_DEFAULT_MS = 3600 * 1000;

export function configHandlers(
  service: ClusterConfigService,
  join: JoinService,
  configVersion: () => number,
): Record<string, Handler> {
  return {
    joinTokenCreate: async (params) => {
      const ttl = params.ttl_ms === undefined ? JOIN_TOKEN_TTL_DEFAULT_MS : params.ttl_ms;
      if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1000 || ttl > JOIN_TOKEN_TTL_MAX_MS) {
        throw new AdminError(
          'bad_request',
          `ttl_ms must be an integer from 1000 to ${JOIN_TOKEN_TTL_MAX_MS} (leave it out for one hour)`,
        );
      }
      try {
        return await join.createToken(ttl);
      } catch (error) {
        if (error instanceof JoinServiceError) throw new AdminError(error.code, error.message);
        throw error;
      }
    },
    configGet: (params) => {
      if (params.version === undefined) return { text: service.text, config_version: configVersion() };
      const version = params.version;
      if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) {
        throw new AdminError('bad_request', 'version must be a non-negative integer');
      }
      const text = service.versionText(version);
      if (text === undefined) throw new AdminError('not_found', `config_version ${version} is not in the history`);
      return { text, config_version: version };
    },
    configHistory: () => ({ versions: service.history() }),
    configPropose: async (params) => {
      const { text, force, dry_run: dryRun } = params;
      if (typeof text !== 'string' || Buffer.byteLength(text) > CONFIG_FILE_BYTES_MAX) {
        throw new AdminError('bad_request', `text must be a string of at most ${CONFIG_FILE_BYTES_MAX} bytes`);
      }
      if (
        (force !== undefined && typeof force !== 'boolean') ||
        (dryRun !== undefined && typeof dryRun !== 'boolean')
      ) {
        throw new AdminError('bad_request', 'force and dry_run must be true or false');
      }
      const { plan, committed } = await service.propose(text, { force: force === true, dryRun: dryRun === true });
      if (committed !== null && !committed.ok) {
        throw new AdminError(committed.code === 'not_quorate' ? 'not_quorate' : 'refused', committed.message);
      }
      return { plan, applied: committed !== null, config_version: configVersion() };
    },
  };
}
