/**
 * `/metrics`: the daemon's Prometheus exposition (docs/metrics.md). Each daemon has its own prom-client
 * registry (never the global one); the values are read lazily from the engine snapshots on every scrape, except
 * the histograms: link latency observes the dashboard history's once-a-second link samples, token rotation the
 * engine's `tokenRotation` events.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { VERSION } from '../base/version.ts';
import { type ServiceCounters, STORAGE_FAILURE_REASONS } from '../daemon/daemon.ts';
import { CPG_REFUSALS, type NodeEngine } from '../daemon/engine.ts';
import { JOIN_REFUSALS } from '../daemon/join-service.ts';
import type { HaStatusV1 } from '../ipc/schema.ts';
import { HTTP_REFUSALS } from './guard.ts';
import { HaMetrics } from './ha-metrics.ts';
import type { ClusterHistory } from './history.ts';
import { LoopLag } from './loop-lag.ts';

/**
 * The one label scheme (docs/metrics.md "Labels"): a node — this one or a peer — is always `nodeid` + `name`, a
 * link is `link`, a cause is `reason` (with `direction` for drops). test/web/metrics.test.ts checks every series.
 */
const NODE_LABELS = ['nodeid', 'name'];
const NODE_LINK_LABELS = [...NODE_LABELS, 'link'];
/** The admin socket's refusal reasons (corolink_admin_refused_total), zero until they happen. */
const ADMIN_REFUSALS = [
  'bad_request',
  'slow_client',
  'accept_failed',
  'forbidden',
  'peer_not_allowed',
  'listings_waiting',
  'totem_queue_full',
  ...CPG_REFUSALS,
] as const;

/** Histogram buckets for link round trips, seconds (loopback ~0.05 ms up to a slow WAN). */
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
/**
 * Histogram buckets for token rotations, seconds: a loaded 3-node loopback ring turns in ~0.3–3 ms, an idle one
 * waits for the representative's hold (hold_ms), a ring about to lose its token nears token_ms.
 */
const ROTATION_BUCKETS = [0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Histogram buckets for event-loop lag, seconds: timer slop is ~1 ms; 50 ms and more starves the heartbeats. */
const LOOP_LAG_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

type Labels = Record<string, string | number>;

/** A counter whose absolute value comes from a snapshot: reset, then set through `inc`. */
class SnapshotCounter {
  private readonly counter: Counter;

  constructor(registry: Registry, name: string, help: string, labelNames: string[] = []) {
    this.counter = new Counter({ name, help, labelNames, registers: [registry] });
  }

  reset(): void {
    this.counter.reset();
  }

  set(labels: Labels, value: number): void {
    this.counter.inc(labels, value);
  }
}

/** A gauge reset at every scrape, so that rows of vanished peers or links disappear. */
function gauge(registry: Registry, name: string, help: string, labelNames: string[] = []): Gauge {
  return new Gauge({ name, help, labelNames, registers: [registry] });
}

export class DaemonMetrics {
  readonly registry = new Registry();
  readonly contentType = this.registry.contentType;
  private readonly info = gauge(
    this.registry,
    'corolink_info',
    'Always 1: this daemon, its cluster, node id and name, and the corolink version',
    ['cluster', ...NODE_LABELS, 'version'],
  );
  private readonly linkUp = gauge(
    this.registry,
    'corolink_link_up',
    '1 when the heartbeat says peer × link works',
    NODE_LINK_LABELS,
  );
  private readonly linkEnabled = gauge(
    this.registry,
    'corolink_link_enabled',
    '1 when the local link is administratively enabled and the peer has an address on it',
    NODE_LINK_LABELS,
  );
  private readonly linkActive = gauge(
    this.registry,
    'corolink_link_active',
    '1 on the link that carries the traffic to the peer now (passive: the best; active: every up link)',
    NODE_LINK_LABELS,
  );
  private readonly linkLatency = gauge(
    this.registry,
    'corolink_link_latency_seconds',
    'Average round trip of the heartbeat (knet latency), per peer × link',
    NODE_LINK_LABELS,
  );
  private readonly counters = {
    txPackets: this.counter('corolink_link_tx_packets_total', 'Packets sent to the peer on the link'),
    rxPackets: this.counter('corolink_link_rx_packets_total', 'Packets received from the peer on the link'),
    txBytes: this.counter('corolink_link_tx_bytes_total', 'Bytes sent to the peer on the link'),
    rxBytes: this.counter('corolink_link_rx_bytes_total', 'Bytes received from the peer on the link'),
    down: this.counter('corolink_link_down_total', 'Times the peer × link went down'),
    sendErrors: this.counter('corolink_link_send_errors_total', 'Socket send errors to the peer on the link'),
  };
  private readonly dropped = new SnapshotCounter(
    this.registry,
    'corolink_dropped_total',
    'Frames or messages dropped, by direction (rx, tx) and reason',
    ['direction', 'reason'],
  );
  private readonly membershipSize = gauge(this.registry, 'corolink_membership_size', 'Nodes in the current ring');
  private readonly member = gauge(
    this.registry,
    'corolink_node_member',
    '1 when the configured node is a member',
    NODE_LABELS,
  );
  private readonly ringSeq = gauge(this.registry, 'corolink_ring_seq', 'Sequence number of the current ring id');
  private readonly ringRep = gauge(this.registry, 'corolink_ring_rep', 'Representative node id of the current ring');
  private readonly quorate = gauge(
    this.registry,
    'corolink_quorate',
    '1 when this node is part of a quorate partition',
  );
  private readonly totalVotes = gauge(this.registry, 'corolink_quorum_total_votes', 'Sum of the members’ votes');
  private readonly expectedVotes = gauge(this.registry, 'corolink_quorum_expected_votes', 'Expected votes');
  private readonly quorumVotes = gauge(this.registry, 'corolink_quorum_needed_votes', 'Votes needed for quorum');
  private readonly deviceVotes = gauge(
    this.registry,
    'corolink_quorum_device_votes',
    'Votes of the quorum device (quorum.device.votes; 0 without a device)',
  );
  /** The qdevice series exist only while a device is configured (registered into the registry then). */
  private readonly qdeviceConnected = new Gauge({
    name: 'corolink_qdevice_connected',
    help: 'Whether the qdevice-net client is connected to corosync-qnetd (only with a device)',
    registers: [],
  });
  private readonly qdeviceCastVote = new Gauge({
    name: 'corolink_qdevice_cast_vote',
    help: "Whether this node's quorum device casts its vote, counted in total votes (only with a device)",
    registers: [],
  });
  private readonly qdeviceHeartbeat = new Gauge({
    name: 'corolink_qdevice_last_heartbeat_seconds',
    help: "Seconds since corosync-qnetd's last heartbeat reply (only once one arrived)",
    registers: [],
  });
  private readonly pending = gauge(this.registry, 'corolink_totem_pending_messages', 'Messages waiting for the token');
  private readonly loopLag: LoopLag;
  private readonly totem = {
    retransmits: new SnapshotCounter(
      this.registry,
      'corolink_totem_retransmits_total',
      'Messages this node multicast again for the retransmit list',
    ),
    tokenRetransmits: new SnapshotCounter(
      this.registry,
      'corolink_totem_token_retransmits_total',
      'Tokens resent because no newer token arrived in time',
    ),
    burstHolds: new SnapshotCounter(
      this.registry,
      'corolink_totem_burst_holds_total',
      'Tokens kept at their arrival while this node filled a pack of its own messages',
    ),
    delivered: new SnapshotCounter(
      this.registry,
      'corolink_totem_messages_delivered_total',
      'Messages delivered in agreed order to the services',
    ),
    deliveredSafe: new SnapshotCounter(
      this.registry,
      'corolink_totem_safe_messages_delivered_total',
      'Of the messages delivered, those sent with safe delivery (once every member had them)',
    ),
    configurations: new SnapshotCounter(
      this.registry,
      'corolink_totem_membership_changes_total',
      'Regular configurations installed',
    ),
  };
  private readonly process = {
    cpu: new SnapshotCounter(
      this.registry,
      'corolink_process_cpu_seconds_total',
      'CPU time of the daemon (user + system)',
    ),
    resident: gauge(this.registry, 'corolink_process_resident_memory_bytes', 'Resident memory of the daemon (RSS)'),
    heap: gauge(this.registry, 'corolink_process_heap_used_bytes', 'V8 heap in use'),
  };
  private readonly configVersion = gauge(this.registry, 'corolink_config_version', 'config_version of corosync.conf');
  private readonly cfsWrites = new SnapshotCounter(
    this.registry,
    'corolink_cfs_writes_total',
    'Writes committed to the replicated config store',
  );
  private readonly cfsStoreFailures = new SnapshotCounter(
    this.registry,
    'corolink_cfs_store_failures_total',
    "Failed writes or reads of this node's copy of the replicated store (its copy is then stale until re-synced), by reason",
    ['reason'],
  );
  private readonly configMismatches = new SnapshotCounter(
    this.registry,
    'corolink_totem_config_mismatches_total',
    'JOIN and MERGE_DETECT messages ignored because their sender runs another cluster config',
  );
  private readonly joins = new SnapshotCounter(
    this.registry,
    'corolink_joins_total',
    'Nodes added to the cluster with a join token through this member',
  );
  private readonly joinRefused = new SnapshotCounter(
    this.registry,
    'corolink_join_refused_total',
    'Join attempts this member refused, by reason',
    ['reason'],
  );

  private readonly adminRefused = new SnapshotCounter(
    this.registry,
    'corolink_admin_refused_total',
    'Admin socket requests or connections refused, by reason',
    ['reason'],
  );
  private readonly httpRefused = new SnapshotCounter(
    this.registry,
    'corolink_http_refused_total',
    'HTTP connections or requests refused, by reason',
    ['reason'],
  );

  /** The HA metrics, on a node with HA. */
  private readonly ha: HaMetrics | undefined;

  constructor(
    private readonly engine: NodeEngine,
    history: ClusterHistory,
    private readonly serviceCounters: () => ServiceCounters = () => ({
      cfsWrites: 0,
      cfsStoreFailures: {},
      joins: 0,
      joinRefused: {},
      adminRefused: {},
    }),
    private readonly httpRefusals: () => Record<string, number> = () => ({}),
    haStatus?: () => HaStatusV1 | undefined,
  ) {
    this.ha = haStatus === undefined ? undefined : new HaMetrics(this.registry, engine.localNodeId, haStatus);
    const histogram = new Histogram({
      name: 'corolink_link_latency_sampled_seconds',
      help: 'Heartbeat round trip sampled once a second per peer × link (up links only)',
      labelNames: NODE_LINK_LABELS,
      buckets: LATENCY_BUCKETS,
      registers: [this.registry],
    });
    const rotation = new Histogram({
      name: 'corolink_totem_token_rotation_seconds',
      help: 'Time between two arrivals of the Totem token at this node (one full rotation of the ring)',
      buckets: ROTATION_BUCKETS,
      registers: [this.registry],
    });
    engine.on('tokenRotation', (seconds) => rotation.observe(seconds));
    const loopLag = new Histogram({
      name: 'corolink_event_loop_lag_seconds',
      help: 'How late the event loop ran a timer due every 50 ms, by thread (a stall of D s shows as ≥ D − 0.05 s)',
      labelNames: ['thread'],
      buckets: LOOP_LAG_BUCKETS,
      registers: [this.registry],
    });
    this.loopLag = new LoopLag((seconds) => loopLag.observe({ thread: this.loopLag.thread }, seconds));
    history.observeSamples((sample) => {
      if (sample.up && sample.latency_ms !== null) {
        const labels = { ...this.nodeLabels(sample.nodeid), link: sample.link };
        histogram.observe(labels, sample.latency_ms / 1000);
      }
    });
  }

  private rendering: Promise<string> | undefined;

  /** Stops the loop-lag sampling (the server is closing). */
  close(): void {
    this.loopLag.close();
  }

  /**
   * Reads the snapshots and renders the Prometheus text format; the scrapes of one turn of the event loop share
   * one rendering (1,000 pipelined scrapes each rendered held the loop 222–375 ms: docs/daemon.md). A scrape never
   * sees values older than the turn it was read in.
   */
  render(): Promise<string> {
    if (this.rendering === undefined) {
      this.collect();
      this.rendering = this.registry.metrics();
      setImmediate(() => {
        this.rendering = undefined;
      });
    }
    return this.rendering;
  }

  private counter(name: string, help: string): SnapshotCounter {
    return new SnapshotCounter(this.registry, name, help, NODE_LINK_LABELS);
  }

  /** `nodeid` and `name` of a configured node (name empty when the config gives none). */
  private nodeLabels(nodeid: number): Labels {
    const name = this.engine.checked.config.nodes.find((n) => n.nodeid === nodeid)?.name ?? '';
    return { nodeid, name };
  }

  private collect(): void {
    const engine = this.engine;
    const { totem, quorum } = engine.stackSnapshot();
    const transport = engine.transportSnapshot();
    const { config, effective } = engine.checked;
    const gauges = [this.info, this.linkUp, this.linkEnabled, this.linkActive, this.linkLatency, this.member];
    for (const metric of gauges) metric.reset();
    for (const metric of [...Object.values(this.counters), this.dropped]) metric.reset();
    const cluster = effective.totem.clusterName ?? '';
    this.info.set({ cluster, ...this.nodeLabels(engine.localNodeId), version: VERSION }, 1);
    for (const s of transport.peerLinks) {
      const labels = { ...this.nodeLabels(s.nodeId), link: s.link };
      this.linkUp.set(labels, s.connected ? 1 : 0);
      this.linkEnabled.set(labels, s.enabled ? 1 : 0);
      this.linkActive.set(labels, s.inUse ? 1 : 0);
      if (s.latency) this.linkLatency.set(labels, s.latency.avgMs / 1000);
      this.counters.txPackets.set(labels, s.counters.txPackets);
      this.counters.rxPackets.set(labels, s.counters.rxPackets);
      this.counters.txBytes.set(labels, s.counters.txBytes);
      this.counters.rxBytes.set(labels, s.counters.rxBytes);
      this.counters.down.set(labels, s.counters.downCount);
      this.counters.sendErrors.set(labels, s.counters.sendErrors);
    }
    const drops: [string, Record<string, number>][] = [
      ['rx', transport.transport.rejected],
      ['rx', prefixed('crypto_', transport.crypto.rejected)],
      ['tx', transport.transport.txDropped],
      ['tx', { no_address: transport.noAddressDrops }],
    ];
    for (const [direction, reasons] of drops) {
      for (const [reason, value] of Object.entries(reasons)) this.dropped.set({ direction, reason }, value);
    }
    const members = new Set(totem.members);
    this.membershipSize.set(totem.members.length);
    for (const node of config.nodes) {
      if (node.nodeid !== undefined) this.member.set(this.nodeLabels(node.nodeid), members.has(node.nodeid) ? 1 : 0);
    }
    this.ringSeq.set(totem.ringId?.seq ?? 0);
    this.ringRep.set(totem.ringId?.rep ?? 0);
    this.quorate.set(quorum.quorate ? 1 : 0);
    this.totalVotes.set(quorum.totalVotes);
    this.expectedVotes.set(quorum.expectedVotes);
    this.quorumVotes.set(quorum.quorum);
    this.pending.set(totem.pending);
    const services = this.serviceCounters();
    this.deviceVotes.set(effective.quorum.device?.votes ?? 0);
    const age = services.qdevice?.lastHeartbeatAgeMs ?? null;
    const qdeviceSeries: [Gauge, number | null][] = [
      [this.qdeviceConnected, services.qdevice ? Number(services.qdevice.connected) : null],
      [this.qdeviceCastVote, services.qdevice ? Number(quorum.device?.castVote === true) : null],
      [this.qdeviceHeartbeat, age === null ? null : age / 1000],
    ];
    for (const [metric, value] of qdeviceSeries) {
      const name = (metric as unknown as { name: string }).name;
      const shown = this.registry.getSingleMetric(name) !== undefined;
      if (value === null && shown) this.registry.removeSingleMetric(name);
      if (value === null) continue;
      if (!shown) this.registry.registerMetric(metric);
      metric.set(value);
    }
    const totemValues: [SnapshotCounter, number][] = [
      [this.totem.retransmits, totem.retransmitted],
      [this.totem.tokenRetransmits, totem.tokenRetransmits],
      [this.totem.burstHolds, totem.burstHolds],
      [this.totem.delivered, totem.delivered],
      [this.totem.deliveredSafe, totem.deliveredSafe],
      [this.totem.configurations, totem.configurations],
      [this.configMismatches, totem.configMismatches],
      [this.cfsWrites, services.cfsWrites],
      [this.joins, services.joins],
    ];
    for (const [metric, value] of totemValues) {
      metric.reset();
      metric.set({}, value);
    }
    // Every known reason has a series from the start (0 until it happens), so `rate()` and alerts see it.
    const refusals: [SnapshotCounter, readonly string[], Record<string, number>][] = [
      [this.joinRefused, JOIN_REFUSALS, services.joinRefused],
      [this.adminRefused, ADMIN_REFUSALS, services.adminRefused],
      [this.httpRefused, HTTP_REFUSALS, this.httpRefusals()],
      [this.cfsStoreFailures, STORAGE_FAILURE_REASONS, services.cfsStoreFailures],
    ];
    for (const [metric, known, counts] of refusals) {
      metric.reset();
      for (const reason of new Set([...known, ...Object.keys(counts)])) metric.set({ reason }, counts[reason] ?? 0);
    }
    this.configVersion.set(effective.totem.configVersion);
    const cpu = process.cpuUsage();
    this.process.cpu.reset();
    this.process.cpu.set({}, (cpu.user + cpu.system) / 1e6);
    const memory = process.memoryUsage();
    this.process.resident.set(memory.rss);
    this.process.heap.set(memory.heapUsed);
    this.ha?.collect();
  }
}

function prefixed(prefix: string, values: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [`${prefix}${key}`, value]));
}
