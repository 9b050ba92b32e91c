/**
 * `uidgid { uid: NAME|NUMBER  gid: NAME|NUMBER }`: the users and groups corosync lets use its IPC besides root, in
 * corosync.conf and in the files of `uidgid.d/` beside it (corosync's /etc/corosync/uidgid.d). corolink lets them
 * use the application socket (docs/security.md, "The application socket").
 */
import { UINT32_MAX } from '../base/limits.ts';
import type { SourcePosition } from './diagnostics.ts';

export const UIDGID_KEYS = ['uid', 'gid'] as const;
/** The folder of uidgid files beside corosync.conf. */
export const UIDGID_DIR = 'uidgid.d';

/** One `uid:` or `gid:` value as written, with where. */
export interface UidGidValue {
  value: string;
  position: SourcePosition;
}

/** One `uidgid { }` section. */
export interface UidGidEntry {
  file: string;
  position: SourcePosition;
  uid?: UidGidValue;
  gid?: UidGidValue;
}

/** A user or group name as useradd accepts it (optionally ending in `$`, as Samba machine accounts do). */
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/;
const NUMBER = /^\d+$/;
/** (uid_t) -1 means "no change" to the kernel: never an id. */
const ID_MAX = UINT32_MAX - 1;

/** Why a uid:/gid: value is not a name or an id, or undefined. */
export function uidgidValueProblem(key: 'uid' | 'gid', value: string): string | undefined {
  if (NUMBER.test(value)) {
    return Number(value) <= ID_MAX ? undefined : `${key}: ${value} is out of range (0–${ID_MAX})`;
  }
  if (NAME.test(value)) return undefined;
  const what = key === 'uid' ? 'user' : 'group';
  return `${key}: '${value}' is neither a ${what} name (letters, digits, _ . -, at most 32) nor a number`;
}
