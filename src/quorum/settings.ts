/**
 * Turns the `quorum { }` options into the settings the votequorum core runs with, applying the startup rules of
 * exec/votequorum.c `votequorum_readconfig()` and man/votequorum.5: expected votes from the nodelist or
 * `expected_votes`, `wait_for_all` following `two_node` unless set, two_node disabled by auto_tie_breaker,
 * auto_tie_breaker disabled on an odd nodelist without wait_for_all (fatal together with last_man_standing).
 * Fatal configuration errors throw `QuorumConfigError` with corosync's message; adjustments come back as log
 * actions (corosync's LOG_CRIT/LOG_WARNING lines; CRIT maps to our `error` level). `reloadQuorumSettings()` applies
 * the same rules to a reloaded configuration, keeping the keys corosync reads only at startup.
 * A quorum device (`quorum.device` with a model) follows `votequorum_qdevice_is_configured()` and the device checks of
 * `votequorum_readconfig()`: its votes default to the node count - 1, added to expected votes.
 * Not supported (see docs/quorum.md): allow_downscale, expected_votes_tracking.
 */
// The default comes from the config layer, where every default is; the daemon passes the derived value.
import { UINT32_MAX } from '../base/limits.ts';
import {
  DEFAULT_LAST_MAN_STANDING_WINDOW_MS,
  DEFAULT_QDEVICE_SYNC_TIMEOUT_MS,
  DEFAULT_QDEVICE_TIMEOUT_MS,
} from '../config/defaults.ts';
import type { AutoTieBreakerNode, QuorumLogAction, QuorumOptions } from './types.ts';

/** The resolved auto_tie_breaker mode (votequorum.c `ATB_NONE/LOWEST/HIGHEST/LIST`). */
export type TieBreaker =
  | { kind: 'none' }
  | { kind: 'lowest' }
  | { kind: 'highest' }
  | { kind: 'list'; nodeIds: readonly number[] };

/** Settings after corosync's startup rules. */
export interface QuorumSettings {
  localNodeId: number;
  /** This node's votes. */
  votes: number;
  /** This node's initial expected votes. */
  expectedVotes: number;
  twoNode: boolean;
  waitForAll: boolean;
  lastManStanding: boolean;
  lastManStandingWindowMs: number;
  tieBreaker: TieBreaker;
  /** The configured quorum device; null without one. */
  device: QuorumDeviceSettings | null;
}

/** A configured quorum device (votequorum.c `qdevice->votes`, `qdevice_timeout`, `qdevice_sync_timeout`). */
export interface QuorumDeviceSettings {
  votes: number;
  timeoutMs: number;
  syncTimeoutMs: number;
}

/** A configuration votequorum refuses to start with. */
export class QuorumConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QuorumConfigError';
  }
}

/**
 * The keys votequorum reads only at startup (the `if (!runtime)` block of `votequorum_readconfig()`; corosync makes
 * them read-only in the cmap), as they were resolved then. A reload keeps these.
 */
export interface QuorumStartupKeys {
  /** `quorum.wait_for_all` as configured; undefined: it follows two_node, also on reload (`wait_for_all_autoset`). */
  waitForAll: boolean | undefined;
  lastManStanding: boolean;
  lastManStandingWindowMs: number;
  /** auto_tie_breaker as parsed, before the odd-cluster check (`initial_auto_tie_breaker`). */
  tieBreaker: TieBreaker;
}

type LogAt = (level: QuorumLogAction['level'], message: string) => void;

/** Applies votequorum's startup rules; throws `QuorumConfigError` on a fatal configuration. */
export function resolveQuorumSettings(options: QuorumOptions): {
  settings: QuorumSettings;
  log: QuorumLogAction[];
  startup: QuorumStartupKeys;
} {
  const { log, logAt } = collectLog();
  requireCount('localNodeId', options.localNodeId, 1);
  const startup = readStartupKeys(options, logAt);
  const settings = readRuntimeKeys(options, startup, logAt);
  return { settings, log, startup };
}

/**
 * The settings a running node takes from a reloaded configuration (`votequorum_readconfig(VOTEQUORUM_READCONFIG_RUNTIME)`):
 * the nodelist, `expected_votes`, `votes` and `two_node` are read again; wait_for_all (unless it follows two_node),
 * last_man_standing and auto_tie_breaker keep their startup values, auto_tie_breaker being checked again against
 * the new nodelist (odd total without wait_for_all: disabled, fatal with last_man_standing). Throws
 * `QuorumConfigError` where the startup rules would (corosync then goes on with its current runtime data).
 */
export function reloadQuorumSettings(
  options: QuorumOptions,
  startup: QuorumStartupKeys,
): { settings: QuorumSettings; log: QuorumLogAction[] } {
  const { log, logAt } = collectLog();
  requireCount('localNodeId', options.localNodeId, 1);
  const settings = readRuntimeKeys(options, startup, logAt);
  return { settings, log };
}

function collectLog(): { log: QuorumLogAction[]; logAt: LogAt } {
  const log: QuorumLogAction[] = [];
  const logAt: LogAt = (level, message) => {
    log.push({ type: 'log', level, subsystem: 'QUORUM', message });
  };
  return { log, logAt };
}

/** The `if (!runtime)` block of `votequorum_readconfig()`. */
function readStartupKeys(options: QuorumOptions, logAt: LogAt): QuorumStartupKeys {
  const lastManStandingWindowMs = options.lastManStandingWindowMs ?? DEFAULT_LAST_MAN_STANDING_WINDOW_MS;
  requireCount('lastManStandingWindowMs', lastManStandingWindowMs, 0);
  return {
    waitForAll: options.waitForAll,
    lastManStanding: options.lastManStanding ?? false,
    lastManStandingWindowMs,
    tieBreaker: resolveTieBreaker(options, logAt),
  };
}

/** Everything else `votequorum_readconfig()` does, at startup and on reload alike. */
function readRuntimeKeys(options: QuorumOptions, startup: QuorumStartupKeys, logAt: LogAt): QuorumSettings {
  const localEntry = options.nodelist?.find((node) => node.nodeId === options.localNodeId);
  const nodelistVotes = localEntry ? sumNodelistVotes(options.nodelist ?? []) : 0;
  const configuredExpected = options.expectedVotes ?? 0;
  requireCount('expectedVotes', configuredExpected, 0);
  if (!localEntry && configuredExpected === 0) {
    throw new QuorumConfigError('configuration error: nodelist or quorum.expected_votes must be configured!');
  }
  const votes = localEntry ? (localEntry.quorumVotes ?? 1) : (options.votes ?? 1);
  requireCount('votes', votes, 0);

  let tieBreaker = startup.tieBreaker;
  const lastManStanding = startup.lastManStanding;
  let twoNode = options.twoNode ?? false;
  if (twoNode && options.device) {
    throw new QuorumConfigError(
      'configuration error: two_node and quorum device cannot be configured at the same time!',
    );
  }
  const waitForAll = startup.waitForAll ?? twoNode;
  if (twoNode && tieBreaker.kind !== 'none') {
    logAt('error', 'two_node and auto_tie_breaker are both specified but are not compatible.');
    logAt('error', 'two_node has been disabled, please fix your corosync.conf');
    twoNode = false;
  }
  if (tieBreaker.kind !== 'none' && nodelistVotes % 2 === 1 && !waitForAll) {
    if (lastManStanding) {
      throw new QuorumConfigError(
        'configuration error: auto_tie_breaker & last_man_standing not available in odd sized cluster',
      );
    }
    logAt('error', 'auto_tie_breaker is set and the cluster has an odd number of nodes.');
    logAt('error', 'wait_for_all needs to be set for this configuration but it is missing');
    logAt('error', 'Therefore auto_tie_breaker has been disabled. Please fix your corosync.conf');
    tieBreaker = { kind: 'none' };
  }
  const nodeCount = localEntry ? (options.nodelist?.length ?? 0) : 0;
  const device = options.device
    ? resolveDevice(options.device, { lastManStanding, tieBreaker, configuredExpected, nodeCount, nodelistVotes })
    : null;
  const nodelistExpected = nodelistVotes + (device && options.device?.votes === undefined ? device.votes : 0);
  return {
    localNodeId: options.localNodeId,
    votes,
    expectedVotes: configuredExpected > 0 ? configuredExpected : nodelistExpected,
    twoNode,
    waitForAll,
    lastManStanding,
    lastManStandingWindowMs: startup.lastManStandingWindowMs,
    tieBreaker,
    device,
  };
}

/** The device checks of `votequorum_readconfig()`, in its order, and the automatic device votes. */
function resolveDevice(
  device: NonNullable<QuorumOptions['device']>,
  context: {
    lastManStanding: boolean;
    tieBreaker: TieBreaker;
    configuredExpected: number;
    nodeCount: number;
    nodelistVotes: number;
  },
): QuorumDeviceSettings {
  const fail = (message: string): never => {
    throw new QuorumConfigError(`configuration error: ${message}`);
  };
  if (context.lastManStanding) fail('quorum.device is not compatible with last_man_standing');
  if (context.tieBreaker.kind !== 'none') fail('quorum.device is not compatible with auto_tie_breaker');
  const { configuredExpected, nodeCount, nodelistVotes } = context;
  if (configuredExpected > 0 && device.votes === undefined) {
    fail('quorum.device.votes must be specified when quorum.expected_votes is set');
  }
  if (device.votes === undefined && nodeCount > 0 && nodeCount !== nodelistVotes) {
    fail('quorum.device.votes must be specified when not all nodes votes 1');
  }
  if (
    device.votes !== undefined &&
    device.votes > 0 &&
    configuredExpected > 0 &&
    configuredExpected - device.votes < 2
  ) {
    fail('quorum.device.votes is too high or expected_votes is too low');
  }
  const votes = device.votes ?? Math.max(0, nodelistVotes - 1);
  const timeoutMs = device.timeoutMs ?? DEFAULT_QDEVICE_TIMEOUT_MS;
  const syncTimeoutMs = device.syncTimeoutMs ?? DEFAULT_QDEVICE_SYNC_TIMEOUT_MS;
  requireCount('quorum.device.votes', votes, 0);
  requireCount('quorum.device.timeout', timeoutMs, 1);
  requireCount('quorum.device.sync_timeout', syncTimeoutMs, 1);
  return { votes, timeoutMs, syncTimeoutMs };
}

function sumNodelistVotes(nodelist: NonNullable<QuorumOptions['nodelist']>): number {
  let sum = 0;
  for (const node of nodelist) {
    requireCount(`quorum_votes of node ${node.nodeId}`, node.quorumVotes ?? 1, 0);
    sum += node.quorumVotes ?? 1;
  }
  return sum;
}

/**
 * The `quorum.auto_tie_breaker_node` key as written (`lowest`, `highest` or node ids separated by spaces);
 * undefined when the key is not set, so that only a key really set draws corosync's "meaningless" warning.
 */
export function parseAutoTieBreakerNode(text: string | undefined): AutoTieBreakerNode | undefined {
  if (text === undefined) return undefined;
  const value = text.trim();
  return value === 'lowest' || value === 'highest' ? value : value.split(/\s+/).map(Number);
}

function resolveTieBreaker(options: QuorumOptions, logAt: LogAt): TieBreaker {
  const node = options.autoTieBreakerNode;
  if (!options.autoTieBreaker) {
    if (node !== undefined) logAt('warning', 'auto_tie_breaker_node: is meaningless if auto_tie_breaker is set to 0');
    return { kind: 'none' };
  }
  if (node === undefined || node === 'lowest') return { kind: 'lowest' };
  if (node === 'highest') return { kind: 'highest' };
  const nodeIds = node.filter((id) => Number.isInteger(id) && id > 0);
  if (nodeIds.length > 0 && nodeIds.length === node.length) return { kind: 'list', nodeIds };
  logAt(
    'warning',
    "auto_tie_breaker_nodes is not valid. It must be 'lowest', 'highest' or a space-separated list of node IDs. auto_tie_breaker is disabled",
  );
  return { kind: 'none' };
}

function requireCount(name: string, value: number, minimum: number): void {
  if (!Number.isInteger(value) || value < minimum || value > UINT32_MAX) {
    throw new QuorumConfigError(`configuration error: ${name} must be an integer from ${minimum} to ${UINT32_MAX}`);
  }
}
