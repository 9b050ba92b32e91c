/**
 * Text of `corolink qdevice status`: `corosync-qdevice-tool -s` (man/corosync-qdevice-tool.8, qdevice-ipc-cmd.c and
 * qdevice-net-ipc-cmd.c), its tab-aligned values shown at column 25 as the man page prints them. Pure.
 */
import type { QdeviceStatusV1 } from '../../ipc/schema.ts';
import { heading } from './text.ts';

/** `Model:\t\t\t` puts values at column 25. */
const VALUE_COLUMN = 24;

const ALGORITHM_NAMES: Record<string, string> = {
  ffsplit: 'Fifty-Fifty split',
  lms: 'LMS',
  '2nodelms': '2 Node LMS',
  test: 'Test',
};

const STATE_NAMES: Record<string, string> = {
  disconnected: 'Disconnected',
  connecting: 'Connecting',
  connected: 'Connected',
};

const line = (label: string, value: string | number) => `${label.padEnd(VALUE_COLUMN)}${value}`;

/** An ISO time without milliseconds and zone, as corosync-qdevice-tool prints it, `msAgo` before `now`. */
function isoAgo(msAgo: number | null, now: Date): string {
  if (msAgo === null) return 'never';
  return new Date(now.getTime() - msAgo).toISOString().slice(0, 19);
}

function tieBreakerText(tieBreaker: string | number): string {
  if (tieBreaker === 'lowest') return 'Node with lowest node ID';
  if (tieBreaker === 'highest') return 'Node with highest node ID';
  return `Node with node ID ${tieBreaker}`;
}

/** The status text; `now` is the caller's clock (the times are shown as ISO times). */
export function qdeviceStatusText(status: QdeviceStatusV1, now: Date): string {
  const device = status.device;
  if (device === null) {
    return status.configured
      ? 'Quorum device configured, but not running on this node (see corolink logs)\n'
      : 'No quorum device configured (quorum { device { } } in corosync.conf; see corolink qdevice --help)\n';
  }
  const net = device.net;
  const lines = [
    ...heading('Qdevice information'),
    line('Model:', device.model === 'net' ? 'Net' : device.model),
    line('Node ID:', status.local_nodeid),
    line('Configured node list:', ''),
    ...device.configured_nodes.map((nodeId, index) => `    ${index}   Node ID = ${nodeId}`),
    line('Ring ID:', device.ring_id),
    line('Membership node list:', device.members.join(', ')),
    line('Quorate:', device.quorate ? 'Yes' : 'No'),
    line('Expected votes:', device.expected_votes),
    line('Votes:', device.votes),
    line(
      'Last poll call:',
      `${isoAgo(device.last_poll_ms_ago, now)}${device.last_poll_cast_vote && device.last_poll_ms_ago !== null ? ' (cast vote)' : ''}`,
    ),
    '',
    ...heading('Qdevice-net information').slice(0, 1),
    '----------------------',
    line('Cluster name:', net.cluster_name),
    line('QNetd host:', `${net.host}:${net.port}`),
    line('Connect timeout:', `${net.connect_timeout_ms}ms`),
    line('VQ vote timer interval:', `${Math.trunc(device.timeout_ms / 2)}ms`),
    line('TLS:', net.tls === 'off' ? 'Unsupported' : net.tls === 'required' ? 'Required' : 'Supported'),
    line('Algorithm:', ALGORITHM_NAMES[net.algorithm] ?? net.algorithm),
    line('Tie-breaker:', tieBreakerText(net.tie_breaker)),
    line('State:', STATE_NAMES[net.state] ?? net.state),
    line('TLS active:', net.tls_active ? 'Yes' : 'No'),
    line('Last vote:', `${net.last_vote}${net.cast_vote ? ' (cast vote)' : ''}`),
    line('Connected since:', isoAgo(net.connected_since_ms_ago, now)),
    line('Echo reply received:', isoAgo(net.last_heartbeat_ms_ago, now)),
  ];
  return `${lines.map((text) => text.trimEnd()).join('\n')}\n`;
}
