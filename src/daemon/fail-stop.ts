/**
 * A failed assertion stops the daemon (TIGER_STYLE: corrupt code must not run on). The failure is logged with the
 * invariant and the protocol state, then the process exits with its own status; the peers see this node fail by
 * token timeout and form a ring without it, which is safe. It is never swallowed: drivers and request handlers
 * that catch errors let an AssertionError through, and one that escapes to the event loop is caught here too.
 */
import { AssertionError } from '../base/assert.ts';
import type { LogLevel, Subsystem } from './log.ts';

/** Exit status of a daemon stopped by a failed assertion (distinct from every other corolink exit code). */
export const ASSERTION_EXIT_CODE = 3;

/** Where the report goes: the daemon's logger. */
export type FailStopLog = (level: LogLevel, subsystem: Subsystem, message: string) => void;

/** Logs a failed assertion with `state()` (what the cores looked like) and ends the process. */
export function failStop(
  error: AssertionError,
  state: () => unknown,
  log: FailStopLog,
  exit: (code: number) => never = process.exit,
): never {
  log('error', 'MAIN', `Assertion failed: ${error.invariant}`);
  log('error', 'MAIN', `at ${error.stack?.split('\n').slice(1, 4).join(' ←').trim() ?? 'unknown'}`);
  let text: string;
  try {
    text = JSON.stringify(state());
  } catch (stateError) {
    text = `(state unavailable: ${(stateError as Error).message})`;
  }
  log('error', 'MAIN', `State at the failure: ${text}`);
  log('error', 'MAIN', `Corolink Cluster Engine exiting with status ${ASSERTION_EXIT_CODE} (assertion failed)`);
  return exit(ASSERTION_EXIT_CODE);
}

/**
 * Stops the process through {@link failStop} when an AssertionError escapes to the event loop (a socket or timer
 * callback); other uncaught errors keep Node's default handling. Returns the function that removes the watch.
 */
export function watchAssertions(state: () => unknown, log: FailStopLog): () => void {
  const monitor = (error: Error) => {
    if (error instanceof AssertionError) failStop(error, state, log);
  };
  process.on('uncaughtExceptionMonitor', monitor);
  return () => process.off('uncaughtExceptionMonitor', monitor);
}
