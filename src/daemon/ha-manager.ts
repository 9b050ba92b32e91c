/**
 * The daemon's side of the HA managers: it builds the HA service engine (./ha-engine.ts) for the stack, runs the
 * commands its local manager asks for through the injected `HaResourceRunner` (one command at a time per resource;
 * `stopAll` after whatever runs), keeps the injected `HaWatchdog` fed and told which resources are active, keeps
 * `ha/resources.cfg` in the replicated store, writes the manager status there (`ha/manager_status`) when the
 * core asks (it is the elected manager and the status changed) and starts the core from it, and answers the admin
 * side (`HaControl`).
 */
import type { CfsResult } from '../cfs/core.ts';
import { HA_SHUTDOWN_ANNOUNCE_WAIT_MS, type HaTimings } from '../config/defaults.ts';
import type {
  HaControl,
  HaEvent,
  HaOpResult,
  HaResourceRunner,
  HaResourceSettings,
  HaResourceSpec,
  HaStatusSnapshot,
  HaWatchdog,
} from '../ha/contract.ts';
import { type AdminRequest, type HaTable, isTable } from '../ha/messages.ts';
import {
  addSections,
  emptyResources,
  type HaResourcesConfig,
  parseResources,
  printResources,
} from '../ha/resources-file.ts';
import { HA_SERVICE_ID, HaEngine, type HaEngineOutput, type HaEngineRequest } from './ha-engine.ts';
import type { StackOptions } from './stack.ts';

/** Where the resources live in the replicated store. */
export const HA_RESOURCES_PATH = 'ha/resources.cfg';
/** Where the elected manager keeps the manager status (ha-manager's manager_status), JSON. */
export const HA_MANAGER_STATUS_PATH = 'ha/manager_status';

/** What the manager uses of the replicated store (the daemon's CfsService). */
export interface HaStore {
  get(path: string): { data: Uint8Array } | undefined;
  write(write: { type: 'put'; path: string; data: Uint8Array }): Promise<CfsResult>;
  onChange(listener: () => void): void;
}

/** What the manager uses of the node engine. */
export interface HaEngineHost {
  serviceRequest(service: number, request: unknown): void;
  on(event: 'serviceOutput', listener: (service: number, output: unknown) => void): unknown;
}

export interface HaManagerOptions {
  localNodeId: number;
  nodes: readonly { nodeId: number; name: string | null }[];
  timings: HaTimings;
  runner: HaResourceRunner;
  watchdog: HaWatchdog;
  store: HaStore;
  log: (level: 'notice' | 'warning', message: string) => void;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export class HaManager implements HaControl {
  private haEngine: HaEngine | undefined;
  private host: HaEngineHost | undefined;
  private readonly queues = new Map<string, Promise<void>>();
  /** Resources started here and not stopped since: what the watchdog stops when it fires. */
  private readonly active = new Map<string, HaResourceSpec>();
  private readonly listeners = new Set<(event: HaEvent) => void>();
  private readonly pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  private nextAdmin = 1;
  private closed = false;
  /** The manager status waiting to be written after the write under way (only the newest is kept). */
  private toPersist: HaTable | undefined;
  private persisting = false;
  private onShutdownReady: (() => void) | undefined;

  constructor(private readonly options: HaManagerOptions) {}

  /** The stack's `services` option: the HA engine. */
  readonly services: NonNullable<StackOptions['services']> = ({ payloadBytesMax, quorate }) => {
    const names = new Map(this.options.nodes.map((n) => [n.nodeId, n.name ?? `node ${n.nodeId}`]));
    this.haEngine = new HaEngine(
      {
        localNodeId: this.options.localNodeId,
        timings: this.options.timings,
        nodelist: this.options.nodes.map((n) => n.nodeId),
        nodeName: (id) => names.get(id),
        quorate,
        readConfig: () => this.resourcesText(),
        ...this.storedStatus(),
      },
      payloadBytesMax,
      true,
    );
    return [this.haEngine];
  };

  /** Starts serving once `host` runs the stack built with `services`. */
  attach(host: HaEngineHost): void {
    this.host = host;
    host.on('serviceOutput', (service, output) => {
      if (service === HA_SERVICE_ID) this.onOutput(output as HaEngineOutput);
    });
    this.options.store.onChange(() => this.request({ type: 'configChanged' }));
    this.request({ type: 'attached' });
  }

  /**
   * A clean daemon stop (ha-manager's shutdown): this node stops its units and runs none again, and tells the
   * partition — with `freeze` they wait for this node, frozen, else they are recovered elsewhere after the fence
   * wait. Resolves once the partition applied it (at most HA_SHUTDOWN_ANNOUNCE_WAIT_MS) and the stops finished.
   */
  async shutdown(freeze: boolean, why: string): Promise<void> {
    if (this.host === undefined) return;
    this.options.log('notice', `shutdown: ${freeze ? 'freezing' : 'stopping'} this node's services (${why})`);
    let timer: NodeJS.Timeout | undefined;
    const announced = await Promise.race([
      new Promise<boolean>((resolve) => {
        this.onShutdownReady = () => resolve(true);
        this.request({ type: 'shutdown', freeze });
      }),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), HA_SHUTDOWN_ANNOUNCE_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
    if (!announced) {
      this.options.log('warning', 'shutdown: not announced in time: the cluster will treat this node as lost');
    }
    await Promise.all(this.queues.values());
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const answer of this.pending.values()) answer.reject(new Error('the daemon is stopping'));
    this.pending.clear();
    await this.options.watchdog.close();
  }

  status(): HaStatusSnapshot {
    if (this.haEngine === undefined) throw new Error('the HA managers run on no node engine yet');
    const snapshot = this.haEngine.core.status();
    const stored = this.readStoredStatus();
    snapshot.managerStatus.stored = typeof stored === 'string' ? null : { epoch: stored.epoch, seq: stored.seq };
    return snapshot;
  }

  /** The persisted manager status as the core's `initialTable` (nothing when absent or unreadable: logged). */
  private storedStatus(): { initialTable?: HaTable } {
    const stored = this.readStoredStatus();
    if (typeof stored !== 'string') return { initialTable: stored };
    if (stored !== '') this.options.log('warning', `${HA_MANAGER_STATUS_PATH} not used: ${stored}`);
    return {};
  }

  /** The table in the store, or why not ('' when there is none). */
  private readStoredStatus(): HaTable | string {
    const entry = this.options.store.get(HA_MANAGER_STATUS_PATH);
    if (entry === undefined) return '';
    try {
      const value: unknown = JSON.parse(decoder.decode(entry.data));
      return isTable(value) ? value : 'not a manager status table';
    } catch (error) {
      return `not JSON (${(error as Error).message})`;
    }
  }

  /** Writes the newest table asked for, one write at a time. */
  private async persist(table: HaTable): Promise<void> {
    this.toPersist = table;
    if (this.persisting) return;
    this.persisting = true;
    try {
      while (this.toPersist !== undefined && !this.closed) {
        const data = encoder.encode(JSON.stringify(this.toPersist));
        this.toPersist = undefined;
        const result = await this.options.store
          .write({ type: 'put', path: HA_MANAGER_STATUS_PATH, data })
          .catch((error: Error) => ({ ok: false as const, message: error.message }));
        if (!result.ok) this.options.log('warning', `${HA_MANAGER_STATUS_PATH} not written: ${result.message}`);
      }
    } finally {
      this.persisting = false;
    }
  }

  resourcesText(): string {
    const entry = this.options.store.get(HA_RESOURCES_PATH);
    return entry === undefined ? '' : decoder.decode(entry.data);
  }

  add(section: string): Promise<void> {
    return this.edit((config) => addSections(config, section, false));
  }

  groupSet(section: string): Promise<void> {
    if (!/^group:/m.test(section)) return Promise.reject(new Error('a group section starts with "group: NAME"'));
    return this.edit((config) => addSections(config, section, true));
  }

  remove(sid: string): Promise<void> {
    return this.edit((config) => {
      if (!config.resources.some((r) => r.spec.sid === sid)) throw new Error(`no resource ${sid}`);
      return {
        resources: config.resources.filter((r) => r.spec.sid !== sid),
        groups: config.groups
          .map((g) => ({ ...g, resources: g.resources.filter((s) => s !== sid) }))
          .filter((g) => g.resources.length > 0),
      };
    });
  }

  set(sid: string, changes: Partial<HaResourceSettings>): Promise<void> {
    return this.edit((config) => {
      const resource = config.resources.find((r) => r.spec.sid === sid);
      if (resource === undefined) throw new Error(`no resource ${sid}`);
      resource.settings = { ...resource.settings, ...changes };
      return config;
    });
  }

  groupRemove(name: string): Promise<void> {
    return this.edit((config) => {
      if (!config.groups.some((g) => g.name === name)) throw new Error(`no group ${name}`);
      for (const r of config.resources) if (r.settings.group === name) delete r.settings.group;
      return { resources: config.resources, groups: config.groups.filter((g) => g.name !== name) };
    });
  }

  migrate(sid: string, nodeId: number): Promise<void> {
    return this.admin({ op: 'migrate', unit: this.unitOf(sid), node: nodeId });
  }

  relocate(sid: string, nodeId: number): Promise<void> {
    return this.admin({ op: 'relocate', unit: this.unitOf(sid), node: nodeId });
  }

  nodeMaintenance(nodeId: number, on: boolean): Promise<void> {
    return this.admin({ op: 'maintenance', node: nodeId, on });
  }

  onEvent(listener: (event: HaEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The unit a sid is placed as: its group's, or its own. */
  private unitOf(sid: string): string {
    const parsed = parseResources(this.resourcesText());
    const group = parsed.ok ? parsed.config.resources.find((r) => r.spec.sid === sid)?.settings.group : undefined;
    return group === undefined ? sid : `group:${group}`;
  }

  /** Reads, changes (throwing on a refusal), checks and writes resources.cfg; resolves once the write committed. */
  private async edit(
    change: (config: HaResourcesConfig) => HaResourcesConfig | ReturnType<typeof parseResources>,
  ): Promise<void> {
    const current = parseResources(this.resourcesText());
    const base = current.ok ? current.config : emptyResources();
    const changed = change(structuredClone(base));
    let config: HaResourcesConfig;
    if ('ok' in changed) {
      if (!changed.ok) throw changed.error;
      config = changed.config;
    } else {
      const text = printResources(changed);
      const checked = parseResources(text);
      if (!checked.ok) throw checked.error;
      config = checked.config;
    }
    const result = await this.options.store.write({
      type: 'put',
      path: HA_RESOURCES_PATH,
      data: encoder.encode(printResources(config)),
    });
    if (!result.ok) throw new Error(`ha/resources.cfg not written: ${result.message}`);
  }

  private admin(request: AdminRequest): Promise<void> {
    const id = this.nextAdmin++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.request({ type: 'admin', id, request });
    });
  }

  private request(request: HaEngineRequest): void {
    if (this.host === undefined) throw new Error('the HA managers run on no node engine yet');
    this.host.serviceRequest(HA_SERVICE_ID, request);
  }

  private onOutput(output: HaEngineOutput): void {
    switch (output.type) {
      case 'run':
        this.enqueue(output.spec.sid, async () => {
          const result = await this.runOp(output.op, output.spec);
          if (!this.closed) this.request({ type: 'runResult', id: output.id, result });
        });
        return;
      case 'stopAll':
        this.options.log('notice', `stopping every HA resource of this node (${this.active.size} active)`);
        for (const spec of [...this.active.values()]) {
          this.enqueue(spec.sid, async () => {
            await this.runOp('stop', spec);
          });
        }
        return;
      case 'feed':
        this.options.watchdog.feed();
        return;
      case 'persist':
        void this.persist(output.table);
        return;
      case 'shutdownReady':
        this.onShutdownReady?.();
        return;
      case 'event':
        this.options.log('notice', output.event.message);
        for (const listener of this.listeners) listener(output.event);
        return;
      case 'adminDone': {
        const answer = this.pending.get(output.id);
        this.pending.delete(output.id);
        if (output.error === null) answer?.resolve();
        else answer?.reject(new Error(output.error));
        return;
      }
    }
  }

  /** One command; the watchdog learns a resource before it starts and forgets it once it stopped. */
  private async runOp(op: 'start' | 'stop' | 'monitor', spec: HaResourceSpec): Promise<HaOpResult> {
    if (op === 'start') {
      this.active.set(spec.sid, spec);
      this.options.watchdog.setActive([...this.active.values()]);
    }
    let result: HaOpResult;
    try {
      result = await this.options.runner.run(op, spec);
    } catch (error) {
      result = { exitCode: 1, timedOut: false, output: (error as Error).message };
    }
    if (op === 'stop' && result.exitCode === 0 && !result.timedOut && this.active.delete(spec.sid)) {
      this.options.watchdog.setActive([...this.active.values()]);
    }
    return result;
  }

  /** Runs `task` after every earlier task of the same resource. */
  private enqueue(sid: string, task: () => Promise<void>): void {
    const previous = this.queues.get(sid) ?? Promise.resolve();
    const next = previous.then(task).catch((error: Error) => this.options.log('warning', `${sid}: ${error.message}`));
    this.queues.set(sid, next);
    void next.finally(() => {
      if (this.queues.get(sid) === next) this.queues.delete(sid);
    });
  }
}
