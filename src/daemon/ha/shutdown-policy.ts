/**
 * What a clean daemon stop does with this node's HA services (`corolink { ha_shutdown_policy }`, ha-manager's
 * shutdown_policy): freeze them here or let them fail over. `conditional`, the default as in Proxmox, fails over
 * when the host powers off or halts — systemd has `poweroff.target` or `halt.target` queued, which ha-manager reads
 * from `systemctl list-jobs` the same way (PVE::HA::Env::PVE2::is_node_shutdown) — and freezes otherwise (a
 * reboot, or only the daemon stops: the node is expected back).
 */
import { DEFAULT_HA_SHUTDOWN_POLICY } from '../../config/defaults.ts';
import type { HA_SHUTDOWN_POLICIES } from '../../config/schema.ts';
import { runInGroup } from './process-group.ts';

export type HaShutdownPolicy = (typeof HA_SHUTDOWN_POLICIES)[number];

/** `systemctl list-jobs` may take this long before the host counts as not powering off. */
const LIST_JOBS_TIMEOUT_MS = 2000;

/** Whether `systemctl --full --no-legend list-jobs` output has a poweroff or halt job (`JOB UNIT TYPE STATE`). */
export function powersOff(listJobs: string): boolean {
  return /^\s*\d+\s+(poweroff|halt)\.target\s/m.test(listJobs);
}

/** Whether this stop freezes, and why (for the log). */
export async function shutdownFreezes(
  policy: HaShutdownPolicy = DEFAULT_HA_SHUTDOWN_POLICY,
  listJobs: () => Promise<string> = systemdJobs,
): Promise<{ freeze: boolean; why: string }> {
  if (policy !== 'conditional') return { freeze: policy === 'freeze', why: `policy ${policy}` };
  const off = powersOff(await listJobs());
  return {
    freeze: !off,
    why: off ? 'policy conditional: the host powers off' : 'policy conditional: the host does not power off',
  };
}

/** systemd's job list ('' where there is no systemd). */
async function systemdJobs(): Promise<string> {
  const result = await runInGroup({
    file: 'systemctl',
    args: ['--full', '--no-legend', 'list-jobs'],
    timeoutMs: LIST_JOBS_TIMEOUT_MS,
  });
  return result.exitCode === 0 ? result.output : '';
}
