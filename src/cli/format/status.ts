/**
 * Text of `corolink status`, `corolink quorum` and `corolink nodes`: the sections of `pvecm status` /
 * `corosync-quorumtool -s` / `-l` (docs/cli.md), plus corolink's "Link status" extension. Pure functions.
 */
import type { Member, QuorumState, StatusV1 } from '../../ipc/schema.ts';
import { ctime, field, heading, hexNodeId } from './text.ts';

/** When the report was made (the `Date:` line); the caller passes the clock so tests are exact. */
export interface ReportTime {
  date: Date;
}

/** votequorum's only provider name, as corosync prints it. */
const QUORUM_PROVIDER = 'corosync_votequorum';
/** Width of the Nodeid and Votes columns (corosync-quorumtool's `print_string_padded`). */
const COLUMN_WIDTH = 10;

function byNodeId<T extends { nodeid: number }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => a.nodeid - b.nodeid);
}

/** "Cluster information" (pvecm's own section, from corosync.conf). */
export function clusterInformationLines(status: StatusV1): string[] {
  return [
    ...heading('Cluster information'),
    field('Name:', status.cluster.name),
    field('Config Version:', status.cluster.config_version),
    field('Transport:', status.cluster.transport),
    field('Secure auth:', status.cluster.secure_auth ? 'on' : 'off'),
  ];
}

/** "Quorum information" as corosync-quorumtool prints it (`hexIds`: node id as `0x%08x`, like `-H`). */
export function quorumInformationLines(status: StatusV1, time: ReportTime, hexIds: boolean): string[] {
  return [
    ...heading('Quorum information'),
    field('Date:', ctime(time.date)),
    field('Quorum provider:', QUORUM_PROVIDER),
    field('Nodes:', status.members.length),
    field('Node ID:', hexIds ? hexNodeId(status.local_nodeid) : status.local_nodeid),
    field('Ring ID:', status.ring_id),
    field('Quorate:', status.quorum.quorate ? 'Yes' : 'No'),
  ];
}

/** "Votequorum information": note the `Quorum:` line's `"%d %s"` and the space after every flag, as corosync. */
export function votequorumLines(status: StatusV1): string[] {
  const quorum = status.quorum;
  return [
    ...heading('Votequorum information'),
    field('Expected votes:', quorum.expected_votes),
    field('Highest expected:', quorum.highest_expected),
    field('Total votes:', quorum.total_votes),
    field('Quorum:', `${quorum.quorum} ${quorum.quorate ? ' ' : 'Activity blocked'}`),
    field('Flags:', quorum.flags.map((flag) => `${flag} `).join('')),
  ];
}

/**
 * "Membership information": Nodeid and Votes right-aligned to 10, then the name, `(local)` on this node. With a
 * quorum device (`qdevice`), the `Qdevice` column (`A,V,NMW`) and the device's row, node id 0, as
 * corosync-quorumtool's `display_nodes_data`: its votes when this node's device casts them, else 0 and `(votes N)`.
 */
export function membershipLines(
  members: readonly Member[],
  hexIds: boolean,
  qdevice?: QuorumState['qdevice'],
  order: NodeOrder = 'id',
): string[] {
  const id = (nodeId: number) => (hexIds ? hexNodeId(nodeId) : String(nodeId).padStart(COLUMN_WIDTH));
  const column = (text: string) => (qdevice ? `${text.padStart(COLUMN_WIDTH)} ` : '');
  const lines = [
    ...heading('Membership information'),
    `${'Nodeid'.padStart(COLUMN_WIDTH)} ${'Votes'.padStart(COLUMN_WIDTH)} ${column('Qdevice')}Name`,
    ...ordered(members, order).map(
      (member) =>
        `${id(member.nodeid)} ${String(member.votes).padStart(COLUMN_WIDTH)} ${column(member.qdevice ?? 'NR')}` +
        `${member.name}${member.local ? ' (local)' : ''}`,
    ),
  ];
  if (qdevice) {
    const votes = qdevice.cast_vote ? qdevice.votes : 0;
    const note = qdevice.cast_vote ? '' : ` (votes ${qdevice.votes})`;
    lines.push(`${id(0)} ${String(votes).padStart(COLUMN_WIDTH)}            ${qdevice.name}${note}`);
  }
  return lines;
}

/** What follows a link's state: its address (local node), the heartbeat latency (peer), or why it is down. */
function linkDetail(member: Member, link: Member['links'][number]): string {
  if (link.state === 'DOWN') return `(${link.reason ?? 'down'})`;
  if (!member.local && link.latency_ms !== null) return `${link.latency_ms.toFixed(2)} ms`;
  return link.address ?? '';
}

/**
 * corolink's extension after the pvecm sections: every node with the state of each of its links as the local
 * node sees it (`link0: UP      127.0.10.1`), configured nodes outside the membership marked `(not a member)`.
 */
export function linkStatusLines(status: StatusV1): string[] {
  const lines = heading('Link status');
  for (const member of byNodeId(status.members)) {
    lines.push(`Node ${hexNodeId(member.nodeid)} ${member.name}${member.local ? ' (local)' : ''}`);
    for (const link of [...member.links].sort((a, b) => a.link - b.link)) {
      lines.push(`    link${link.link}: ${link.state.padEnd(8)}${linkDetail(member, link)}`.trimEnd());
    }
  }
  for (const node of byNodeId(status.nodes.filter((configured) => !configured.member))) {
    lines.push(`Node ${hexNodeId(node.nodeid)} ${node.name} (not a member)`);
  }
  return lines;
}

/** `corolink status`: the four `pvecm status` sections (hex node ids, like `-siH`) and the link status block. */
export function statusText(status: StatusV1, time: ReportTime): string {
  return joinSections([
    clusterInformationLines(status),
    quorumInformationLines(status, time, true),
    votequorumLines(status),
    membershipLines(status.members, true, status.quorum.qdevice),
    linkStatusLines(status),
  ]);
}

/** `corolink quorum`: the output of `corosync-quorumtool -s` (decimal node ids). */
export function quorumText(status: StatusV1, time: ReportTime): string {
  return joinSections([
    quorumInformationLines(status, time, false),
    votequorumLines(status),
    membershipLines(status.members, false, status.quorum.qdevice),
  ]);
}

/** `corolink nodes`: the output of `pvecm nodes` / `corosync-quorumtool -l` (it starts with an empty line). */
/** `corosync-quorumtool -l -o`: the order of the rows (node id, name, or link0 address). */
export type NodeOrder = 'id' | 'name' | 'address';

/** The member's address on its lowest-numbered link that has one. */
const addressOf = (member: Member) =>
  [...member.links].sort((a, b) => a.link - b.link).find((l) => l.address !== null)?.address ?? '';
/** An IPv4 address as a sortable number (anything else sorts after, by text). */
const addressKey = (address: string) =>
  /^\d+\.\d+\.\d+\.\d+$/.test(address) ? address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0) : Infinity;

function ordered(members: readonly Member[], order: NodeOrder): Member[] {
  const byId = byNodeId(members);
  if (order === 'name') return byId.sort((a, b) => a.name.localeCompare(b.name));
  if (order === 'address') {
    return byId.sort(
      (a, b) => addressKey(addressOf(a)) - addressKey(addressOf(b)) || addressOf(a).localeCompare(addressOf(b)),
    );
  }
  return byId;
}

/**
 * `corosync-quorumtool -l` (`pvecm nodes`): the membership table, in `order`; with `addresses`, every link's
 * address of each member follows its row (`-a`).
 */
export function nodesText(status: StatusV1, options: { order?: NodeOrder; addresses?: boolean } = {}): string {
  const rows = membershipLines(status.members, false, status.quorum.qdevice, options.order ?? 'id');
  if (options.addresses) {
    const byRow = ordered(status.members, options.order ?? 'id');
    const head = rows.slice(0, 3);
    const body = byRow.map((member, i) => {
      const addresses = [...member.links]
        .sort((a, b) => a.link - b.link)
        .filter((l) => l.address !== null)
        .map((l) => `link${l.link} ${l.address}`)
        .join(', ');
      return `${rows[3 + i]}${addresses ? `  [${addresses}]` : ''}`;
    });
    return `\n${joinSections([[...head, ...body, ...rows.slice(3 + byRow.length)]])}`;
  }
  return `\n${joinSections([rows])}`;
}

function joinSections(sections: readonly string[][]): string {
  return `${sections.map((lines) => lines.join('\n')).join('\n\n')}\n`;
}
