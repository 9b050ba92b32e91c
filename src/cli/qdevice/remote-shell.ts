/**
 * Commands on the qnetd host and the other nodes, the way pvecm and corosync-qdevice-net-certutil -Q run them: a
 * remote shell (`ssh -o BatchMode=yes -l root`, or another command given like certutil's `-S`) called as
 * `<command…> <host> <script>`, with the script's stdin and stdout as bytes. Every call is bounded in time.
 */
import { spawn } from 'node:child_process';
import { CliError, ExitCode } from '../exit-codes.ts';

/** The remote shell pvecm uses (no password prompt: a key must be set up, as for pvecm). */
export const SSH_COMMAND_DEFAULT = 'ssh -o BatchMode=yes -o ConnectTimeout=10 -l root';
/** Time limit of one remote call (signing a request on the qnetd host takes well under a second). */
const REMOTE_CALL_TIMEOUT_MS = 60_000;

/** Quotes `text` as one word for a POSIX shell. */
export function shellQuote(text: string): string {
  return /^[A-Za-z0-9_./=:@%+-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

export class RemoteShell {
  /** The command words, e.g. `['ssh', '-o', 'BatchMode=yes', …]`. */
  readonly command: string[];

  constructor(commandLine: string) {
    this.command = commandLine.trim().split(/\s+/).filter(Boolean);
    if (this.command.length === 0) throw new CliError('--ssh-command is empty', ExitCode.usage);
  }

  /** Runs `script` on `host`; resolves with its stdout, rejects naming host, script, exit status and stderr. */
  run(host: string, script: string, input?: Uint8Array): Promise<Buffer> {
    const [file, ...args] = this.command;
    return new Promise((resolve, reject) => {
      const child = spawn(file!, [...args, host, script], { stdio: ['pipe', 'pipe', 'pipe'] });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      const timer = setTimeout(() => child.kill('SIGKILL'), REMOTE_CALL_TIMEOUT_MS);
      child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      child.stdin.on('error', () => undefined); // a remote side that exits early; its status says why
      child.stdin.end(input ?? Buffer.alloc(0));
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(new Error(`${this.command[0]} ${host}: ${error.message}`));
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) return resolve(Buffer.concat(stdout));
        const why = signal ? `killed after ${REMOTE_CALL_TIMEOUT_MS / 1000} s` : `exit status ${code}`;
        const text = Buffer.concat(stderr).toString().trim().split('\n').slice(-3).join(' / ');
        reject(new Error(`${this.command[0]} ${host} '${script}': ${why}${text ? `: ${text}` : ''}`));
      });
    });
  }
}
