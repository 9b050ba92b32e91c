/**
 * Admin-socket methods of corosync's cmap and cfg tools: `cmap {prefix?, key?}` (corosync-cmapctl, read-only) and
 * `killNode {nodeid}` (corosync-cfgtool -k, through the ring). Params arrive checked (src/ipc/methods.ts).
 */
import type { CmapV1 } from '../../ipc/schema.ts';
import { AdminError, type Handlers } from '../admin-socket.ts';
import { type CfgService, KillRefusal } from '../cfg-service.ts';
import { type CmapMembers, cmapEntries } from '../cmap.ts';
import type { NodeEngine } from '../engine.ts';

export function cmapHandlers(
  engine: NodeEngine,
  members: CmapMembers,
  cfg: CfgService,
): Pick<Handlers, 'cmap' | 'killNode'> {
  return {
    cmap: ({ prefix = '', key }): CmapV1 => {
      const entries = cmapEntries(engine, members);
      const keys =
        key === undefined ? entries.filter((e) => e.key.startsWith(prefix)) : entries.filter((e) => e.key === key);
      if (key !== undefined && keys.length === 0) throw new AdminError('not_found', `key ${key} does not exist`);
      return { version: 1, local_nodeid: engine.localNodeId, keys };
    },
    killNode: ({ nodeid }) => {
      try {
        cfg.killNode(nodeid);
      } catch (error) {
        if (error instanceof KillRefusal) throw new AdminError(error.code, error.message);
        throw error;
      }
      return { ok: true, nodeid };
    },
  };
}
