// The cluster-wide membership of every group as one node sees it: group name → sorted process addresses.

import type { ProcessAddress } from './types.ts';

/** Orders addresses by node id, then pid (the order of every member list CPG reports). */
export function compareAddresses(a: ProcessAddress, b: ProcessAddress): number {
  return a.nodeId - b.nodeId || a.pid - b.pid;
}

/** True when both name the same process. */
export function sameAddress(a: ProcessAddress, b: ProcessAddress): boolean {
  return a.nodeId === b.nodeId && a.pid === b.pid;
}

/** Members of `from` that are not in `other`. */
export function addressesMissingFrom(
  from: readonly ProcessAddress[],
  other: readonly ProcessAddress[],
): ProcessAddress[] {
  return from.filter((address) => !other.some((candidate) => sameAddress(candidate, address)));
}

const NO_MEMBERS: readonly ProcessAddress[] = [];

/** Group memberships, each kept sorted by {@link compareAddresses}. */
export class GroupView {
  private readonly groups = new Map<string, ProcessAddress[]>();

  /** Members of `group` (a copy, sorted); empty when nobody is in it. */
  members(group: string): ProcessAddress[] {
    return [...this.sortedMembers(group)];
  }

  /** Names of all groups with at least one member, sorted. */
  groupNames(): string[] {
    return [...this.groups.keys()].sort();
  }

  /** True when `address` is a member of `group`. */
  has(group: string, address: ProcessAddress): boolean {
    for (const member of this.sortedMembers(group)) if (sameAddress(member, address)) return true;
    return false;
  }

  /** Adds a member (no-op when present). */
  add(group: string, address: ProcessAddress): void {
    if (this.has(group, address)) return;
    const members = [...(this.groups.get(group) ?? []), { nodeId: address.nodeId, pid: address.pid }];
    this.groups.set(group, members.sort(compareAddresses));
  }

  /** Removes a member (no-op when absent); forgets the group when it becomes empty. */
  remove(group: string, address: ProcessAddress): void {
    const members = (this.groups.get(group) ?? []).filter((member) => !sameAddress(member, address));
    if (members.length > 0) this.groups.set(group, members);
    else this.groups.delete(group);
  }

  /** Members of `group`, sorted, without a copy (read-only: for a loop per delivered message). */
  sortedMembers(group: string): readonly ProcessAddress[] {
    return this.groups.get(group) ?? NO_MEMBERS;
  }
}
