/**
 * `exec` resources: start, stop and monitor are shell command lines (`/bin/sh -c`) with LSB-like exit codes, run
 * as the configured user, each in a new process group. The start's group is what the resource left running; the
 * runner records it for stop and for the watchdog supervisor.
 */
import type { HaOp, HaOpResult, HaResourceSpec } from '../../ha/contract.ts';
import { runInGroup } from './process-group.ts';
import { lookUpUser } from './user.ts';

type ExecSpec = Extract<HaResourceSpec, { type: 'exec' }>;

export interface ExecOptions {
  /** Run inside this network namespace (`ip netns exec`; the lab's hosts); not with `user`. */
  netns?: string;
  onGroup: (pgid: number) => void;
}

/** Runs `op`'s command line of `spec`; rejects (nothing run) when its user does not exist or cannot be used. */
export async function runExec(op: HaOp, spec: ExecSpec, options: ExecOptions): Promise<HaOpResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, COROLINK_HA_SID: spec.sid, COROLINK_HA_OP: op };
  let ids: { uid: number; gid: number } | undefined;
  if (spec.user !== undefined) {
    if (options.netns) throw new Error('a user cannot be set for resources run in a lab namespace');
    const user = await lookUpUser(spec.user);
    ids = { uid: user.uid, gid: user.gid };
    Object.assign(env, { USER: user.name, LOGNAME: user.name, HOME: user.home });
  }
  const shell = ['/bin/sh', '-c', spec[op]];
  const [file, ...args] = options.netns ? ['ip', 'netns', 'exec', options.netns, ...shell] : shell;
  return runInGroup({ file: file!, args, env, timeoutMs: spec.timeoutMs, ...ids, onGroup: options.onGroup });
}
