/**
 * Commands of HA resource agents, each in a process group of its own: `/bin/sh -c` is spawned detached (a new
 * session, so its pid is the group's id), whatever it leaves running in the background stays in that group, and a
 * timeout or a fence kills the whole group. A command that double-forks with `setsid` leaves the group and escapes
 * (docs/ha.md "Fencing on a node: the watchdog supervisor").
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import type { HaOpResult } from '../../ha/contract.ts';

/** Bytes of a command's output kept for the log (its last lines). */
export const OUTPUT_TAIL_BYTES = 4096;
/** After the shell exits, how long its output may still arrive (background children keep the pipes open). */
const OUTPUT_SETTLE_MS = 100;
/** Interval of the checks whether a killed group is empty (no event tells about processes that are not children). */
const GROUP_POLL_MS = 10;
/** What `timeout(1)` answers for a command it killed. */
export const EXIT_TIMED_OUT = 124;
const SIGNAL_EXIT_BASE = 128;

export interface GroupCommand {
  file: string;
  args: string[];
  /** Run as this user and group (the caller resolved them). */
  uid?: number;
  gid?: number;
  env?: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Called with the new group's id as soon as it exists, before the command runs to its end. */
  onGroup?: (pgid: number) => void;
}

/** The last `OUTPUT_TAIL_BYTES` of what was appended. */
class OutputTail {
  private chunks: Buffer[] = [];
  private bytes = 0;

  append(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.bytes - (this.chunks[0]?.length ?? 0) >= OUTPUT_TAIL_BYTES) this.bytes -= this.chunks.shift()!.length;
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    return all
      .subarray(Math.max(0, all.length - OUTPUT_TAIL_BYTES))
      .toString('utf8')
      .trimEnd();
  }
}

/**
 * Runs one command in a new process group; resolves with its exit code (128 + signal when killed), whether it
 * timed out (then the whole group was SIGKILLed) and the tail of stdout + stderr. Never rejects: a command that
 * cannot be spawned is exit code 127 with the reason as output.
 */
export function runInGroup(command: GroupCommand): Promise<HaOpResult> {
  return new Promise((resolve) => {
    const tail = new OutputTail();
    const child = spawn(command.file, command.args, {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(command.uid === undefined ? {} : { uid: command.uid }),
      ...(command.gid === undefined ? {} : { gid: command.gid }),
      ...(command.env ? { env: command.env } : {}),
    });
    let timedOut = false;
    let settled = false;
    const finish = (exitCode: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ exitCode, timedOut, output: tail.text() });
    };
    child.stdout.on('data', (chunk: Buffer) => tail.append(chunk));
    child.stderr.on('data', (chunk: Buffer) => tail.append(chunk));
    child.once('error', (error) => {
      tail.append(Buffer.from(`${command.file}: ${error.message}`));
      finish(127);
    });
    const pgid = child.pid;
    if (pgid !== undefined) command.onGroup?.(pgid);
    const timer = setTimeout(() => {
      timedOut = true;
      if (pgid !== undefined) signalGroup(pgid, 'SIGKILL');
    }, command.timeoutMs);
    child.once('exit', (code, signal) => {
      const exitCode = timedOut ? EXIT_TIMED_OUT : (code ?? SIGNAL_EXIT_BASE + signalNumber(signal));
      // Background children of the command hold the pipes open: take what arrives shortly, then stop waiting
      // (the pipes are still read, so a child writing to them never gets SIGPIPE while this process lives).
      const settle = setTimeout(() => {
        for (const stream of [child.stdout, child.stderr]) {
          stream.removeAllListeners('data');
          stream.resume();
          (stream as { unref?: () => void }).unref?.();
        }
        finish(exitCode);
      }, OUTPUT_SETTLE_MS);
      child.once('close', () => {
        clearTimeout(settle);
        finish(exitCode);
      });
    });
  });
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal ? constants.signals[signal] : 0;
}

/** Sends `signal` to every process of group `pgid`; false when the group is gone. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Live (not zombie) processes of group `pgid`, from /proc: a zombie an init that does not reap keeps is gone. */
export function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Fields after the command name: state, ppid, pgrp, …
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z') members.push(Number(name));
    } catch {
      // The process exited while being read.
    }
  }
  return members;
}

/**
 * Stops every process of group `pgid`: SIGTERM, then SIGKILL to what is left after `graceMs`; resolves once no
 * live process of the group remains (true) or, should a process survive SIGKILL (uninterruptible sleep), after
 * another `graceMs` (false).
 */
export async function killGroup(pgid: number, graceMs: number): Promise<boolean> {
  if (!signalGroup(pgid, 'SIGTERM')) return true;
  if (await groupEmptyWithin(pgid, graceMs)) return true;
  signalGroup(pgid, 'SIGKILL');
  return groupEmptyWithin(pgid, graceMs);
}

async function groupEmptyWithin(pgid: number, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  for (;;) {
    if (groupMembers(pgid).length === 0) return true;
    if (performance.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, GROUP_POLL_MS));
  }
}
