/** The uid, gid and home of a configured user, through NSS (`getent passwd`), so LDAP and the like work too. */
import { execFile } from 'node:child_process';

const GETENT_TIMEOUT_MS = 5_000;

export interface UserIds {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** Looks `user` (a name or a numeric uid) up; rejects with a one-line reason when there is no such user. */
export function lookUpUser(user: string): Promise<UserIds> {
  return new Promise((resolve, reject) => {
    execFile('getent', ['passwd', user], { timeout: GETENT_TIMEOUT_MS }, (error, stdout) => {
      const [name, , uid, gid, , home] = stdout.trim().split('\n')[0]?.split(':') ?? [];
      if (error || !name || !/^\d+$/.test(uid ?? '') || !/^\d+$/.test(gid ?? ''))
        reject(new Error(`no user ${JSON.stringify(user)} (getent passwd)`));
      else resolve({ name, uid: Number(uid), gid: Number(gid), home: home ?? '/' });
    });
  });
}
