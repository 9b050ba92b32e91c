/**
 * Text of `corolink ha status` in ha-manager's layout (docs/ha.md "Admin tools"): `quorum OK`, `master n1
 * (active, <time>)`, one `lrm` line per node, one `service` line per service; `--verbose` adds each service's
 * requested state, counts and last message, the counters and the manager status. Pure functions.
 */
import type { HaNodeStatus, HaServiceStatus, HaStatusV1 } from '../../ipc/schema.ts';
import type { ReportTime } from './status.ts';
import { ctime } from './text.ts';

/** A node's name as the status names it (its id when the nodelist gives it no name). */
function nodeName(status: HaStatusV1, nodeid: number | null): string {
  if (nodeid === null) return 'none';
  const name = status.nodes.find((node) => node.nodeid === nodeid)?.name;
  return name || String(nodeid);
}

function lrmLine(node: HaNodeStatus, time: ReportTime): string {
  const mode = node.state === 'maintenance' ? 'maintenance mode' : node.lrm;
  const nodeState = node.state === 'online' || node.state === 'maintenance' ? '' : `, node ${node.state}`;
  const report =
    node.last_report_ms === null ? 'no report' : ctime(new Date(time.date.getTime() - node.last_report_ms));
  return `lrm ${node.name || node.nodeid} (${mode}${nodeState}, ${report})`;
}

function serviceLines(status: HaStatusV1, service: HaServiceStatus, verbose: boolean): string[] {
  const line = `service ${service.sid} (${nodeName(status, service.nodeid)}, ${service.state})`;
  if (!verbose) return [line];
  const details = [
    `requested ${service.requested}`,
    `group ${service.group ?? '-'}`,
    `restarts ${service.restarts}`,
    `relocations ${service.relocations}`,
  ];
  return [line, `    ${details.join(', ')}`, ...(service.message === null ? [] : [`    ${service.message}`])];
}

/** `--verbose`: this node's manager status and the copy in the replicated store (ha-manager's manager_status). */
function managerStatusLine(status: HaStatusV1['manager_status']): string {
  const stored = status.stored === null ? 'none' : `epoch ${status.stored.epoch} seq ${status.stored.seq}`;
  return `manager_status epoch ${status.epoch} seq ${status.seq} (stored in ha/manager_status: ${stored})`;
}

/** `corolink ha status` as text (`date`: when the status was read; lrm times are counted back from it). */
export function haStatusText(status: HaStatusV1, time: ReportTime, verbose = false): string {
  const manager =
    status.manager === null
      ? 'master none (no manager elected)'
      : `master ${status.manager.name || status.manager.nodeid} (active, ${ctime(time.date)})`;
  const counters = status.counters;
  const lines = [
    `quorum ${status.quorate ? 'OK' : 'No quorum on this node'}`,
    manager,
    ...[...status.nodes].sort((a, b) => a.nodeid - b.nodeid).map((node) => lrmLine(node, time)),
    ...[...status.services]
      .sort((a, b) => a.sid.localeCompare(b.sid))
      .flatMap((service) => serviceLines(status, service, verbose)),
    ...(verbose
      ? [
          `counters recoveries ${counters.recoveries}, restarts ${counters.restarts}, relocations ${counters.relocations}, fences ${counters.fences}`,
          managerStatusLine(status.manager_status),
        ]
      : []),
  ];
  return `${lines.join('\n')}\n`;
}
