/**
 * The application socket (docs/security.md, "The application socket"): the admin socket's contract, for the users
 * and groups of `uidgid { }` besides root and the daemon's user, with the application methods only (METHOD_ACCESS
 * in src/ipc/methods.ts). Each connection is admitted by its peer's credentials; a refusal is counted and logged
 * (the first per user at once, the rest summed up every 10 s).
 */
import { rmdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { type CheckedConfig, formatDiagnostic, loadUidgidDir } from '../config/index.ts';
import { AdminSocketServer, type Handlers } from './admin-socket.ts';
import { type AppAccess, appAccessAllows, resolveAppAccess } from './app-access.ts';
import type { Logger } from './log.ts';
import { LogSummary } from './log-summary.ts';
import { peerCredentials, peerCredentialsProblem } from './peer-credentials.ts';
import { ensureAppDir, PrivatePathError } from './private-fs.ts';

/** Who the application socket admits and how it is described in the log; throws a one-line Error on a bad uidgid. */
export async function appAccessOf(checked: CheckedConfig, configPath: string, logger: Logger): Promise<AppAccess> {
  const fromDir = await loadUidgidDir(configPath);
  const errors = fromDir.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) throw new Error(`a uidgid file is not valid:\n${errors.map(formatDiagnostic).join('\n')}`);
  const access = await resolveAppAccess([...checked.config.uidgid, ...fromDir.entries]);
  for (const warning of access.warnings) logger.log('warning', 'MAIN', warning);
  return access;
}

/** Opens the application socket at `path`; `close()` also removes its folder when that is left empty. */
export async function openAppSocket(
  path: string,
  handlers: Handlers,
  access: AppAccess,
  logger: Logger,
): Promise<{ server: AdminSocketServer; close(): Promise<void> }> {
  const dir = dirname(path);
  try {
    const note = ensureAppDir(dir, 'the application socket directory');
    if (note !== undefined) logger.log('warning', 'MAIN', note);
  } catch (error) {
    if (error instanceof PrivatePathError) throw error;
    throw new Error(`cannot make the application socket directory ${dir}: ${(error as Error).message}`);
  }
  const unavailable = peerCredentialsProblem();
  if (unavailable !== undefined) {
    logger.log('warning', 'MAIN', `the application socket admits nobody: peers cannot be identified (${unavailable})`);
  }
  const refusals = new LogSummary((message) => logger.log('warning', 'MAIN', message));
  const daemonUid = process.geteuid?.() ?? 0;
  const server = new AdminSocketServer(path, handlers, {
    admit: (socket) => {
      const peer = peerCredentials(socket);
      let reason: string;
      let who: string;
      if ('problem' in peer) {
        who = 'unknown';
        reason = `application socket: refused a connection: ${peer.problem}`;
      } else {
        if (appAccessAllows(access, peer, daemonUid)) return undefined;
        who = `uid ${peer.uid}`;
        reason = `application socket: refused pid ${peer.pid} (uid ${peer.uid}, gid ${peer.gid}): not root, not the daemon's user, not in any uidgid section`;
      }
      refusals.note(
        who,
        reason,
        (count, seconds) =>
          `${count} more connections of ${who} refused on the application socket in the last ${seconds} s`,
      );
      return reason;
    },
  });
  await server.listen();
  const listed = [...[...access.uids].map((uid) => `uid ${uid}`), ...[...access.gids].map((gid) => `gid ${gid}`)];
  logger.log(
    'notice',
    'MAIN',
    `application socket ${path}: root, the daemon's user${listed.length > 0 ? `, ${listed.join(', ')}` : ''}`,
  );
  return {
    server,
    close: async () => {
      refusals.close();
      await server.close();
      try {
        rmdirSync(dir);
      } catch {
        // Not empty (another daemon's socket) or gone: left as it is.
      }
    },
  };
}
