/** Text of `corolink lab up` (where every host's files are) and `corolink lab status` (one row per host). */
import type { StatusV1 } from '../../ipc/schema.ts';
import { table } from './text.ts';

/** One lab host as `lab up` lists it. */
export interface LabHostSummary {
  name: string;
  /** Address per link number. */
  addresses: readonly string[];
  config: string;
  socket: string;
  log: string;
}

/** `lab up`: host, its address on every link, the config its daemon reads, its socket and its log file. */
export function labHostsText(hosts: readonly LabHostSummary[]): string {
  const links = Math.max(0, ...hosts.map((h) => h.addresses.length));
  const linkHeaders = Array.from({ length: links }, (_, l) => `link${l}`);
  const rows = hosts.map((h) => [
    h.name,
    ...linkHeaders.map((_, l) => h.addresses[l] ?? '-'),
    h.config,
    h.socket,
    h.log,
  ]);
  const headers = ['Host', ...linkHeaders, 'Config', 'Socket', 'Log'];
  return `${table(
    headers,
    rows,
    headers.map(() => 'left'),
  ).join('\n')}\n`;
}

/** `link0 2/2 link1 1/2`: per link, the members other than this host reached on it / those members. */
function linksSummary(status: StatusV1): string {
  const peers = status.members.filter((m) => !m.local);
  const numbers = [...new Set(status.members.flatMap((m) => m.links.map((l) => l.link)))].sort((a, b) => a - b);
  return numbers
    .map((link) => {
      const up = peers.filter((m) => m.links.some((l) => l.link === link && l.state === 'UP')).length;
      return `link${link} ${up}/${peers.length}`;
    })
    .join(' ');
}

/** `lab status`: one row per host — ring id, members, quorate, links up per link; a stopped daemon says so. */
export function labStatusText(all: Readonly<Record<string, StatusV1 | null>>): string {
  const rows = Object.entries(all).map(([host, status]) =>
    status === null
      ? [host, '-', '-', '-', 'daemon not running']
      : [
          host,
          status.ring_id,
          status.members
            .map((m) => m.nodeid)
            .sort((a, b) => a - b)
            .join(','),
          status.quorum.quorate ? 'yes' : 'NO',
          linksSummary(status),
        ],
  );
  const headers = ['Host', 'Ring ID', 'Members', 'Quorate', 'Links up (peers)'];
  return `${table(
    headers,
    rows,
    headers.map(() => 'left'),
  ).join('\n')}\n`;
}
