/** Bounded external commands for the lab (`ip`, `tc`): every call has a time limit and fails with its stderr. */
import { execFile, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Time limit of one `ip`/`tc` call. */
const COMMAND_TIMEOUT_MS = 10_000;

/** Runs `file args…`, resolves with stdout; rejects with the command line and stderr on failure or timeout. */
export function run(file: string, args: string[], timeoutMs = COMMAND_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      if (error) {
        const why = error.killed ? `timed out after ${timeoutMs} ms` : stderr.trim() || error.message;
        reject(new Error(`${file} ${args.join(' ')}: ${why}`));
      } else resolve(stdout);
    });
  });
}

/** A command started in advance that runs when fired (see `armIp`). */
export interface ArmedCommand {
  /** Runs it now; resolves when it has run, rejects with its stderr when it failed. */
  fire(): Promise<void>;
  /** Stops it unrun (a no-op after `fire`). */
  disarm(): void;
  /** The waiting `ip` process, or undefined when it could not be started. */
  readonly pid: number | undefined;
}

/**
 * `ip args…` in the root namespace, started now (as `ip -batch -`, waiting for its command on stdin) and run when
 * fired: firing costs the caller one pipe write instead of a process spawn, which blocks the caller's event loop
 * for milliseconds on a busy machine — a benchmark that times its own traffic around the fault must not pay that.
 * Killed after `timeoutMs` whether fired or not.
 */
export function armIp(args: string[], timeoutMs = COMMAND_TIMEOUT_MS): ArmedCommand {
  const child = spawn('ip', ['-batch', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  child.stdin.on('error', () => undefined); // the process died unfired: `fire` reports it from the exit code
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', () => resolve(null));
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  let fired = false;
  return {
    fire: async () => {
      fired = true;
      child.stdin.end(`${args.join(' ')}\n`);
      const code = await exited;
      if (code !== 0) throw new Error(`ip ${args.join(' ')}: ${stderr.trim() || `exit ${code}`}`);
    },
    disarm: () => {
      if (!fired) child.kill('SIGKILL');
    },
    pid: child.pid,
  };
}

/** `ip args…` in the root namespace. */
export function ip(...args: string[]): Promise<string> {
  return run('ip', args);
}

/** `ip args…` inside namespace `ns`. */
export function ipIn(ns: string, ...args: string[]): Promise<string> {
  return run('ip', ['-n', ns, ...args]);
}

/** `tc args…` inside namespace `ns`. */
export function tcIn(ns: string, ...args: string[]): Promise<string> {
  return run('ip', ['netns', 'exec', ns, 'tc', ...args]);
}

/** True when `name` is an executable in $PATH. */
export function onPath(name: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Why the lab cannot run here (not root, no `ip`/`tc`), or undefined when it can. */
export function labUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return 'the lab needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'the lab needs root (network namespaces, veths and bridges)';
  if (!onPath('ip')) return 'the lab needs the `ip` command (apt-get install iproute2)';
  if (!onPath('tc')) return 'the lab needs the `tc` command (apt-get install iproute2)';
  return undefined;
}
