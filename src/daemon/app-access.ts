/**
 * Who may use the application socket: root and the daemon's user always, then the users and groups of the
 * `uidgid { }` sections (corosync.conf and uidgid.d/). Names are looked up once at start through `getent`, so
 * NSS sources (LDAP, sssd) count as they do for corosync's getpwnam; a name that is not known on this node is
 * skipped with a warning naming file:line:col (the config is shared, the accounts are per node).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { formatDiagnostic, type UidGidEntry, type UidGidValue } from '../config/index.ts';
import type { PeerCredentials } from './peer-credentials.ts';

const execFileAsync = promisify(execFile);

/** The ids the application socket admits besides root and the daemon's user. */
export interface AppAccess {
  uids: ReadonlySet<number>;
  gids: ReadonlySet<number>;
}

/** The id of a user or group name from `getent passwd|group NAME` (field 3), or undefined when it is unknown. */
async function lookUp(database: 'passwd' | 'group', name: string): Promise<number | undefined> {
  try {
    const { stdout } = await execFileAsync('getent', [database, name]);
    const id = Number(stdout.split(':')[2]);
    return Number.isInteger(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

/** Resolves the entries to ids; `warnings` name each value that could not be resolved, with its file:line:col. */
export async function resolveAppAccess(entries: readonly UidGidEntry[]): Promise<AppAccess & { warnings: string[] }> {
  const uids = new Set<number>();
  const gids = new Set<number>();
  const warnings: string[] = [];
  const resolve = async (file: string, value: UidGidValue, database: 'passwd' | 'group', into: Set<number>) => {
    const id = /^\d+$/.test(value.value) ? Number(value.value) : await lookUp(database, value.value);
    if (id !== undefined) {
      into.add(id);
      return;
    }
    const what = database === 'passwd' ? 'user' : 'group';
    warnings.push(
      formatDiagnostic({
        severity: 'warning',
        code: 'uidgid',
        file,
        ...value.position,
        message: `no ${what} '${value.value}' on this node: skipped`,
      }),
    );
  };
  for (const entry of entries) {
    if (entry.uid) await resolve(entry.file, entry.uid, 'passwd', uids);
    if (entry.gid) await resolve(entry.file, entry.gid, 'group', gids);
  }
  return { uids, gids, warnings };
}

/** Whether the peer may use the application socket: root, the daemon's user, a listed user, or a listed group. */
export function appAccessAllows(access: AppAccess, peer: PeerCredentials, daemonUid: number): boolean {
  if (peer.uid === 0 || peer.uid === daemonUid || access.uids.has(peer.uid)) return true;
  return access.gids.has(peer.gid) || peer.groups.some((group) => access.gids.has(group));
}
