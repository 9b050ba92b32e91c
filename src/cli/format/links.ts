/**
 * Text of `corolink links`: the local links, then one row per peer × link with what `corosync-cfgtool -s` / `-n`
 * show (peer address, enabled, connected, mtu), whether the link carries the peer's traffic now, knet's statistics
 * (priority, latency, down count) and why a link is down.
 */
import type { LinksV1 } from '../../ipc/schema.ts';
import { hexNodeId, table } from './text.ts';

/** Options of `linksText`. */
export interface LinksTextOptions {
  /** Node names by node id (from `status`); a node without a name shows `-`. */
  names?: ReadonlyMap<number, string>;
  /** The transport name for the first line (default `knet`). */
  transport?: string;
}

const yesNo = (value: boolean) => (value ? 'yes' : 'no');
const milliseconds = (value: number | null) => (value === null ? '-' : value.toFixed(2));

/**
 * True when a link to a peer is down or a local link has lost carrier: `corosync-cfgtool -s` then exits 1, which
 * monitoring relies on.
 */
export function hasFaultyLink(links: LinksV1): boolean {
  return links.peers.some((peer) => peer.state === 'DOWN') || links.links.some((l) => l.enabled && l.carrier === false);
}

/** The `corolink links` report. */
export function linksText(links: LinksV1, options: LinksTextOptions = {}): string {
  const localLinks = [...links.links].sort((a, b) => a.link - b.link);
  const peers = [...links.peers].sort((a, b) => a.nodeid - b.nodeid || a.link - b.link);
  const lines = [`Local node ID ${hexNodeId(links.local_nodeid)}, transport ${options.transport ?? 'knet'}`, ''];
  lines.push(
    ...table(
      ['Link', 'Address', 'Enabled', 'Carrier', 'Priority', 'MTU'],
      localLinks.map((link) => [
        `link${link.link}`,
        link.address,
        yesNo(link.enabled),
        link.carrier === undefined || link.carrier === null ? '-' : yesNo(link.carrier),
        String(link.priority),
        link.mtu === undefined ? '-' : String(link.mtu),
      ]),
      ['left', 'left', 'left', 'left', 'right', 'right'],
    ),
    '',
  );
  for (const failure of links.auth_failures ?? []) {
    lines.push(`${failure.packets} packets from ${failure.source} failed authentication (wrong authkey?)`);
  }
  if (links.auth_failures?.length) lines.push('');
  if (peers.length === 0) {
    lines.push('No peers configured.');
    return `${lines.join('\n')}\n`;
  }
  lines.push(
    ...table(
      [
        'Nodeid',
        'Name',
        'Link',
        'Address',
        'State',
        'Active',
        'Enabled',
        'Connected',
        'Priority',
        'Latency min/avg/max ms',
        'Downs',
        'MTU',
        'Reason',
      ],
      peers.map((peer) => [
        hexNodeId(peer.nodeid),
        options.names?.get(peer.nodeid) ?? '-',
        `link${peer.link}`,
        peer.address ?? '-',
        peer.state,
        yesNo(peer.active),
        yesNo(peer.enabled),
        yesNo(peer.connected),
        String(peer.priority),
        `${milliseconds(peer.latency_ms.min)}/${milliseconds(peer.latency_ms.avg)}/${milliseconds(peer.latency_ms.max)}`,
        String(peer.down_count),
        String(peer.mtu),
        peer.reason ?? '',
      ]),
      ['left', 'left', 'left', 'left', 'left', 'left', 'left', 'left', 'right', 'right', 'right', 'right', 'left'],
    ),
  );
  return `${lines.join('\n')}\n`;
}
