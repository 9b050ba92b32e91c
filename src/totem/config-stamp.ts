/**
 * Config stamps: which cluster config (config_version and a nodelist digest) a node runs. Totem does not admit a
 * node outside its ring that runs another config — corosync refuses a node with an older config_version too.
 */
import type { ConfigStamp } from './types.ts';

/** The stamp of a node given none. */
export const DEFAULT_CONFIG_STAMP: ConfigStamp = { version: 0, digest: 0 };

const U32_MAX = 0xffff_ffff;

export function sameStamp(a: ConfigStamp, b: ConfigStamp): boolean {
  return a.version === b.version && a.digest === b.digest;
}

/** Why `stamp` cannot go on the wire (version a non-negative safe integer, digest a u32); null when it can. */
export function stampProblem(stamp: ConfigStamp): string | null {
  if (!Number.isSafeInteger(stamp.version) || stamp.version < 0) {
    return `config_version must be a non-negative integer (got ${stamp.version})`;
  }
  if (!Number.isInteger(stamp.digest) || stamp.digest < 0 || stamp.digest > U32_MAX) {
    return `the nodelist digest must be a u32 (got ${stamp.digest})`;
  }
  return null;
}

/** The warning logged when node `nodeId`, running `theirs`, is kept apart from this node, running `ours`. */
export function mismatchText(nodeId: number, theirs: ConfigStamp, ours: ConfigStamp): string {
  if (theirs.version < ours.version) {
    return `node ${nodeId} runs config_version ${theirs.version}, this node runs ${ours.version}: not admitted to the membership until it has taken the current cluster config`;
  }
  if (theirs.version > ours.version) {
    return `node ${nodeId} runs config_version ${theirs.version}, this node runs ${ours.version}: this node is not admitted to its membership until it has taken that config`;
  }
  return `node ${nodeId} has a different nodelist with the same config_version ${ours.version}: not admitted to the membership (fix the config on one side)`;
}
