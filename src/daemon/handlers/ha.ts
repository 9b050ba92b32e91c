/**
 * Admin-socket methods of the HA managers (docs/ha.md "Admin tools"): `haStatus`, `haResources`, `haAdd`,
 * `haRemove`, `haSet`, `haMigrate`, `haRelocate`, `haGroupSet`, `haGroupRemove`, `haNodeMaintenance`, and the
 * `ha` event topic. They drive the daemon's `HaControl` (src/ha/contract.ts); a node without HA answers
 * `refused` for every one of them. Params arrive checked (src/ipc/methods.ts); writes answer once agreed.
 */
import { performance } from 'node:perf_hooks';
import type { HaControl, HaEvent, HaResourceSettings, HaStatusSnapshot } from '../../ha/contract.ts';
import type { ErrorCode } from '../../ipc/methods.ts';
import { CONTRACT_VERSION, type HaEventV1, type HaStatusV1 } from '../../ipc/schema.ts';
import { AdminError, type AdminSocketServer, type Handlers } from '../admin-socket.ts';

export const HA_DISABLED_MESSAGE = 'HA is not enabled on this node';

/** The wire shape of a status snapshot (`now`: the daemon clock `lastReportAt` is read on). */
export function haStatusJson(snapshot: HaStatusSnapshot, now: number = performance.now()): HaStatusV1 {
  return {
    version: CONTRACT_VERSION,
    quorate: snapshot.quorate,
    manager: snapshot.manager && { nodeid: snapshot.manager.nodeId, name: snapshot.manager.name },
    nodes: snapshot.nodes.map((node) => ({
      nodeid: node.nodeId,
      name: node.name,
      state: node.state,
      lrm: node.lrm,
      last_report_ms: node.lastReportAt === null ? null : Math.max(0, Math.round(now - node.lastReportAt)),
    })),
    services: snapshot.services.map((service) => ({
      sid: service.sid,
      group: service.group,
      nodeid: service.nodeId,
      state: service.state,
      requested: service.requested,
      restarts: service.restarts,
      relocations: service.relocations,
      message: service.message,
    })),
    counters: { ...snapshot.counters },
    manager_status: {
      epoch: snapshot.managerStatus.epoch,
      seq: snapshot.managerStatus.seq,
      stored: snapshot.managerStatus.stored && { ...snapshot.managerStatus.stored },
    },
  };
}

/** The wire shape of an HA event. */
export function haEventJson(event: HaEvent): HaEventV1 {
  return {
    sid: event.sid,
    nodeid: event.nodeId,
    message: event.message,
    ...(event.state === undefined ? {} : { state: event.state }),
  };
}

/** Sends every HA event to the connections subscribed to `ha`; returns the unsubscribe. */
export function broadcastHaEvents(ha: HaControl, admin: Pick<AdminSocketServer, 'broadcast'>): () => void {
  return ha.onEvent((event) => admin.broadcast('ha', haEventJson(event)));
}

type HaHandlers = Pick<
  Handlers,
  | 'haStatus'
  | 'haResources'
  | 'haAdd'
  | 'haRemove'
  | 'haSet'
  | 'haMigrate'
  | 'haRelocate'
  | 'haGroupSet'
  | 'haGroupRemove'
  | 'haNodeMaintenance'
>;

const OK = { ok: true };
const ERROR_CODES: ReadonlySet<string> = new Set<ErrorCode>(['bad_request', 'not_found', 'not_quorate', 'refused']);

/**
 * A write the managers turned down, as an admin error: its `code` when it carries one of the contract's codes
 * (e.g. `bad_request` for a section that does not parse), else `refused`; the message is kept.
 */
function refusedWrite(error: unknown): never {
  if (error instanceof AdminError) throw error;
  const code = (error as { code?: unknown } | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  throw new AdminError(typeof code === 'string' && ERROR_CODES.has(code) ? (code as ErrorCode) : 'refused', message);
}

/** The handlers over `ha()`, read at every request (undefined: HA is not enabled on this node). */
export function haHandlers(ha: () => HaControl | undefined): HaHandlers {
  const control = (): HaControl => {
    const current = ha();
    if (current === undefined) throw new AdminError('refused', HA_DISABLED_MESSAGE);
    return current;
  };
  const write = async (change: (control: HaControl) => Promise<void>) => {
    const current = control();
    try {
      await change(current);
    } catch (error) {
      refusedWrite(error);
    }
    return OK;
  };
  return {
    haStatus: () => haStatusJson(control().status()),
    haResources: () => ({ text: control().resourcesText() }),
    haAdd: ({ section }) => write((c) => c.add(section)),
    haRemove: ({ sid }) => write((c) => c.remove(sid)),
    haSet: ({ sid, state, max_restart: maxRestart, max_relocate: maxRelocate, group, comment }) => {
      const changes: Partial<HaResourceSettings> = {
        ...(state === undefined ? {} : { state }),
        ...(maxRestart === undefined ? {} : { maxRestart }),
        ...(maxRelocate === undefined ? {} : { maxRelocate }),
        ...(group === undefined ? {} : { group }),
        ...(comment === undefined ? {} : { comment }),
      };
      if (Object.keys(changes).length === 0) {
        throw new AdminError(
          'bad_request',
          'haSet needs at least one of state, max_restart, max_relocate, group, comment',
        );
      }
      return write((c) => c.set(sid, changes));
    },
    haMigrate: ({ sid, node }) => write((c) => c.migrate(sid, node)),
    haRelocate: ({ sid, node }) => write((c) => c.relocate(sid, node)),
    haGroupSet: ({ section }) => write((c) => c.groupSet(section)),
    haGroupRemove: ({ name }) => write((c) => c.groupRemove(name)),
    haNodeMaintenance: ({ node, on }) => write((c) => c.nodeMaintenance(node, on)),
  };
}
