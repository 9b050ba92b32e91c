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

/** The sender forms a ring of one with this JOIN: it failed every other node it lists (proc − fail = itself). */
function formsRingAlone(join: JoinMessage): boolean {
  return join.proc.every((id) => id === join.sender || join.fail.includes(id));
}

/**
 * Applies a JOIN to the sets (corosync's rules): equal sets → agree; subsets → ignore; a sender I failed, a stranger
 * that failed me, or a node outside my ring that failed me as it forms a ring of one, → ignore; otherwise merge the
 * proc sets and, if the sender failed me, fail the sender (symmetric exclusion); else adopt its fail set — all of
 * it when the sender was in my old ring, only nodes outside my ring when it is a stranger.
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
  if (join.fail.includes(me)) {
    // A stranger that excludes me has nothing to merge with me (answering would start a JOIN storm of singleton rings).
    if (!sets.proc.has(join.sender)) return 'ignore';
    // Nor has a node outside my ring that excludes me as it forms a ring of one: it gathers no more, and its ring
    // takes my next JOIN as a stranger's. Failing it back made me form a ring of one too when it was all I gathered
    // with, whose JOIN failed it in turn while the JOIN of its gather pulled me back: two nodes re-formed rings of
    // one every 0.1–0.2 ms (whole-stack seed 4098; docs/totem.md § Membership).
    if (!oldMembers.has(join.sender) && formsRingAlone(join)) return 'ignore';
  }
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
