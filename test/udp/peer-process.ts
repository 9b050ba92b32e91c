import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import type { PeerCommand, PeerProcessConfig } from './peer-config.ts';

const PEER_SCRIPT = fileURLToPath(new URL('./peer.ts', import.meta.url));
/** How long `stop` waits for a clean exit before killing the child. */
const STOP_GRACE_MS = 2000;

/** One JSON event printed by a child peer. */
export type PeerEvent = { event: string } & Record<string, unknown>;

/** A child peer process (test/udp/peer.ts) and the events it printed. */
export class PeerProcess {
  readonly events: PeerEvent[] = [];
  readonly stderr: string[] = [];
  private readonly waiters = new Set<() => void>();
  private exited = false;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    let buffered = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        this.events.push(JSON.parse(buffered.slice(0, newline)) as PeerEvent);
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf('\n');
      }
      for (const wake of this.waiters) wake();
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => this.stderr.push(chunk));
    child.on('exit', () => {
      this.exited = true;
      for (const wake of this.waiters) wake();
    });
  }

  /** Starts `node --import tsx test/udp/peer.ts <config>`. */
  static spawn(config: PeerProcessConfig): PeerProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', PEER_SCRIPT, JSON.stringify(config)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return new PeerProcess(child);
  }

  /** The child's process id. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Sends one command line. */
  send(command: PeerCommand): void {
    this.child.stdin.write(`${JSON.stringify(command)}\n`);
  }

  /** The first event (already printed or future, after index `from`) matching `predicate`; rejects after `timeoutMs`. */
  waitFor(predicate: (event: PeerEvent) => boolean, timeoutMs: number, what: string, from = 0): Promise<PeerEvent> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.events.slice(from).find(predicate);
        if (found !== undefined) finish(() => resolve(found));
        else if (this.exited) finish(() => reject(new Error(`peer exited before ${what}: ${this.stderr.join('')}`)));
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`timeout (${timeoutMs} ms) waiting for ${what}: ${this.stderr.join('')}`))),
        timeoutMs,
      );
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        settle();
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Sends `command` and waits for the reply event named `reply` printed after it. */
  async request(command: PeerCommand, reply: string, timeoutMs: number): Promise<PeerEvent> {
    const from = this.events.length;
    this.send(command);
    return this.waitFor((event) => event.event === reply, timeoutMs, reply, from);
  }

  /** Asks the child to exit; kills it by pid if it has not exited within STOP_GRACE_MS. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    try {
      this.send({ cmd: 'exit' });
    } catch {
      // stdin already closed: the kill below ends it
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }
}

/** A free UDP port on each address (bound to port 0 by the kernel, then released). */
export async function freePorts(addresses: string[]): Promise<number[]> {
  const ports: number[] = [];
  for (const address of addresses) {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, address, () => resolve());
    });
    ports.push(socket.address().port);
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
  return ports;
}
