// Runs Debian's corosync-qnetd in the foreground on 127.0.0.1 for a test: a free port, its lock file and IPC
// socket in a private directory, stopped by PID.
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const READY_MS = 15_000;

/** Why the live qnetd tests cannot run here, or null. */
export function qnetdSkipReason(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (corosync-qnetd as root, like the lab)';
  if (spawnSync('corosync-qnetd', ['-h']).error)
    return 'corosync-qnetd is not installed (apt-get install corosync-qnetd)';
  return null;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export interface Qnetd {
  port: number;
  socket: string;
  dir: string;
  output(): string;
  /** `corosync-qnetd-tool` against this instance's IPC socket. */
  tool(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts `corosync-qnetd -f -d` with extra arguments (`-s off`, or an NSS db through `nss_db_dir=…`), on a free
 * port or the given one (a restart).
 */
export async function startQnetd(extra: readonly string[], at: { port?: number } = {}): Promise<Qnetd> {
  const home = mkdtempSync(join(tmpdir(), 'corolink-qnetd-'));
  const port = at.port ?? (await freePort());
  const socket = join(home, 'qnetd.sock');
  const settings = [`lock_file=${join(home, 'qnetd.pid')}`, `local_socket_file=${socket}`];
  const nss = extra.find((a) => a.startsWith('nss_db_dir='));
  const args = [
    '-f',
    '-d',
    '-l',
    '127.0.0.1',
    '-p',
    String(port),
    ...extra.filter((a) => a !== nss),
    '-S',
    [...settings, ...(nss ? [nss] : [])].join(','),
  ];
  const child: ChildProcess = spawn('corosync-qnetd', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`corosync-qnetd not ready in ${READY_MS} ms:\n${output}`)),
      READY_MS,
    );
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('QNetd ready to provide service')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`corosync-qnetd exited (${code}):\n${output}`));
    });
  });
  try {
    await ready;
  } catch (error) {
    if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
    await exited;
    rmSync(home, { recursive: true, force: true });
    throw error;
  }
  return {
    port,
    socket,
    dir: home,
    output: () => output,
    tool: async (...toolArgs) => (await run('corosync-qnetd-tool', [...toolArgs, '-p', socket])).stdout,
    stop: async () => {
      if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
      await exited;
      rmSync(home, { recursive: true, force: true });
    },
  };
}
