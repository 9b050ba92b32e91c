/**
 * Names the sources of packets that fail authentication (a node with the wrong authkey), once per interval and
 * source: "N packets from 127.0.40.2 failed authentication in the last 10 s — wrong authkey?" (docs/security.md).
 */
import type { NodeEngine } from './engine.ts';
import { REFUSAL_LOG_INTERVAL_MS } from './limits.ts';
import type { Logger } from './log.ts';

/** Starts the watch; returns its stop function. */
export function watchAuthFailures(engine: NodeEngine, logger: Logger): () => void {
  let previous: Record<string, number> = {};
  const seconds = REFUSAL_LOG_INTERVAL_MS / 1000;
  const timer = setInterval(() => {
    const current = engine.transportSnapshot().crypto.authFailedBySource;
    for (const [source, count] of Object.entries(current)) {
      const recent = count - (previous[source] ?? 0);
      if (recent > 0) {
        logger.log(
          'warning',
          'KNET',
          `${recent} packets from ${source} failed authentication in the last ${seconds} s — wrong authkey?`,
        );
      }
    }
    previous = current;
  }, REFUSAL_LOG_INTERVAL_MS).unref();
  return () => clearInterval(timer);
}
