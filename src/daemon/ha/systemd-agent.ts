/** `systemd` resources: `systemctl start|stop|is-active UNIT` (LSB codes: is-active's 3, inactive, is 7). */
import { HA_EXIT_NOT_RUNNING, type HaOp, type HaOpResult, type HaResourceSpec } from '../../ha/contract.ts';
import { runInGroup } from './process-group.ts';

type SystemdSpec = Extract<HaResourceSpec, { type: 'systemd' }>;

/** systemctl is-active: the unit is not active. */
const SYSTEMCTL_INACTIVE = 3;
const VERBS: Record<HaOp, string> = { start: 'start', stop: 'stop', monitor: 'is-active' };

export async function runSystemd(op: HaOp, spec: SystemdSpec): Promise<HaOpResult> {
  const result = await runInGroup({ file: 'systemctl', args: [VERBS[op], spec.unit], timeoutMs: spec.timeoutMs });
  if (op === 'monitor' && result.exitCode === SYSTEMCTL_INACTIVE) return { ...result, exitCode: HA_EXIT_NOT_RUNNING };
  return result;
}
