/**
 * A recording stand-in for the daemon's HA managers at the `HaControl` seam (src/ha/contract.ts), and an
 * admin socket serving the HA handlers over it, for the admin-surface tests (ipc, client, CLI). It proves the
 * admin side only; the managers themselves are tested with the daemon.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminSocketServer, type Handlers } from '../../src/daemon/admin-socket.ts';
import { broadcastHaEvents, haHandlers } from '../../src/daemon/handlers/ha.ts';
import type { HaControl, HaEvent, HaResourceSettings, HaStatusSnapshot } from '../../src/ha/contract.ts';
import { METHOD_PARAMS } from '../../src/ipc/methods.ts';
import type { StatusV1 } from '../../src/ipc/schema.ts';

/** Three nodes, n1 the manager, n3 fenced; web runs on n1, db failed, vip in recovery. `lastReportAt` on clock 10 000. */
export const haSnapshot: HaStatusSnapshot = {
  quorate: true,
  manager: { nodeId: 1, name: 'n1' },
  nodes: [
    { nodeId: 2, name: 'n2', state: 'maintenance', lrm: 'idle', lastReportAt: 9000 },
    { nodeId: 1, name: 'n1', state: 'online', lrm: 'active', lastReportAt: 9500 },
    { nodeId: 3, name: 'n3', state: 'fence', lrm: 'lost', lastReportAt: null },
  ],
  services: [
    {
      sid: 'exec:web',
      group: 'web',
      nodeId: 1,
      state: 'started',
      requested: 'started',
      restarts: 0,
      relocations: 0,
      message: null,
    },
    {
      sid: 'systemd:db',
      group: null,
      nodeId: null,
      state: 'error',
      requested: 'started',
      restarts: 1,
      relocations: 1,
      message: 'start failed: exit 1',
    },
    {
      sid: 'ip:vip',
      group: 'web',
      nodeId: 3,
      state: 'recovery',
      requested: 'started',
      restarts: 0,
      relocations: 0,
      message: 'n3 fenced',
    },
  ],
  counters: { recoveries: 2, restarts: 3, relocations: 1, fences: 1 },
  managerStatus: { epoch: 12, seq: 340, stored: { epoch: 12, seq: 331 } },
};

/** An error with one of the contract's codes, as the managers may reject a write. */
class CodedError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Records every write; `add` of a section containing `bad` fails with `bad_request` naming line:column. */
export class RecordingHaControl implements HaControl {
  readonly calls: [string, ...unknown[]][] = [];
  private readonly listeners = new Set<(event: HaEvent) => void>();
  snapshot: HaStatusSnapshot = haSnapshot;
  text = 'group: web\n\tresources ip:vip,exec:web\n\tnodes n1:2,n2\n';

  status(): HaStatusSnapshot {
    return this.snapshot;
  }
  resourcesText(): string {
    return this.text;
  }
  async add(section: string): Promise<void> {
    if (section.includes('bad')) throw new CodedError('bad_request', 'resources.cfg 2:2: unknown key bad');
    this.calls.push(['add', section]);
  }
  async remove(sid: string): Promise<void> {
    if (sid === 'exec:missing') throw new CodedError('not_found', 'no service exec:missing');
    this.calls.push(['remove', sid]);
  }
  async set(sid: string, changes: Partial<HaResourceSettings>): Promise<void> {
    this.calls.push(['set', sid, changes]);
  }
  async migrate(sid: string, nodeId: number): Promise<void> {
    if (nodeId === 3) throw new Error('node n3 is fenced');
    this.calls.push(['migrate', sid, nodeId]);
  }
  async relocate(sid: string, nodeId: number): Promise<void> {
    this.calls.push(['relocate', sid, nodeId]);
  }
  async groupSet(section: string): Promise<void> {
    this.calls.push(['groupSet', section]);
  }
  async groupRemove(name: string): Promise<void> {
    this.calls.push(['groupRemove', name]);
  }
  async nodeMaintenance(nodeId: number, on: boolean): Promise<void> {
    this.calls.push(['nodeMaintenance', nodeId, on]);
  }
  onEvent(listener: (event: HaEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(event: HaEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

/** `status` of a three-node cluster n1, n2, n3 (what the CLI resolves node names with). */
export const threeNodeStatus: Pick<StatusV1, 'nodes'> & Record<string, unknown> = {
  nodes: [1, 2, 3].map((nodeid) => ({ nodeid, name: `n${nodeid}`, votes: 1, member: true })),
};

/** An admin socket in a fresh directory serving the HA handlers over `ha` (undefined: HA disabled). */
export async function haAdminSocket(ha: HaControl | undefined): Promise<{
  path: string;
  server: AdminSocketServer;
  close: () => Promise<void>;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'corolink-ha-'));
  const path = join(dir, 'admin.sock');
  const stubs = Object.fromEntries(Object.keys(METHOD_PARAMS).map((method) => [method, () => ({ ok: true })]));
  const handlers = {
    ...stubs,
    status: () => threeNodeStatus,
    subscribe: ({ topics }: { topics: string[] }, connection: { topics: Set<string> }) => {
      for (const topic of topics) connection.topics.add(topic);
      return { ok: true };
    },
    ...haHandlers(() => ha),
  } as unknown as Handlers;
  const server = new AdminSocketServer(path, handlers);
  await server.listen();
  const stopEvents = ha === undefined ? undefined : broadcastHaEvents(ha, server);
  return {
    path,
    server,
    close: async () => {
      stopEvents?.();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
