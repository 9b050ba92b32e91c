/** Shapes of the cluster-config methods of the admin socket (docs/reconfiguration.md). */
import type { ConfigChangePlan } from '../config/index.ts';
import type { LinkProbeResult } from '../ipc/methods.ts';

/** `configGet`: the running corosync.conf. */
export interface ConfigText {
  text: string;
  config_version: number;
}

/** `configPropose`: the plan, whether it was committed, and the config_version now running on this node. */
export interface ConfigProposal {
  plan: ConfigChangePlan;
  /** What the reachability probe of each added link found, per node and pair (empty without an added link). */
  probe: LinkProbeResult[];
  applied: boolean;
  config_version: number;
}

/** `configHistory`: one stored version of the cluster config. */
export interface ConfigVersionInfo {
  config_version: number;
  /** When it was stored (ms since the epoch; 0 when unknown). */
  mtime: number;
  size: number;
  current: boolean;
}

/** `joinTokenCreate`: a one-time join token for `corolink add` (docs/reconfiguration.md). */
export type { JoinTokenInfo, LinkProbeResult } from '../ipc/methods.ts';
