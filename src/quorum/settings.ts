/**
 * Turns the `quorum { }` options into the settings the votequorum core runs with, applying the startup rules of
 * exec/votequorum.c `votequorum_readconfig()` and man/votequorum.5: expected votes from the nodelist or
 * `expected_votes`, `wait_for_all` following `two_node` unless set, two_node disabled by auto_tie_breaker,
 * auto_tie_breaker disabled on an odd nodelist without wait_for_all (fatal together with last_man_standing).
 * Fatal configuration errors throw `QuorumConfigError` with corosync's message; adjustments come back as log
 * actions (corosync's LOG_CRIT/LOG_WARNING lines; CRIT maps to our `error` level).
 * Not supported (see docs/quorum.md): quorum devices, allow_downscale, expected_votes_tracking.
 */
import type { QuorumLogAction, QuorumOptions } from './types.ts';

/** Default `last_man_standing_window` in ms (votequorum.c `DEFAULT_LMS_WIN`). */
export const DEFAULT_LAST_MAN_STANDING_WINDOW_MS = 10000;

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
}

/** A configuration votequorum refuses to start with. */
export class QuorumConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QuorumConfigError';
  }
}

/** Applies votequorum's startup rules; throws `QuorumConfigError` on a fatal configuration. */
export function resolveQuorumSettings(options: QuorumOptions): { settings: QuorumSettings; log: QuorumLogAction[] } {
  const log: QuorumLogAction[] = [];
  const logAt = (level: QuorumLogAction['level'], message: string): void => {
    log.push({ type: 'log', level, subsystem: 'QUORUM', message });
  };
  requireCount('localNodeId', options.localNodeId, 1);
  const localEntry = options.nodelist?.find((node) => node.nodeId === options.localNodeId);
  const nodelistVotes = localEntry ? sumNodelistVotes(options.nodelist ?? []) : 0;
  const configuredExpected = options.expectedVotes ?? 0;
  requireCount('expectedVotes', configuredExpected, 0);
  if (!localEntry && configuredExpected === 0) {
    throw new QuorumConfigError('configuration error: nodelist or quorum.expected_votes must be configured!');
  }
  const votes = localEntry ? (localEntry.quorumVotes ?? 1) : (options.votes ?? 1);
  requireCount('votes', votes, 0);

  let tieBreaker = resolveTieBreaker(options, logAt);
  const lastManStanding = options.lastManStanding ?? false;
  let twoNode = options.twoNode ?? false;
  const waitForAll = options.waitForAll ?? twoNode;
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
  const lastManStandingWindowMs = options.lastManStandingWindowMs ?? DEFAULT_LAST_MAN_STANDING_WINDOW_MS;
  requireCount('lastManStandingWindowMs', lastManStandingWindowMs, 0);
  return {
    settings: {
      localNodeId: options.localNodeId,
      votes,
      expectedVotes: configuredExpected > 0 ? configuredExpected : nodelistVotes,
      twoNode,
      waitForAll,
      lastManStanding,
      lastManStandingWindowMs,
      tieBreaker,
    },
    log,
  };
}

function sumNodelistVotes(nodelist: NonNullable<QuorumOptions['nodelist']>): number {
  let sum = 0;
  for (const node of nodelist) {
    requireCount(`quorum_votes of node ${node.nodeId}`, node.quorumVotes ?? 1, 0);
    sum += node.quorumVotes ?? 1;
  }
  return sum;
}

function resolveTieBreaker(
  options: QuorumOptions,
  logAt: (level: QuorumLogAction['level'], message: string) => void,
): TieBreaker {
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
  if (!Number.isInteger(value) || value < minimum || value > 0xffffffff) {
    throw new QuorumConfigError(`configuration error: ${name} must be an integer from ${minimum} to 4294967295`);
  }
}
