/** Bounded external commands for the lab (`ip`, `tc`): every call has a time limit and fails with its stderr. */
import { execFile } from 'node:child_process';
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
