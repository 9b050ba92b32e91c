/**
 * The daemon's `HaResourceRunner`: runs one operation of one resource through its agent (exec, systemd, ip) and
 * keeps, per exec resource, the process groups its starts left running — stop kills what the stop command left
 * of them, and the watchdog supervisor gets them to kill when it fences (./watchdog.ts). A bad spec runs nothing.
 */
import { DEFAULT_HA_KILL_GRACE_MS } from '../../config/defaults.ts';
import type { HaOp, HaOpResult, HaResourceRunner, HaResourceSpec } from '../../ha/contract.ts';
import { runExec } from './exec-agent.ts';
import { runIp } from './ip-agent.ts';
import { groupMembers, killGroup } from './process-group.ts';
import { specProblem } from './resource-spec.ts';
import { runSystemd } from './systemd-agent.ts';

/** LSB "program is not configured": the spec is wrong (or its user does not exist); nothing was run. */
export const HA_EXIT_NOT_CONFIGURED = 6;

export interface RunnerOptions {
  /** Run exec and ip resources inside this network namespace (the lab's hosts are namespaces of one machine). */
  netns?: string;
  /** SIGTERM → SIGKILL grace when a process group is stopped (default `DEFAULT_HA_KILL_GRACE_MS`). */
  killGraceMs?: number;
}

export class ResourceRunner implements HaResourceRunner {
  /** sid → process groups of its starts that may still hold processes. */
  private readonly groups = new Map<string, number[]>();
  private readonly listeners = new Set<() => void>();
  readonly killGraceMs: number;

  constructor(private readonly options: RunnerOptions = {}) {
    this.killGraceMs = options.killGraceMs ?? DEFAULT_HA_KILL_GRACE_MS;
  }

  async run(op: HaOp, spec: HaResourceSpec): Promise<HaOpResult> {
    const problem = specProblem(spec);
    if (problem) return notConfigured(problem);
    switch (spec.type) {
      case 'exec':
        return this.runExec(op, spec);
      case 'systemd':
        return runSystemd(op, spec);
      case 'ip':
        return runIp(op, spec, this.options.netns);
    }
  }

  /** The process groups exec resource `sid`'s starts left that may still hold processes. */
  processGroups(sid: string): readonly number[] {
    return this.groups.get(sid) ?? [];
  }

  /** Calls `listener` whenever a process group is recorded or dropped; returns the unsubscribe function. */
  onGroupsChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async runExec(op: HaOp, spec: Extract<HaResourceSpec, { type: 'exec' }>): Promise<HaOpResult> {
    const onGroup = (pgid: number) => {
      if (op !== 'start') return;
      // Recorded the moment the group exists: a start that hangs is killed by a fence too.
      const live = this.processGroups(spec.sid).filter((g) => groupMembers(g).length > 0);
      this.setGroups(spec.sid, [...live, pgid]);
    };
    let result: HaOpResult;
    try {
      result = await runExec(op, spec, { ...(this.options.netns ? { netns: this.options.netns } : {}), onGroup });
    } catch (error) {
      return notConfigured(`resource ${JSON.stringify(spec.sid)}: ${(error as Error).message}`);
    }
    if (op !== 'stop') return result;
    // What the stop command left of the starts' groups is killed: a stopped resource holds no process.
    let left = 0;
    for (const pgid of this.processGroups(spec.sid)) if (!(await killGroup(pgid, this.killGraceMs))) left++;
    this.setGroups(spec.sid, []);
    if (left === 0) return result;
    return {
      ...result,
      exitCode: result.exitCode || 1,
      output: `${result.output}\n${left} process group(s) survived SIGKILL`,
    };
  }

  private setGroups(sid: string, groups: number[]): void {
    if (groups.length === 0) this.groups.delete(sid);
    else this.groups.set(sid, groups);
    for (const listener of this.listeners) listener();
  }
}

function notConfigured(message: string): HaOpResult {
  return { exitCode: HA_EXIT_NOT_CONFIGURED, timedOut: false, output: message };
}
