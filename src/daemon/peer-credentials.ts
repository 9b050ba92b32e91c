/**
 * Who is on the other end of a Unix socket connection (Linux): the application socket admits a process by its
 * user and groups, as libqb admits corosync's IPC clients by SO_PEERCRED. Node has no getsockopt; the `sockopt`
 * addon (an optional dependency) has one, but it reads only an int. So: SO_PEERPIDFD (Linux 6.5) gives a pidfd of
 * the peer, /proc/self/fdinfo/<pidfd> its pid, /proc/<pid>/status its uid, gid and groups; the pidfd's pid read
 * again after the status proves the status was that process's (a pid is not reused while the process is alive).
 * The ids are the process's now, not at connect time: a process that dropped privileges is seen as it is.
 */
import { closeSync, readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { optionalModule } from '../base/lazy-module.ts';

/** The credentials of the process at the other end of a connection. */
export interface PeerCredentials {
  pid: number;
  /** Effective user and group ids. */
  uid: number;
  gid: number;
  /** Supplementary groups. */
  groups: number[];
}

const SOL_SOCKET = 1;
/** `SO_PEERPIDFD` (linux/include/uapi/asm-generic/socket.h). */
const SO_PEERPIDFD = 77;

type Sockopt = { getsockopt(socket: Socket, level: number, name: number): number };
/** The addon, or why it cannot be loaded (then no peer can be identified: the application socket admits nobody). */
const loadSockopt: () => Sockopt | Error = optionalModule(
  () => 'sockopt',
  (cause) => `the optional sockopt addon is unavailable: ${cause}`,
);

/** Whether peers can be identified on this host; the reason why not otherwise. */
export function peerCredentialsProblem(): string | undefined {
  const loaded = loadSockopt();
  return loaded instanceof Error ? loaded.message : undefined;
}

/** The `Pid:` of a pidfd: the process id, or 0/-1 once the process is gone. */
function pidOfPidfd(pidfd: number): number {
  const match = /^Pid:\s*(-?\d+)$/m.exec(readFileSync(`/proc/self/fdinfo/${pidfd}`, 'utf8'));
  return match ? Number(match[1]) : -1;
}

/** `Uid:`/`Gid:` lines hold real, effective, saved and filesystem ids; `Groups:` the supplementary groups. */
function idsOfStatus(status: string): { uid: number; gid: number; groups: number[] } | undefined {
  const uid = /^Uid:\s+\d+\s+(\d+)/m.exec(status);
  const gid = /^Gid:\s+\d+\s+(\d+)/m.exec(status);
  const groups = /^Groups:(.*)$/m.exec(status);
  if (!uid || !gid || !groups) return undefined;
  return {
    uid: Number(uid[1]),
    gid: Number(gid[1]),
    groups: groups[1]!.trim().split(/\s+/).filter(Boolean).map(Number),
  };
}

/** The peer's credentials, or why they cannot be known (the connection is then refused). */
export function peerCredentials(socket: Socket): PeerCredentials | { problem: string } {
  const loaded = loadSockopt();
  if (loaded instanceof Error) return { problem: loaded.message };
  let pidfd: number;
  try {
    pidfd = loaded.getsockopt(socket, SOL_SOCKET, SO_PEERPIDFD);
  } catch (error) {
    return { problem: `SO_PEERPIDFD: ${(error as Error).message}` };
  }
  try {
    const pid = pidOfPidfd(pidfd);
    if (pid <= 0) return { problem: 'the peer process has exited' };
    const ids = idsOfStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (pidOfPidfd(pidfd) !== pid) return { problem: 'the peer process has exited' };
    if (ids === undefined) return { problem: `/proc/${pid}/status has no Uid/Gid/Groups lines` };
    return { pid, ...ids };
  } catch (error) {
    return { problem: `cannot read the peer's credentials: ${(error as Error).message}` };
  } finally {
    closeSync(pidfd);
  }
}
