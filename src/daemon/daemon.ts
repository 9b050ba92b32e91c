/**
 * `corolink daemon`: loads corosync.conf and the authkey, finds the local node, starts the engine and the admin
 * socket, and leaves the cluster cleanly on SIGTERM/SIGINT (peers see a leave, not a failure).
 */
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { VERSION } from '../base/version.ts';
import { type CheckedConfig, formatDiagnostic, loadConfigFile } from '../config/index.ts';
import type { HaControl } from '../ha/contract.ts';
import type { ClusterLinksV1, HaStatusV1 } from '../ipc/schema.ts';
import { AdminSocketServer } from './admin-socket.ts';
import { watchAuthFailures } from './auth-failure-log.ts';
import { CfsService } from './cfs-service.ts';
import { ClusterConfigService } from './cluster-config.ts';
import { NodeEngine } from './engine.ts';
import { cfsHandlers } from './handlers/cfs.ts';
import { configHandlers } from './handlers/config.ts';
import { cpgHandlers } from './handlers/cpg.ts';
import { broadcastHaEvents, haHandlers, haStatusJson } from './handlers/ha.ts';
import { joinHandlers } from './handlers/join.ts';
import { logRecordJson, statusHandlers } from './handlers/status.ts';
import { findLocalNode } from './identity.ts';
import { JoinService } from './join-service.ts';
import { LinkProbeService } from './link-probe.ts';
import { LinkViewService } from './link-view.ts';
import { Logger } from './log.ts';
import { loggingSetup } from './log-config.ts';
import { ensurePrivateDir, PrivatePathError, secretModeProblem } from './private-fs.ts';
import { DEFAULT_STATE_DIR } from './ring-seq-file.ts';
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
}

/** A startup failure meant for the admin: one clear line. */
export class DaemonStartError extends Error {}

/** Counters of the daemon's services, for metrics. */
export interface ServiceCounters {
  /** Writes committed to the replicated file store. */
  cfsWrites: number;
  /** Nodes added with a join token through this member. */
  joins: number;
  /** Join attempts refused by this member, by reason (join-protocol error codes). */
  joinRefused: Record<string, number>;
  /** Admin socket refusals: bad requests, slow clients closed, accept errors. */
  adminRefused: Record<string, number>;
}

export interface RunningDaemon {
  engine: NodeEngine;
  logger: Logger;
  admin: AdminSocketServer;
  cfs: CfsService;
  /** The HA managers' admin seam; undefined when HA is not enabled on this node. */
  ha: HaControl | undefined;
  /** `ha`'s status in the admin socket's shape (the dashboard and metrics read it); undefined without HA. */
  haStatus(): HaStatusV1 | undefined;
  /** Every member's view of every path (the `clusterLinks` method, `/api/cluster-links`). */
  clusterLinks(): ClusterLinksV1;
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

export async function startDaemon(options: DaemonOptions): Promise<RunningDaemon> {
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
  const stateDir = options.stateDir ?? DEFAULT_STATE_DIR;
  for (const [path, what] of [
    [stateDir, 'the state directory'],
    [dirname(options.socketPath), 'the admin socket directory'],
  ] as const) {
    const note = privateDir(path, what);
    if (note !== undefined) logger.log('warning', 'MAIN', note);
  }
  let cfs: CfsService;
  try {
    cfs = new CfsService(stateDir, identity.node.nodeid!, (level, message) => logger.log(level, 'CFS', message));
  } catch (error) {
    throw new DaemonStartError(`cannot open the file store in ${stateDir}: ${(error as Error).message}`);
  }
  const probe = new LinkProbeService((level, message) => logger.log(level, 'KNET', message));
  const linkView = new LinkViewService();
  const engine = await NodeEngine.start({
    checked,
    localNode: identity.node,
    authkey,
    logger,
    stateDir,
    tokenTrace,
    services: (context) => [...cfs.services(context), probe.serviceEngine, linkView.serviceEngine],
  }).catch((error) => {
    cfs.close();
    throw new DaemonStartError(`cannot start the links: ${(error as Error).message}`);
  });
  cfs.attach(engine);
  probe.attach(engine);
  linkView.attach(engine);
  const clusterConfig = new ClusterConfigService(engine, cfs, options.configPath, logger, probe);
  const join = new JoinService(engine, cfs, clusterConfig, logger);
  const configVersion = () => engine.checked.effective.totem.configVersion;
  // The HA managers (docs/ha.md) plug in here; until then this node runs without HA and says so when asked.
  const ha = undefined as HaControl | undefined;
  const admin = new AdminSocketServer(options.socketPath, {
    ...statusHandlers(engine, logger, linkView),
    ...cpgHandlers(engine),
    ...cfsHandlers(cfs),
    ...configHandlers(clusterConfig, configVersion),
    ...joinHandlers(join),
    ...haHandlers(() => ha),
  });
  wireEvents(engine, logger, admin);
  const stopHaEvents = ha === undefined ? undefined : broadcastHaEvents(ha, admin);
  try {
    await admin.listen();
  } catch (error) {
    await engine.stop();
    await join.close();
    cfs.close();
    throw new DaemonStartError(`cannot open the admin socket ${options.socketPath}: ${(error as Error).message}`);
  }
  const stopAuthWatch = watchAuthFailures(engine, logger);
  logger.log('notice', 'MAIN', 'Corolink Cluster Engine started and ready to provide service.');
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      stopAuthWatch();
      stopHaEvents?.();
      clusterConfig.close();
      await engine.stop();
      await admin.close();
      await join.close();
      cfs.close();
      logger.log('notice', 'MAIN', 'Corolink Cluster Engine exiting normally');
      await logger.close();
    })();
    return stopping;
  };
  const serviceCounters = (): ServiceCounters => ({
    cfsWrites: cfs.core.counters.writes,
    joins: join.counters.joined,
    joinRefused: { ...join.counters.refused },
    adminRefused: {
      bad_request: admin.counters.badRequests,
      slow_client: admin.counters.slowClientsClosed,
      accept_failed: admin.counters.acceptErrors,
    },
  });
  const haStatus = () => (ha === undefined ? undefined : haStatusJson(ha.status()));
  const clusterLinks = () => linkView.clusterLinks();
  return { engine, logger, admin, cfs, ha, haStatus, clusterLinks, serviceCounters, stop };
}

function wireEvents(engine: NodeEngine, logger: Logger, admin: AdminSocketServer): void {
  logger.subscribe((record) => admin.broadcast('log', logRecordJson(record)));
  engine.on('link', (event) => admin.broadcast('link', event));
  engine.on('membership', (event) => admin.broadcast('membership', event));
  engine.on('quorum', () => admin.broadcast('quorum', quorumState(engine)));
}
