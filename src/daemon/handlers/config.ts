/**
 * Admin-socket methods of the cluster config (docs/reconfiguration.md): `configGet {version?}` → the running
 * corosync.conf (or a stored earlier version) and its config_version; `configHistory` → every stored version;
 * `configPropose {text, force?, dry_run?}` → the change plan (with what the reachability probe of an added link
 * found), committed to the store and applied on every node
 * unless it is refused or a dry run.
 */
import { AdminError, type Handlers } from '../admin-socket.ts';
import type { ClusterConfigService } from '../cluster-config.ts';

export function configHandlers(
  service: ClusterConfigService,
  configVersion: () => number,
): Pick<Handlers, 'configGet' | 'configHistory' | 'configPropose'> {
  return {
    configGet: ({ version }) => {
      if (version === undefined) return { text: service.text, config_version: configVersion() };
      const text = service.versionText(version);
      if (text === undefined) throw new AdminError('not_found', `config_version ${version} is not in the history`);
      return { text, config_version: version };
    },
    configHistory: () => ({ versions: service.history() }),
    configPropose: async ({ text, force, dry_run: dryRun }) => {
      const { plan, probe, committed } = await service.propose(text, {
        force: force === true,
        dryRun: dryRun === true,
      });
      if (committed !== null && !committed.ok) {
        throw new AdminError(committed.code === 'not_quorate' ? 'not_quorate' : 'refused', committed.message);
      }
      return { plan, probe, applied: committed !== null, config_version: configVersion() };
    },
  };
}
