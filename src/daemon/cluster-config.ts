/**
 * The cluster's corosync.conf lives in the replicated store (docs/cfs.md) under `corosync.conf`, as Proxmox keeps
 * it in /etc/pve. Every node applies a committed version with a higher config_version live (links opened, closed,
 * re-tuned), rewrites its local file atomically and logs what needs a restart. Changes enter only through
 * `propose`, which plans them against the running config (src/config/change-plan.ts) and refuses unsafe ones
 * before anything is written. docs/reconfiguration.md.
 */
import type { CfsResult } from '../cfs/core.ts';
import {
  type CheckedConfig,
  type ConfigChangePlan,
  type ConfigStamp,
  checkConfigText,
  planConfigChange,
  printConfig,
} from '../config/index.ts';
import type { LinkProbeResult } from '../ipc/methods.ts';
import { writeFileAtomic } from './atomic-file.ts';
import type { CfsService } from './cfs-service.ts';
import type { NodeEngine } from './engine.ts';
import type { LinkProbeService } from './link-probe.ts';
import type { Logger } from './log.ts';

/** The store path of the cluster-wide corosync.conf. */
export const CLUSTER_CONFIG_PATH = 'corosync.conf';
/** Earlier versions, kept in the store as `config-history/<config_version>.conf` (for history and rollback). */
const HISTORY_PREFIX = 'config-history/';

/** One version of the cluster config. */
export interface ConfigVersionInfo {
  config_version: number;
  /** When it was committed (ms since the epoch). */
  mtime: number;
  size: number;
  current: boolean;
}

/** How often, and how many times, a node kept out of the membership asks a node for the cluster's config. */
const CONFIG_REQUEST_INTERVAL_MS = 2000;
const CONFIG_REQUEST_ATTEMPTS = 30;

/** The point-to-point messages of the config exchange (JSON). */
type PeerMessage = { type: 'configRequest' } | { type: 'config'; text: string };

function encodePeerMessage(message: PeerMessage): Uint8Array {
  return Buffer.from(JSON.stringify(message));
}

function decodePeerMessage(payload: Uint8Array): PeerMessage | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(payload).toString('utf8'));
    if (typeof value !== 'object' || value === null) return undefined;
    const { type, text } = value as { type?: unknown; text?: unknown };
    if (type === 'configRequest') return { type };
    if (type === 'config' && typeof text === 'string') return { type, text };
  } catch {
    // not JSON: malformed
  }
  return undefined;
}

/** The outcome of a proposal: the plan, and the store version when it was committed. */
export interface ProposalResult {
  plan: ConfigChangePlan;
  /** What the reachability probe of each added link found (empty when no link is added or the plan failed first). */
  probe: LinkProbeResult[];
  committed: CfsResult | null;
}

export class ClusterConfigService {
  private runningText: string;
  /** The store version of corosync.conf last looked at (0: none yet). */
  private seenVersion = 0;
  private applying: Promise<void> = Promise.resolve();
  /** A seeding write is in flight (quorum events come in bursts: one write is enough). */
  private seeding = false;
  /** The retry timer of each node this node is asking for the cluster's config. */
  private readonly asking = new Map<number, NodeJS.Timeout>();
  readonly counters = { malformedPeerMessages: 0 };

  constructor(
    private readonly engine: NodeEngine,
    private readonly cfs: CfsService,
    private readonly configPath: string,
    private readonly logger: Logger,
    private readonly probe: LinkProbeService,
  ) {
    this.runningText = printConfig(engine.checked.tree);
    cfs.onChange(() => {
      this.applying = this.applying
        .then(() => this.onStoreChange())
        .catch((error: Error) => this.log('error', error.message));
    });
    engine.on('quorum', () => this.seedIfMissing());
    engine.on('configMismatch', (event) => this.onConfigMismatch(event));
    engine.on('peerMessage', (from, payload) => this.onPeerMessage(from, payload));
  }

  /** The running config's text. */
  get text(): string {
    return this.runningText;
  }

  /** Plans `text` against the running config; unless `dryRun` (or refused), commits it to the store. */
  async propose(text: string, options: { force?: boolean; dryRun?: boolean } = {}): Promise<ProposalResult> {
    const next = checkConfigText(text, 'proposed corosync.conf');
    const force = options.force === true;
    const { plan, probe } = await this.withReachability(
      planConfigChange(this.engine.checked, next, { force }),
      next,
      force,
    );
    if (!plan.ok || options.dryRun === true) return { plan, probe, committed: null };
    const archived = await this.archiveRunning();
    if (!archived.ok) return { plan, probe, committed: archived };
    const committed = await this.cfs.write({ type: 'put', path: CLUSTER_CONFIG_PATH, data: Buffer.from(text) });
    // The write's own delivery applied it (onStoreChange); wait for that before answering.
    await this.applying;
    return { plan, probe, committed };
  }

  /** Every stored version, oldest first, the running one last. */
  history(): ConfigVersionInfo[] {
    const current = this.version(this.engine.checked);
    const versions = this.cfs
      .list(HISTORY_PREFIX)
      .map((e) => ({
        config_version: Number(e.path.slice(HISTORY_PREFIX.length, -'.conf'.length)),
        mtime: e.mtime,
        size: e.size,
      }))
      .filter((v) => Number.isSafeInteger(v.config_version) && v.config_version !== current)
      .map((v) => ({ ...v, current: false }));
    const running = this.cfs.get(CLUSTER_CONFIG_PATH);
    versions.push({
      config_version: current,
      mtime: running?.mtime ?? 0,
      size: Buffer.byteLength(this.runningText),
      current: true,
    });
    return versions.sort((a, b) => a.config_version - b.config_version);
  }

  /** The text of a stored version (the running one included), or undefined. */
  versionText(version: number): string | undefined {
    if (version === this.version(this.engine.checked)) return this.runningText;
    const entry = this.cfs.get(`${HISTORY_PREFIX}${version}.conf`);
    return entry ? Buffer.from(entry.data).toString('utf8') : undefined;
  }

  /**
   * Keeps the running version in the history before it is replaced (once per version), with the time it was
   * committed, not the time it was archived: `config history` shows when each version came into force.
   */
  private async archiveRunning(): Promise<CfsResult> {
    const path = `${HISTORY_PREFIX}${this.version(this.engine.checked)}.conf`;
    const kept = this.cfs.get(path);
    if (kept) return { ok: true, version: kept.version };
    const committed = this.cfs.get(CLUSTER_CONFIG_PATH)?.mtime;
    return this.cfs.write({
      type: 'put',
      path,
      data: Buffer.from(this.runningText),
      ...(committed === undefined ? {} : { mtime: committed }),
    });
  }

  /**
   * The plan, with the pre-flight probe of every added link: unreachable pairs are errors (forced: warnings); and
   * what each probe found.
   */
  private async withReachability(
    plan: ConfigChangePlan,
    next: CheckedConfig,
    force: boolean,
  ): Promise<{ plan: ConfigChangePlan; probe: LinkProbeResult[] }> {
    if (!plan.ok || plan.linksAdded.length === 0) return { plan, probe: [] };
    const problems: string[] = [];
    const probe: LinkProbeResult[] = [];
    for (const link of plan.linksAdded) {
      const port = next.effective.links.find((l) => l.link === link)?.mcastport;
      const addresses: Record<number, string> = {};
      for (const node of next.config.nodes) {
        const address = node.addresses.find((a) => a.link === link)?.address;
        if (node.nodeid !== undefined && address !== undefined) addresses[node.nodeid] = address;
      }
      if (port === undefined) continue;
      const outcome = await this.probe.probe(link, port, addresses);
      problems.push(...outcome.problems);
      probe.push(outcome.result);
    }
    if (problems.length === 0) return { plan, probe };
    if (force)
      return { plan: { ...plan, warnings: [...plan.warnings, ...problems.map((p) => `forced: ${p}`)] }, probe };
    return { plan: { ...plan, ok: false, errors: [...plan.errors, ...problems] }, probe };
  }

  /** A synced, quorate store without corosync.conf gets the running one from its lowest member. */
  private seedIfMissing(): void {
    const { cfs, engine } = this;
    if (cfs.core.phase !== 'synced' || cfs.get(CLUSTER_CONFIG_PATH) !== undefined) return;
    const quorum = engine.stackSnapshot().quorum;
    // The store's view must be the whole membership: right after a merge, Totem is quorate while the group's view
    // may still be this node alone, and every node would think itself the lowest member.
    const members = quorum.members.map((m) => m.nodeId).sort((a, b) => a - b);
    const view = cfs.core.view;
    const wholeMembership = view.length === members.length && view.every((node, i) => node === members[i]);
    if (this.seeding || !quorum.quorate || !wholeMembership || view[0] !== engine.localNodeId) return;
    this.seeding = true;
    void cfs.write({ type: 'put', path: CLUSTER_CONFIG_PATH, data: Buffer.from(this.runningText) }).then((result) => {
      this.seeding = false;
      if (result.ok) {
        this.log('notice', `stored the cluster config (config_version ${this.version(this.engine.checked)})`);
      }
    });
  }

  private async onStoreChange(): Promise<void> {
    const entry = this.cfs.get(CLUSTER_CONFIG_PATH);
    if (entry === undefined) {
      this.seedIfMissing();
      return;
    }
    if (entry.version === this.seenVersion) return;
    this.seenVersion = entry.version;
    await this.apply(Buffer.from(entry.data).toString('utf8'), `cfs:${CLUSTER_CONFIG_PATH}`);
  }

  /** Applies a newer cluster config (from the store, or fetched from a member); false when it was not applied. */
  private async apply(text: string, source: string): Promise<boolean> {
    if (text === this.runningText) return false;
    const next = checkConfigText(text, source);
    const running = this.engine.checked;
    const [from, to] = [this.version(running), this.version(next)];
    if (next.valid && to < from) {
      this.log(
        'warning',
        `the cluster's corosync.conf has config_version ${to}, older than this node's ${from}: kept ${from}`,
      );
      return false;
    }
    if (next.valid && !next.config.nodes.some((n) => n.nodeid === this.engine.localNodeId)) {
      this.log(
        'error',
        `this node (nodeid ${this.engine.localNodeId}) is not in the nodelist of the cluster's config_version ${to}: it was removed from the cluster and takes no part in it; stop its daemon`,
      );
      return false;
    }
    // Safety (a pair without a common link, quorum) was judged by the proposer, who may have forced it; the rest
    // (validity, config_version, keys that cannot change) is checked again here.
    const plan = planConfigChange(running, next, { force: true });
    if (!plan.ok) {
      this.log('error', `cannot apply the cluster's corosync.conf (config_version ${to}): ${plan.errors.join('; ')}`);
      return false;
    }
    await this.engine.reconfigure(next, plan);
    this.runningText = text;
    writeFileAtomic(this.configPath, text);
    const live = plan.changes.filter((c) => c.effect === 'live').map((c) => c.key);
    const restart = plan.changes.filter((c) => c.effect === 'restart').map((c) => c.key);
    this.log('notice', `config_version ${from} → ${to} applied live: ${live.join(', ') || 'nothing to change'}`);
    if (restart.length > 0) this.log('warning', `takes effect at the next restart: ${restart.join(', ')}`);
    return true;
  }

  /** Stops asking other nodes for the cluster's config (the daemon stops). */
  close(): void {
    for (const timer of this.asking.values()) clearTimeout(timer);
    this.asking.clear();
  }

  /**
   * Totem kept a node with another config out of the membership. When it is this node that is behind, and it is
   * not quorate (a quorate node never takes a config from outside its membership), it asks that node for the
   * cluster's config.
   */
  private onConfigMismatch(event: { nodeId: number; theirs: ConfigStamp; ours: ConfigStamp }): void {
    if (event.theirs.version <= event.ours.version || this.asking.has(event.nodeId)) return;
    if (this.engine.stackSnapshot().quorum.quorate) return;
    this.log(
      'notice',
      `this node runs config_version ${event.ours.version}, node ${event.nodeId} runs ${event.theirs.version}: asking it for the cluster's config before joining`,
    );
    this.ask(event.nodeId, event.theirs.version, CONFIG_REQUEST_ATTEMPTS);
  }

  /**
   * Asks `nodeId` for its config, again every CONFIG_REQUEST_INTERVAL_MS (a request or answer is one datagram and
   * may be lost), until this node runs `version` or later, is quorate, or the attempts are used up.
   */
  private ask(nodeId: number, version: number, attemptsLeft: number): void {
    this.asking.delete(nodeId);
    const done = this.version(this.engine.checked) >= version || this.engine.stackSnapshot().quorum.quorate;
    if (done || attemptsLeft === 0) return;
    this.engine.sendPeerMessage(nodeId, encodePeerMessage({ type: 'configRequest' }));
    const retry = setTimeout(() => this.ask(nodeId, version, attemptsLeft - 1), CONFIG_REQUEST_INTERVAL_MS);
    this.asking.set(nodeId, retry.unref());
  }

  /** The config exchange with a node kept out of the membership (docs/reconfiguration.md). */
  private onPeerMessage(from: number, payload: Uint8Array): void {
    const message = decodePeerMessage(payload);
    if (message === undefined) {
      this.counters.malformedPeerMessages++;
      this.log('warning', `dropped a malformed config message from node ${from}`);
      return;
    }
    const quorate = this.engine.stackSnapshot().quorum.quorate;
    if (message.type === 'configRequest') {
      // Only a quorate node speaks for the cluster.
      if (quorate) this.engine.sendPeerMessage(from, encodePeerMessage({ type: 'config', text: this.runningText }));
      return;
    }
    if (quorate) return;
    this.applying = this.applying
      .then(async () => {
        if (await this.apply(message.text, `node ${from}`)) {
          this.log('notice', `took the cluster's config from node ${from}: joining the membership`);
        }
      })
      .catch((error: Error) => this.log('error', error.message));
  }

  private version(checked: CheckedConfig): number {
    return checked.effective.totem.configVersion;
  }

  private log(level: 'notice' | 'warning' | 'error', message: string): void {
    this.logger.log(level, 'CFS', message);
  }
}
