/**
 * Admin-socket methods of the cluster config (docs/reconfiguration.md): `configGet` → the running corosync.conf
 * and its config_version; `configPropose {text, force?, dry_run?}` → the change plan, committed to the store and
 * applied on every node unless it is refused or a dry run.
 */
import { AdminError, type Handler } from './admin-socket.ts';
import type { ClusterConfigService } from './cluster-config.ts';

/** Largest proposed config text (it is stored as one file of the store). */
const CONFIG_TEXT_BYTES_MAX = 256 * 1024;

export function configHandlers(service: ClusterConfigService, configVersion: () => number): Record<string, Handler> {
  return {
    configGet: () => ({ text: service.text, config_version: configVersion() }),
    configPropose: async (params) => {
      const { text, force, dry_run: dryRun } = params;
      if (typeof text !== 'string' || Buffer.byteLength(text) > CONFIG_TEXT_BYTES_MAX) {
        throw new AdminError('bad_request', `text must be a string of at most ${CONFIG_TEXT_BYTES_MAX} bytes`);
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
