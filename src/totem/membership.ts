/**
 * Gather-state set algebra (TOCS §4.1, corosync `memb_join_process`): the process set, the fail set and how a
 * received JOIN changes them.
 */
import type { JoinMessage } from './messages.ts';

/** The gather sets of this node: every node heard of (proc) and the ones given up on (fail). */
export interface GatherSets {
  proc: Set<number>;
  fail: Set<number>;
}

/** What a JOIN means for this node: same sets (agreement), nothing new, or the sets grew. */
export type JoinVerdict = 'agree' | 'ignore' | 'merged';

function sameMembers(list: readonly number[], set: ReadonlySet<number>): boolean {
  return list.length === set.size && list.every((id) => set.has(id));
}

function within(list: readonly number[], set: ReadonlySet<number>): boolean {
  return list.every((id) => set.has(id));
}

/**
 * Applies a JOIN to the sets (corosync's rules): equal sets → agree; subsets → ignore; a sender I failed, or a
 * stranger that failed me, → ignore; otherwise merge the proc sets and, if the sender failed me, fail the sender
 * (symmetric exclusion); else adopt its
 * fail set — all of it when the sender was in my old ring, only nodes outside my ring when it is a stranger.
 */
export function applyJoin(
  me: number,
  sets: GatherSets,
  join: JoinMessage,
  oldMembers: ReadonlySet<number>,
): JoinVerdict {
  if (sameMembers(join.proc, sets.proc) && sameMembers(join.fail, sets.fail)) return 'agree';
  if (within(join.proc, sets.proc) && within(join.fail, sets.fail)) return 'ignore';
  if (sets.fail.has(join.sender)) return 'ignore';
  // A stranger that excludes me has nothing to merge with me (answering would start a JOIN storm of singleton rings).
  if (join.fail.includes(me) && !sets.proc.has(join.sender)) return 'ignore';
  const before = sets.proc.size + sets.fail.size;
  for (const id of join.proc) sets.proc.add(id);
  if (join.fail.includes(me)) {
    sets.fail.add(join.sender);
  } else {
    const trusted = oldMembers.has(join.sender);
    for (const id of join.fail) if (trusted || !oldMembers.has(id)) sets.fail.add(id);
  }
  return sets.proc.size + sets.fail.size === before ? 'ignore' : 'merged';
}

/** proc − fail, ascending: the members a new ring would have. */
export function activeMembers(sets: GatherSets): number[] {
  return [...sets.proc].filter((id) => !sets.fail.has(id)).sort((a, b) => a - b);
}
