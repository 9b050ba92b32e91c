/**
 * The daemon's "busy, retry" answer and the bounded retry of a CPG join or leave that met it (CPG's queue for the
 * end of a sync is full: libcpg's CS_ERR_TRY_AGAIN; docs/client.md "Flow control and backpressure").
 */
import { BackpressureError, DaemonRequestError } from './errors.ts';

/** First delay before a join or leave refused with backpressure goes again; it doubles per refusal. */
export const CPG_BUSY_RETRY_INITIAL_MS = 10;
/** Longest delay between two attempts of one join or leave. */
export const CPG_BUSY_RETRY_MAX_MS = 500;

/**
 * True when the daemon's answer means "queue full, retry": `refused` with a message that starts `backpressure`
 * (docs/contracts.md; a `backpressure` code is accepted too). Its other refusals of `cpgMcast`, `cpgJoin` and
 * `cpgLeave` — the daemon is stopping, CPG refused the request — are final: sending again would not help.
 */
export function isBackpressure(error: unknown): boolean {
  return (
    error instanceof DaemonRequestError &&
    (error.code === 'backpressure' || (error.code === 'refused' && error.message.startsWith('backpressure')))
  );
}

/**
 * Runs `attempt` until it is not refused with backpressure: again after CPG_BUSY_RETRY_INITIAL_MS, doubling up to
 * CPG_BUSY_RETRY_MAX_MS (each delay jittered down to half), as long as the next attempt starts within `budgetMs`.
 * Then it rejects with `BackpressureError` (the last refusal as its `cause`). Any other error rejects at once.
 */
export async function retryWhileBusy<T>(
  attempt: () => Promise<T>,
  budgetMs: number,
  what: string,
  group: string,
): Promise<T> {
  const deadline = performance.now() + budgetMs;
  for (let ceilingMs = CPG_BUSY_RETRY_INITIAL_MS; ; ceilingMs = Math.min(ceilingMs * 2, CPG_BUSY_RETRY_MAX_MS)) {
    try {
      return await attempt();
    } catch (error) {
      if (!isBackpressure(error)) throw error;
      const delayMs = ceilingMs * (0.5 + Math.random() / 2);
      if (performance.now() + delayMs > deadline) {
        throw new BackpressureError(
          `${what}: the daemon was busy for ${budgetMs} ms (${(error as Error).message})`,
          group,
          {
            cause: error,
          },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}
