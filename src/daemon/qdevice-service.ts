/**
 * The daemon's side of corosync-qdevice's votequorum glue (qdevice-votequorum.c): when corosync.conf configures a
 * quorum device, the vote source (the qdevice-net client, ./qdevice-contract.ts) is built through the injected
 * factory, registered with votequorum as the device `Qdevice`, told the cluster view after every quorum callback,
 * every sync's node list and every reload, and asked for its vote every `device.timeout / 2`, which is forwarded as
 * a poll for the ring the vote was given for (a vote for an older ring is ignored by votequorum). While a sync waits
 * for the device, the vote is asked for more often so that the sync ends as soon as the arbiter answered. A reload
 * that changes the device's net settings restarts the client; one that removes the device unregisters it.
 */
import { QDEVICE_CAST_VOTE_INTERVAL_FACTOR } from '../config/defaults.ts';
import { type EffectiveQuorumDevice, QDEVICE_NAME } from '../config/index.ts';
import type { QdeviceStatusV1 } from '../ipc/schema.ts';
import type { QdeviceRequest, RingId } from '../quorum/index.ts';
import { formatRingId } from '../quorum/index.ts';
import type { NodeEngine } from './engine.ts';
import type { LogLevel } from './log.ts';
import type { QdeviceClusterView, QdeviceNetOptions, QdeviceNetStatus, QdeviceVoteSource } from './qdevice-contract.ts';
import { QUORUM_SERVICE_ID, type QuorumServiceOutput } from './quorum-engine.ts';

/** How the client logs (its lines go to the QUORUM subsystem). */
export type QdeviceLog = (level: LogLevel, message: string) => void;
/** Builds the vote source from the device's settings (the daemon option `qdeviceFactory`). */
export type QdeviceFactory = (options: QdeviceNetOptions, log: QdeviceLog) => QdeviceVoteSource;

/** While a sync waits for the device's poll, the vote is asked for this often (corosync-qdevice polls on reply). */
const SYNC_POLL_INTERVAL_MS = 100;

/** What `corolink qdevice status` shows besides the client's own status. */
export interface QdeviceServiceStatus {
  /** The device's votes (`quorum.device.votes`). */
  votes: number;
  /** `device.timeout` / `device.sync_timeout` (ms). */
  timeoutMs: number;
  syncTimeoutMs: number;
  /** votequorum accepted the registration. */
  registered: boolean;
  /** The last poll votequorum accepted (daemon clock, ms) and its vote; null before the first. */
  lastPoll: { at: number; castVote: boolean } | null;
  /** The ring votequorum's sync currently waits on, null when none. */
  syncRing: RingId | null;
  net: QdeviceNetStatus;
}

export class QdeviceService {
  private source: QdeviceVoteSource | null = null;
  private device: EffectiveQuorumDevice | null = null;
  private pollTimer: ReturnType<typeof setInterval> | null = null;
  private syncPollTimer: ReturnType<typeof setInterval> | null = null;
  private syncRing: RingId | null = null;
  private registered = false;
  private lastPoll: { at: number; castVote: boolean } | null = null;
  /** The vote of the poll being answered (votequorum answers within the same step). */
  private pollVote = false;
  private sourceChange: Promise<void> = Promise.resolve();

  constructor(
    private readonly engine: NodeEngine,
    /** Undefined in a build without the qdevice-net client: a configured device is then reported and left out. */
    private readonly factory: QdeviceFactory | undefined,
    private readonly log: QdeviceLog,
    private readonly now: () => number = () => performance.now(),
  ) {
    engine.on('quorum', () => this.tellView());
    engine.on('serviceOutput', (service, output) => {
      if (service === QUORUM_SERVICE_ID) this.onQuorumOutput(output as QuorumServiceOutput);
    });
    engine.on('reconfigured', () => this.apply());
  }

  /** Builds and registers the device when the running config has one. */
  start(): Promise<void> {
    return this.apply();
  }

  /** Unregisters the device and stops the client (before the engine stops). */
  stop(): Promise<void> {
    this.sourceChange = this.sourceChange.then(() => this.stopSource());
    return this.sourceChange;
  }

  /** For `corolink qdevice status` and metrics; null without a device. */
  status(): QdeviceServiceStatus | null {
    if (this.source === null || this.device === null) return null;
    return {
      votes: this.device.votes,
      timeoutMs: this.device.timeoutMs,
      syncTimeoutMs: this.device.syncTimeoutMs,
      registered: this.registered,
      lastPoll: this.lastPoll,
      syncRing: this.syncRing,
      net: this.source.status(),
    };
  }

  /** `qdeviceStatus` (corosync-qdevice-tool -s) at daemon time `now`. */
  statusV1(now: number): QdeviceStatusV1 {
    const { effective, config } = this.engine.checked;
    const status = this.status();
    const base = {
      version: 1 as const,
      local_nodeid: this.engine.localNodeId,
      configured: effective.quorum.device !== null,
    };
    if (status === null || this.device === null) return { ...base, device: null };
    const { quorum } = this.engine.stackSnapshot();
    const { net } = status;
    const device = this.device;
    const ago = (at: number | null) => (at === null ? null : Math.max(0, Math.round(now - at)));
    return {
      ...base,
      device: {
        model: device.model,
        votes: status.votes,
        timeout_ms: status.timeoutMs,
        sync_timeout_ms: status.syncTimeoutMs,
        registered: status.registered,
        configured_nodes: config.nodes.map((node) => node.nodeid!).sort((a, b) => a - b),
        ring_id: formatRingId(quorum.ringId),
        members: quorum.members.map((member) => member.nodeId),
        quorate: quorum.quorate,
        expected_votes: quorum.expectedVotes,
        last_poll_ms_ago: ago(status.lastPoll?.at ?? null),
        last_poll_cast_vote: status.lastPoll?.castVote ?? false,
        net: {
          cluster_name: effective.totem.clusterName ?? '',
          host: device.net.host ?? '',
          port: device.net.port,
          connect_timeout_ms: device.net.connectTimeoutMs,
          algorithm: net.algorithm,
          tie_breaker: net.tieBreaker,
          tls: device.net.tls,
          tls_active: net.tls,
          state: net.state,
          last_vote: net.lastVote,
          cast_vote: net.castVote,
          connected_since_ms_ago: ago(net.connectedSince),
          last_heartbeat_ms_ago: ago(net.lastHeartbeatAt),
        },
      },
    };
  }

  /** Follows the running config: builds, restarts or removes the client as the device section says. */
  private apply(): Promise<void> {
    this.sourceChange = this.sourceChange.then(async () => {
      const next = this.engine.checked.effective.quorum.device;
      if (next !== null && this.source !== null && sameClient(this.device, next)) {
        this.device = next;
        this.startPollTimer();
        this.tellView();
        return;
      }
      await this.stopSource();
      if (next !== null) this.startSource(next);
    });
    return this.sourceChange;
  }

  private startSource(device: EffectiveQuorumDevice): void {
    if (this.factory === undefined) {
      this.log('error', 'quorum.device is configured but this build has no qdevice-net client: no device vote');
      return;
    }
    this.device = device;
    this.source = this.factory(this.netOptions(device), this.log);
    this.source.start();
    this.tellView();
    this.request({ type: 'qdeviceRegister', name: QDEVICE_NAME });
    this.startPollTimer();
  }

  private async stopSource(): Promise<void> {
    this.clearTimers();
    const source = this.source;
    if (source === null) return;
    if (this.registered) this.request({ type: 'qdeviceUnregister', name: QDEVICE_NAME });
    this.source = null;
    this.device = null;
    this.registered = false;
    this.lastPoll = null;
    await source.stop();
  }

  private netOptions(device: EffectiveQuorumDevice): QdeviceNetOptions {
    const { effective } = this.engine.checked;
    return {
      clusterName: effective.totem.clusterName ?? '',
      localNodeId: this.engine.localNodeId,
      host: device.net.host ?? '',
      port: device.net.port,
      algorithm: device.net.algorithm,
      tieBreaker: device.net.tieBreaker,
      tls: device.net.tls,
      timeoutMs: device.timeoutMs,
      syncTimeoutMs: device.syncTimeoutMs,
    };
  }

  /** corosync-qdevice's vote timer: every `timeout / 2`. */
  private startPollTimer(): void {
    if (this.pollTimer !== null) clearInterval(this.pollTimer);
    const intervalMs = Math.max(1, Math.trunc((this.device?.timeoutMs ?? 0) * QDEVICE_CAST_VOTE_INTERVAL_FACTOR));
    this.pollTimer = setInterval(() => this.poll(), intervalMs);
    this.pollTimer.unref();
  }

  private clearTimers(): void {
    if (this.pollTimer !== null) clearInterval(this.pollTimer);
    this.pollTimer = null;
    this.stopSyncPolls();
  }

  private stopSyncPolls(): void {
    if (this.syncPollTimer !== null) clearInterval(this.syncPollTimer);
    this.syncPollTimer = null;
    this.syncRing = null;
  }

  private poll(): void {
    if (this.source === null || !this.registered) return;
    const vote = this.source.poll();
    // Waiting for the arbiter: no poll, so a sync waits for the answer instead of ending without the vote.
    if (vote === null) return;
    const { castVote, ringId } = vote;
    this.pollVote = castVote;
    this.request({ type: 'qdevicePoll', name: QDEVICE_NAME, castVote, ringId });
  }

  private onQuorumOutput(output: QuorumServiceOutput): void {
    if (this.source === null || output.type === 'figures') return;
    if (output.type === 'qdeviceNodeList') {
      // A sync started: the client asks its arbiter about the new ring; votequorum waits for that ring's poll.
      this.syncRing = output.ringId;
      this.source.update(this.view(output.members, output.ringId));
      if (this.syncPollTimer === null) {
        this.syncPollTimer = setInterval(() => this.poll(), SYNC_POLL_INTERVAL_MS);
        this.syncPollTimer.unref();
      }
      this.poll();
      return;
    }
    if (output.ok) {
      if (output.request === 'qdeviceRegister') {
        this.registered = true;
        this.log('notice', `quorum device ${QDEVICE_NAME} registered (votes ${this.device?.votes ?? 0})`);
        this.poll();
      } else if (output.request === 'qdevicePoll') {
        this.lastPoll = { at: this.now(), castVote: this.pollVote };
        this.stopSyncPolls();
      }
      return;
    }
    // A poll for a ring votequorum no longer (or not yet) syncs is expected while the arbiter answers.
    if (output.error === 'CS_ERR_MESSAGE_ERROR') return;
    this.log('warning', `votequorum refused ${output.request} of quorum device ${QDEVICE_NAME}: ${output.error}`);
  }

  /** The view after a quorum callback or a reload: the announced members and ring. */
  private tellView(): void {
    if (this.source === null) return;
    const { quorum } = this.engine.stackSnapshot();
    this.source.update(
      this.view(
        quorum.members.map((member) => member.nodeId),
        quorum.ringId,
      ),
    );
  }

  private view(members: readonly number[], ringId: RingId | null): QdeviceClusterView {
    const { effective, config } = this.engine.checked;
    return {
      configVersion: effective.totem.configVersion,
      nodeIds: config.nodes.map((node) => node.nodeid!).sort((a, b) => a - b),
      members: [...members].sort((a, b) => a - b),
      ringId,
      quorate: this.engine.stackSnapshot().quorum.quorate,
    };
  }

  private request(request: QdeviceRequest): void {
    this.engine.serviceRequest(QUORUM_SERVICE_ID, request);
  }
}

/** Whether the client built for `before` serves `after` too (only votequorum's keys changed). */
function sameClient(before: EffectiveQuorumDevice | null, after: EffectiveQuorumDevice): boolean {
  if (before === null) return false;
  const client = (device: EffectiveQuorumDevice) =>
    JSON.stringify({ model: device.model, net: device.net, timeoutMs: device.timeoutMs, sync: device.syncTimeoutMs });
  return client(before) === client(after);
}
