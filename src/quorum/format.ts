/**
 * Text of `corosync-quorumtool -s` (and the quorum part of `pvecm status`, which runs `-siH`) from a
 * `QuorumSnapshot`. Layout follows tools/corosync-quorumtool.c `display_quorum_data` / `display_nodes_data`:
 * labels padded so values start at column 19, `Ring ID:` as `<rep hex>.<seq hex>`, the `Quorum:` line as
 * `"%d %s"` with `" "` or `Activity blocked`, flags each followed by a space, membership columns right-aligned
 * to width 10 plus one space (`print_string_padded`) or `0x%08x ` node ids with `hexNodeIds`, `(local)` on this
 * node's row; with a quorum device registered on a member, the `Qdevice` column (`A,V,NMW` or `NR`) and the device's
 * row (node id 0, its votes or 0 with `(votes N)` when this node's device does not cast its vote). Pure: the date
 * comes in as text (see `ctimeText`).
 */
import type { QdeviceMemberFlags, QuorumSnapshot, RingId } from './types.ts';

/** Inputs of the status text besides the snapshot. */
export interface QuorumStatusFormatOptions {
  /** The `Date:` value, `ctime()` style without the newline (see `ctimeText`). */
  date: string;
  /** This node (default: `snapshot.nodeId`). */
  localNodeId?: number;
  /** Names for the `Name` column (default: each member's `name`). */
  nodeNames?: ReadonlyMap<number, string>;
  /** The `Ring ID:` to print (default: `snapshot.ringId`; `0.0` when none). */
  ringId?: RingId | null;
  /** Print node ids as `0x%08x` (`corosync-quorumtool -H`, used by `pvecm status`). */
  hexNodeIds?: boolean;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `ctime()` text of a date in local time, without the trailing newline: `Tue Nov 24 21:49:34 2026`. */
export function ctimeText(date: Date): string {
  const two = (value: number): string => String(value).padStart(2, '0');
  const day = String(date.getDate()).padStart(2, ' ');
  const time = `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
  return `${DAYS[date.getDay()]} ${MONTHS[date.getMonth()]} ${day} ${time} ${date.getFullYear()}`;
}

/** `rep.seq` in hex, as corosync prints a ring id (`CS_PRI_RING_ID`). */
export function formatRingId(ringId: RingId | null): string {
  return ringId ? `${ringId.rep.toString(16)}.${ringId.seq.toString(16)}` : '0.0';
}

/** The `corosync-quorumtool -s` text, ending with a newline. */
export function formatQuorumStatus(snapshot: QuorumSnapshot, options: QuorumStatusFormatOptions): string {
  const localNodeId = options.localNodeId ?? snapshot.nodeId;
  const ringId = options.ringId === undefined ? snapshot.ringId : options.ringId;
  const votequorumQuorate = snapshot.flags.includes('Quorate');
  const device = snapshot.device;
  const nodeIdText = (nodeId: number): string =>
    options.hexNodeIds ? `0x${nodeId.toString(16).padStart(8, '0')} ` : padded(String(nodeId));
  const lines = [
    'Quorum information',
    '------------------',
    `Date:             ${options.date}`,
    'Quorum provider:  corosync_votequorum',
    `Nodes:            ${snapshot.nodes}`,
    `Node ID:          ${options.hexNodeIds ? nodeIdText(localNodeId).trimEnd() : localNodeId}`,
    `Ring ID:          ${formatRingId(ringId)}`,
    `Quorate:          ${snapshot.quorate ? 'Yes' : 'No'}`,
    '',
    'Votequorum information',
    '----------------------',
    `Expected votes:   ${snapshot.expectedVotes}`,
    `Highest expected: ${snapshot.highestExpected}`,
    `Total votes:      ${snapshot.totalVotes}`,
    `Quorum:           ${snapshot.quorum} ${votequorumQuorate ? ' ' : 'Activity blocked'}`,
    `Flags:            ${snapshot.flags.map((flag) => `${flag} `).join('')}`,
    '',
    'Membership information',
    '----------------------',
    `${padded('Nodeid')}${padded('Votes')}${device ? padded('Qdevice') : ''}Name`,
  ];
  const members = [...snapshot.members].sort((a, b) => a.nodeId - b.nodeId);
  for (const member of members) {
    const name = options.nodeNames?.get(member.nodeId) ?? member.name;
    const local = member.nodeId === localNodeId ? ' (local)' : '';
    const qdevice = device ? padded(qdeviceColumn(member.qdevice)) : '';
    lines.push(`${nodeIdText(member.nodeId)}${padded(String(member.votes))}${qdevice}${name}${local}`);
  }
  if (device) {
    const votes = device.castVote ? '' : ` (votes ${device.votes})`;
    lines.push(
      `${nodeIdText(0)}${padded(String(device.castVote ? device.votes : 0))}           ${device.name}${votes}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** A member's `Qdevice` column: `A,V,NMW` (alive, casts its vote, no master_wins), or `NR` (not registered). */
export function qdeviceColumn(flags: QdeviceMemberFlags | null): string {
  if (!flags) return 'NR';
  return `${flags.alive ? 'A' : 'NA'},${flags.castVote ? 'V' : 'NV'},${flags.masterWins ? 'MW' : 'NMW'}`;
}

/** corosync-quorumtool.c `print_string_padded`: right-aligned to 10 columns, then one space. */
function padded(text: string): string {
  return `${text.padStart(10, ' ')} `;
}
