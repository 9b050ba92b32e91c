/**
 * The HA managers through the admin socket (docs/ha.md "Admin tools", docs/client.md "HA"): `client.ha.status()`,
 * the resource and group edits, migrate/relocate, node maintenance, and HA events. Writes resolve once the change
 * was agreed cluster-wide; a node without HA rejects every call with code `refused`.
 */
import type { HaEventV1, HaStatusV1 } from '../ipc/schema.ts';

/** A resource's settings beside its type-specific part (resources.cfg `state`, `max_restart`, …). */
export interface HaSettings {
  state?: 'started' | 'stopped' | 'disabled' | 'ignored';
  maxRestart?: number;
  maxRelocate?: number;
  group?: string;
  comment?: string;
}

type Call = (method: string, params: Record<string, unknown>) => Promise<unknown>;
type Listen = (listener: (event: HaEventV1) => void) => Promise<() => void>;

export class HaClient {
  constructor(
    private readonly call: Call,
    private readonly listen: Listen,
  ) {}

  /** What `corolink ha status` shows: quorum, the manager node, every node's local manager, every service. */
  status(): Promise<HaStatusV1> {
    return this.call('haStatus', {}) as Promise<HaStatusV1>;
  }

  /** The text of `ha/resources.cfg`. */
  async resources(): Promise<string> {
    return ((await this.call('haResources', {})) as { text: string }).text;
  }

  /** Adds a resource given as one resources.cfg section (`exec: web` and its indented keys). */
  async add(section: string): Promise<void> {
    await this.call('haAdd', { section });
  }

  async remove(sid: string): Promise<void> {
    await this.call('haRemove', { sid });
  }

  /** Changes a resource's settings (at least one). */
  async set(sid: string, settings: HaSettings): Promise<void> {
    const { state, maxRestart, maxRelocate, group, comment } = settings;
    await this.call('haSet', {
      sid,
      ...(state === undefined ? {} : { state }),
      ...(maxRestart === undefined ? {} : { max_restart: maxRestart }),
      ...(maxRelocate === undefined ? {} : { max_relocate: maxRelocate }),
      ...(group === undefined ? {} : { group }),
      ...(comment === undefined ? {} : { comment }),
    });
  }

  /** Moves a service to node `nodeid` (stop here, then start there). */
  async migrate(sid: string, nodeid: number): Promise<void> {
    await this.call('haMigrate', { sid, node: nodeid });
  }

  /** Moves a service to node `nodeid` by stopping and starting it (ha-manager's relocate). */
  async relocate(sid: string, nodeid: number): Promise<void> {
    await this.call('haRelocate', { sid, node: nodeid });
  }

  /** Adds or replaces a group given as one resources.cfg section (`group: web` and its keys). */
  async groupSet(section: string): Promise<void> {
    await this.call('haGroupSet', { section });
  }

  async groupRemove(name: string): Promise<void> {
    await this.call('haGroupRemove', { name });
  }

  /** Puts node `nodeid` in maintenance (its services move away and stay away) or takes it out. */
  async nodeMaintenance(nodeid: number, on: boolean): Promise<void> {
    await this.call('haNodeMaintenance', { node: nodeid, on });
  }

  /** Calls `listener` for every HA state change; resolves, once subscribed, to a function that stops it. */
  onEvent(listener: (event: HaEventV1) => void): Promise<() => void> {
    return this.listen(listener);
  }
}
