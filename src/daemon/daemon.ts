/**
 * `corolink daemon`: loads corosync.conf and the authkey, finds the local node, starts the engine and the admin
 * socket, and leaves the cluster cleanly on SIGTERM/SIGINT (peers see a leave, not a failure).
 */
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { DAEMON_V8_RUNTIME_FLAGS } from '../base/limits.ts';
import { VERSION } from '../base/version.ts';
import { type HaTimings, haTimings } from '../config/defaults.ts';
import {
  appSocketPath,
  type CheckedConfig,
  formatDiagnostic,
  haWatchdogPaths,
  loadConfigFile,
  qdeviceTlsFiles,
} from '../config/index.ts';
import { NODE_CRYPTO_AEAD } from '../crypto/aead.ts';
import type { HaControl, HaResourceRunner, HaWatchdog } from '../ha/contract.ts';
import type { ClusterLinksV1, HaStatusV1 } from '../ipc/schema.ts';
import { NODE_DGRAM_ENGINE } from '../transport/datagram-socket.ts';
import { AdminError, AdminSocketServer, type Handlers } from './admin-socket.ts';
import { appAccessOf, openAppSocket } from './app-socket.ts';
import { watchAuthFailures } from './auth-failure-log.ts';
import { CfgService } from './cfg-service.ts';
import { CfsService } from './cfs-service.ts';
import { ClusterConfigService } from './cluster-config.ts';
import { CmapMembers } from './cmap.ts';
import { NodeEngine } from './engine.ts';
import { ResourceRunner } from './ha/resource-runner.ts';
import { type HaShutdownPolicy, shutdownFreezes } from './ha/shutdown-policy.ts';
import { SupervisedWatchdog } from './ha/watchdog.ts';
import { HaManager } from './ha-manager.ts';
import { cfsHandlers } from './handlers/cfs.ts';
import { cmapHandlers } from './handlers/cmap.ts';
import { configHandlers } from './handlers/config.ts';
import { cpgHandlers } from './handlers/cpg.ts';
import { broadcastHaEvents, haHandlers, haStatusJson } from './handlers/ha.ts';
import { joinHandlers } from './handlers/join.ts';
import { qdeviceHandlers } from './handlers/qdevice.ts';
import { logRecordJson, statusHandlers } from './handlers/status.ts';
import { findLocalNode } from './identity.ts';
import { JoinService } from './join-service.ts';
import { LinkProbeService } from './link-probe.ts';
import { LinkViewService } from './link-view.ts';
import { Logger, type LogLevel } from './log.ts';
import { loggingSetup } from './log-config.ts';
import { ensurePrivateDir, PrivatePathError, secretModeProblem } from './private-fs.ts';
import { createQdeviceNet } from './qdevice-net.ts';
import { type QdeviceFactory, QdeviceService } from './qdevice-service.ts';
import { QUORUM_SERVICE_ID, type QuorumServiceOutput } from './quorum-engine.ts';
import { DEFAULT_STATE_DIR } from './ring-seq-file.ts';
import { applyScheduling } from './scheduling.ts';
import { quorumState } from './status.ts';

export interface DaemonOptions {
  configPath: string;
  authkeyPath: string;
  socketPath: string;
  nodeId?: number;
  name?: string;
  /** Directory for the ring sequence file (default /var/lib/corolink). */
  stateDir?: string;
  /** Log to stderr even when the logging section does not say so (default true: foreground daemon). */
  forceStderr?: boolean;
  /**
   * Work the caller must finish before the links open, given the checked config. Loading modules blocks the event
   * loop, and once the links are up, peers would read that block as silence.
   */
  prepare?: (checked: CheckedConfig) => Promise<void>;
  /** Builds the quorum device's vote source when corosync.conf configures one (default: the qdevice-net client). */
  qdeviceFactory?: QdeviceFactory;
  /** `--no-sched-rr`: stay under the normal scheduler whatever `system.sched_rr` says (corosync 2's `-p`). */
  noSchedRr?: boolean;
  /** The daemon leaves with its parent (`--exit-with-parent`); so does its HA watchdog supervisor then. */
  exitWithParent?: boolean;
  /**
   * The HA managers (docs/ha.md): given, this daemon runs service engine 5 with this resource runner and watchdog.
   * Every node of the cluster must run it or none (a member without it stalls the HA sync, never the stack's).
   */
  ha?: {
    runner: () => HaResourceRunner;
    watchdog: (timings: HaTimings) => HaWatchdog;
    /** Overrides DEFAULT_HA_FENCE_TIMEOUT_MS. */
    fenceTimeoutMs?: number;
  };
}

/** A startup failure meant for the admin: one clear line. */
export class DaemonStartError extends Error {}

/** The reasons of `ServiceCounters.cfsStoreFailures`, for the web layer (which does not import the store). */
export { STORAGE_FAILURE_REASONS } from '../cfs/core.ts';

/** Counters of the daemon's services, for metrics. */
export interface ServiceCounters {
  /** Writes committed to the replicated file store. */
  cfsWrites: number;
  /** Store calls that failed (disk full, no descriptor…), by reason. */
  cfsStoreFailures: Record<string, number>;
  /** Nodes added with a join token through this member. */
  joins: number;
  /** Join attempts refused by this member, by reason (join-protocol error codes). */
  joinRefused: Record<string, number>;
  /**
   * Admin and application socket refusals: bad requests, slow clients closed, accept errors, admin-only requests on
   * the application socket (`forbidden`), connections its gate closed (`peer_not_allowed`), CPG requests the CPG
   * core refused (`cpg_*`).
   */
  adminRefused: Record<string, number>;
  /** The quorum device's client; absent without a device. */
  qdevice?: { connected: boolean; lastHeartbeatAgeMs: number | null };
}

export interface RunningDaemon {
  engine: NodeEngine;
  logger: Logger;
  admin: AdminSocketServer;
  /** The application socket (docs/security.md). */
  app: AdminSocketServer;
  cfs: CfsService;
  qdevice: QdeviceService;
  /** The HA managers' admin seam; undefined when HA is not enabled on this node. */
  ha: HaControl | undefined;
  /** `ha`'s status in the admin socket's shape (the dashboard and metrics read it); undefined without HA. */
  haStatus(): HaStatusV1 | undefined;
  /** Every member's view of every path (the `clusterLinks` method, `/api/cluster-links`). */
  clusterLinks(): ClusterLinksV1;
  /** Who stops this daemon when a client asks it to (`shutdown`); without one, the request is refused. */
  onShutdownRequest(listener: () => void): void;
  serviceCounters(): ServiceCounters;
  stop(): Promise<void>;
}

/** Loads and checks the config; throws DaemonStartError with every error listed. */
async function loadValidConfig(path: string): Promise<CheckedConfig> {
  let checked: CheckedConfig;
  try {
    checked = await loadConfigFile(path);
  } catch (error) {
    throw new DaemonStartError(`cannot read ${path}: ${(error as Error).message}`);
  }
  if (!checked.valid) {
    const errors = checked.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
    throw new DaemonStartError(`${path} is not valid:\n${errors.join('\n')}`);
  }
  return checked;
}

/** Reads the authkey, refusing one that other users can read (docs/security.md). */
async function readAuthkey(path: string): Promise<Uint8Array> {
  let problem: string | undefined;
  try {
    const file = await open(path, 'r');
    try {
      problem = secretModeProblem(path, await file.stat());
      if (problem === undefined) return await file.readFile();
    } finally {
      await file.close();
    }
  } catch (error) {
    throw new DaemonStartError(`cannot read the authkey ${path}: ${(error as Error).message}`);
  }
  throw new DaemonStartError(`refusing the authkey: ${problem}`);
}

/** ensurePrivateDir with its refusals as start failures. */
function privateDir(path: string, what: string): string | undefined {
  try {
    return ensurePrivateDir(path, what);
  } catch (error) {
    if (error instanceof PrivatePathError) throw new DaemonStartError(error.message);
    throw new DaemonStartError(`cannot make ${what} ${path}: ${(error as Error).message}`);
  }
}

/** The value of COROLINK_AEAD that makes the daemon seal with node:crypto. */
const AEAD_NODE_CRYPTO = 'node-crypto';
/** The value of COROLINK_UDP that makes the link sockets node:dgram's. */
const UDP_NODE_DGRAM = 'node-dgram';

/** Whether the environment variable `name` asks for `value`; any other value is logged as ignored. */
function environmentAsks(name: string, value: string, logger: Logger): boolean {
  const choice = process.env[name] || undefined;
  if (choice !== undefined && choice !== value) {
    logger.log('warning', 'MAIN', `${name}=${choice} is not a known value (${value}): ignored`);
  }
  return choice === value;
}

/**
 * Starts this process's cluster node. It is the process's daemon: it sets DAEMON_V8_RUNTIME_FLAGS on the process's V8
 * and the scheduling `system {}` asks for (docs/daemon.md "Memory", "Scheduling"), so an embedding program gets both.
 */
export async function startDaemon(options: DaemonOptions): Promise<RunningDaemon> {
  // Before the node's traffic makes V8 weigh its literals (src/base/limits.ts): this process is the daemon.
  for (const flag of DAEMON_V8_RUNTIME_FLAGS) setFlagsFromString(flag);
  const checked = await loadValidConfig(options.configPath);
  const identity = findLocalNode(checked.config.nodes, {
    ...(options.nodeId === undefined ? {} : { nodeId: options.nodeId }),
    ...(options.name === undefined ? {} : { name: options.name }),
  });
  if (!identity.ok) throw new DaemonStartError(identity.message);
  await options.prepare?.(checked);
  const authkey = checked.effective.crypto.cipher === 'none' ? undefined : await readAuthkey(options.authkeyPath);
  const tokenTrace = checked.config.logging.debug === 'trace' || process.env.COROLINK_TOKEN_TRACE === '1';
  const logging = loggingSetup(
    tokenTrace ? { ...checked.config.logging, debug: 'trace' } : checked.config.logging,
    checked.config.loggerSubsys,
    {
      forceStderr: options.forceStderr !== false,
      nodeId: identity.node.nodeid,
      ...(identity.node.name ? { host: identity.node.name } : {}),
    },
  );
  const logger = new Logger(logging.options);
  logger.log('notice', 'MAIN', `corolink ${VERSION} starting: node ${identity.node.nodeid} (found by ${identity.how})`);
  for (const warning of [...logging.warnings, ...logger.startupWarnings()]) logger.log('warning', 'MAIN', warning);
  // COROLINK_AEAD=node-crypto: seal with node:crypto even where the native addon loads (to compare the two);
  // COROLINK_UDP=node-dgram: read and write the link sockets with node:dgram even where the addon loads.
  const nodeCrypto = environmentAsks('COROLINK_AEAD', AEAD_NODE_CRYPTO, logger);
  const nodeDgram = environmentAsks('COROLINK_UDP', UDP_NODE_DGRAM, logger);
  const { scheduling } = checked.effective;
  applyScheduling(options.noSchedRr ? { ...scheduling, schedRr: false } : scheduling, (level, message) =>
    logger.log(level, 'MAIN', message),
  );
  const stateDir = options.stateDir ?? DEFAULT_STATE_DIR;
  for (const [path, what] of [
    [stateDir, 'the state directory'],
    [dirname(options.socketPath), 'the admin socket directory'],
  ] as const) {
    const note = privateDir(path, what);
    if (note !== undefined) logger.log('warning', 'MAIN', note);
  }
  let appAccess: Awaited<ReturnType<typeof appAccessOf>>;
  try {
    appAccess = await appAccessOf(checked, options.configPath, logger);
  } catch (error) {
    throw new DaemonStartError((error as Error).message);
  }
  let cfs: CfsService;
  try {
    cfs = new CfsService(stateDir, identity.node.nodeid!, (level, message) => logger.log(level, 'CFS', message));
  } catch (error) {
    throw new DaemonStartError(`cannot open the file store in ${stateDir}: ${(error as Error).message}`);
  }
  const probe = new LinkProbeService((level, message) => logger.log(level, 'KNET', message));
  const haLog = (level: LogLevel, message: string) => logger.log(level, 'HA', message);
  // HA runs when the cluster config says so (`corolink { ha: yes }`), with the real agents and a watchdog
  // supervisor beside the admin socket; an embedding program (tests) may hand in its own.
  const haFactories =
    options.ha ??
    (checked.config.corolink.ha === true
      ? supervisedHa(
          options.socketPath,
          checked.config.corolink.ha_fence_timeout,
          options.exitWithParent === true,
          haLog,
        )
      : undefined);
  const ha = haFactories === undefined ? undefined : haManager(haFactories, checked, identity.node.nodeid!, cfs, haLog);
  const linkView = new LinkViewService();
  const cfg = new CfgService(identity.node.nodeid!, (level, message) => logger.log(level, 'CFG', message));
  const engine = await NodeEngine.start({
    checked,
    localNode: identity.node,
    authkey,
    logger,
    stateDir,
    tokenTrace,
    ...(nodeCrypto ? { aead: NODE_CRYPTO_AEAD } : {}),
    ...(nodeDgram ? { datagramEngine: NODE_DGRAM_ENGINE } : {}),
    services: (context) => [
      ...cfs.services(context),
      probe.serviceEngine,
      linkView.serviceEngine,
      ...(ha?.services(context) ?? []),
      cfg.serviceEngine,
    ],
  }).catch((error) => {
    cfs.close();
    throw new DaemonStartError(`cannot start the links: ${(error as Error).message}`);
  });
  cfs.attach(engine);
  probe.attach(engine);
  ha?.attach(engine);
  linkView.attach(engine);
  const cmapMembers = new CmapMembers(engine);
  // The qdevice-net client logs in corosync-qdevice's words under QDEVICE; with TLS it presents the certificate
  // `corolink qdevice setup` installed beside corosync.conf.
  const qdeviceFactory: QdeviceFactory =
    options.qdeviceFactory ??
    ((netOptions) =>
      createQdeviceNet(
        netOptions.tls === 'off' ? netOptions : { ...netOptions, tlsFiles: qdeviceTlsFiles(options.configPath) },
        (level, subsystem, message) => logger.log(level, subsystem, message),
      ));
  const qdevice = new QdeviceService(engine, qdeviceFactory, (level, message) => logger.log(level, 'QUORUM', message));
  await qdevice.start();
  const clusterConfig = new ClusterConfigService(engine, cfs, options.configPath, logger, probe);
  const join = new JoinService(engine, cfs, clusterConfig, logger);
  const configVersion = () => engine.checked.effective.totem.configVersion;
  // `corolink shutdown` (corosync-cfgtool -H): the host of this daemon (the `daemon` command) stops it as on SIGTERM.
  let shutdownListener: (() => void) | undefined;
  const shutdownHandler = () => {
    if (shutdownListener === undefined) {
      throw new AdminError('refused', 'this daemon is embedded in another program: stop it there');
    }
    logger.log('notice', 'MAIN', 'shutdown requested through the admin socket (corolink shutdown)');
    setImmediate(shutdownListener);
    return { ok: true };
  };
  const handlers: Handlers = {
    shutdown: shutdownHandler,
    ...statusHandlers(engine, logger, linkView),
    ...cmapHandlers(engine, cmapMembers, cfg),
    ...cpgHandlers(engine),
    ...cfsHandlers(cfs),
    ...configHandlers(clusterConfig, configVersion),
    ...joinHandlers(join),
    ...qdeviceHandlers(qdevice),
    ...haHandlers(() => ha),
  };
  const admin = new AdminSocketServer(options.socketPath, handlers);
  const appPath = appSocketPath(options.socketPath);
  let app: Awaited<ReturnType<typeof openAppSocket>> | undefined;
  const sockets = {
    broadcast: (topic: string, data: unknown) => {
      admin.broadcast(topic, data);
      app?.server.broadcast(topic, data);
    },
  };
  wireEvents(engine, logger, sockets);
  const stopHaEvents = ha === undefined ? undefined : broadcastHaEvents(ha, sockets);
  const abandon = async (what: string, error: unknown) => {
    await qdevice.stop();
    await engine.stop();
    await join.close();
    cfs.close();
    return new DaemonStartError(`cannot open ${what}: ${(error as Error).message}`);
  };
  try {
    await admin.listen();
  } catch (error) {
    throw await abandon(`the admin socket ${options.socketPath}`, error);
  }
  try {
    app = await openAppSocket(appPath, handlers, appAccess, logger);
  } catch (error) {
    await admin.close();
    throw await abandon(`the application socket ${appPath}`, error);
  }
  const appSocket = app;
  const stopAuthWatch = watchAuthFailures(engine, logger);
  logger.log('notice', 'MAIN', 'Corolink Cluster Engine started and ready to provide service.');
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      stopAuthWatch();
      stopHaEvents?.();
      clusterConfig.close();
      if (ha) {
        const policy = engine.checked.config.corolink.ha_shutdown_policy as HaShutdownPolicy | undefined;
        const { freeze, why } = await shutdownFreezes(policy);
        await ha.shutdown(freeze, why);
      }
      await qdevice.stop();
      await engine.stop();
      await ha?.close();
      await admin.close();
      await appSocket.close();
      await join.close();
      cfs.close();
      logger.log('notice', 'MAIN', 'Corolink Cluster Engine exiting normally');
      await logger.close();
    })();
    return stopping;
  };
  const serviceCounters = (): ServiceCounters => ({
    cfsWrites: cfs.core.counters.writes,
    cfsStoreFailures: { ...cfs.core.counters.storageFailures },
    joins: join.counters.joined,
    joinRefused: { ...join.counters.refused },
    adminRefused: {
      bad_request: admin.counters.badRequests + appSocket.server.counters.badRequests,
      slow_client: admin.counters.slowClientsClosed + appSocket.server.counters.slowClientsClosed,
      accept_failed: admin.counters.acceptErrors + appSocket.server.counters.acceptErrors,
      forbidden: appSocket.server.counters.forbidden,
      peer_not_allowed: appSocket.server.counters.peersRefused,
      listings_waiting: cfs.listings.refused,
      totem_queue_full: engine.queueFullRefused,
      ...engine.cpgRefused,
    },
    ...qdeviceCounters(qdevice),
  });
  const haStatus = () => (ha === undefined ? undefined : haStatusJson(ha.status()));
  const clusterLinks = () => linkView.clusterLinks();
  // `corolink kill` of this node (corosync-cfgtool -k) stops it as `corolink shutdown` does.
  cfg.attach(engine, () => shutdownListener);
  const onShutdownRequest = (listener: () => void) => {
    shutdownListener = listener;
  };
  return {
    engine,
    logger,
    admin,
    app: appSocket.server,
    cfs,
    qdevice,
    ha,
    haStatus,
    clusterLinks,
    onShutdownRequest,
    serviceCounters,
    stop,
  };
}

function qdeviceCounters(qdevice: QdeviceService): Pick<ServiceCounters, 'qdevice'> {
  const status = qdevice.status();
  if (status === null) return {};
  const heartbeat = status.net.lastHeartbeatAt;
  return {
    qdevice: {
      connected: status.net.state === 'connected',
      lastHeartbeatAgeMs: heartbeat === null ? null : Math.max(0, performance.now() - heartbeat),
    },
  };
}

/** The HA factories of a real node: one resource runner shared with the watchdog supervisor it feeds. */
function supervisedHa(
  socketPath: string,
  fenceTimeoutMs: number | undefined,
  exitWithParent: boolean,
  log: (level: LogLevel, message: string) => void,
): NonNullable<DaemonOptions['ha']> {
  const runner = new ResourceRunner();
  return {
    runner: () => runner,
    watchdog: (timings) =>
      SupervisedWatchdog.open({ ...haWatchdogPaths(socketPath), runner, timings, exitWithParent, log }),
    ...(fenceTimeoutMs === undefined ? {} : { fenceTimeoutMs }),
  };
}

function haManager(
  factories: NonNullable<DaemonOptions['ha']>,
  checked: CheckedConfig,
  localNodeId: number,
  cfs: CfsService,
  log: (level: 'notice' | 'warning', message: string) => void,
): HaManager {
  const timings = haTimings(checked.effective.totem, factories.fenceTimeoutMs);
  return new HaManager({
    localNodeId,
    nodes: checked.effective.nodes.filter((n) => n.nodeId !== null).map((n) => ({ nodeId: n.nodeId!, name: n.name })),
    timings,
    runner: factories.runner(),
    watchdog: factories.watchdog(timings),
    store: cfs,
    log,
  });
}

function wireEvents(engine: NodeEngine, logger: Logger, admin: Pick<AdminSocketServer, 'broadcast'>): void {
  logger.subscribe((record) => admin.broadcast('log', logRecordJson(record)));
  engine.on('link', (event) => admin.broadcast('link', event));
  engine.on('membership', (event) => admin.broadcast('membership', event));
  engine.on('quorum', () => admin.broadcast('quorum', quorumState(engine)));
  // A vote count changed without a quorum callback (`corolink votes`): `quorum --monitor` shows it too.
  engine.on('serviceOutput', (service, output) => {
    if (service === QUORUM_SERVICE_ID && (output as QuorumServiceOutput).type === 'figures') {
      admin.broadcast('quorum', quorumState(engine));
    }
  });
}
