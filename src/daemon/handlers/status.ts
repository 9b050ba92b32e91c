/**
 * Admin-socket methods that show and steer the local node: `status`, `links`, `clusterLinks` (every member's view
 * of every path, gathered through the ring), `quorum`, `setExpected`,
 * `setLinkEnabled`, `logs`, `logReopen` and `subscribe` (docs/contracts.md). Params arrive checked (src/ipc/methods.ts).
 */
import { performance } from 'node:perf_hooks';
import type { Handlers } from '../admin-socket.ts';
import type { NodeEngine } from '../engine.ts';
import type { LinkViewService } from '../link-view.ts';
import type { Logger, LogRecord } from '../log.ts';
import { buildLinks, buildQuorum, buildStatus } from '../status.ts';
import { refusal } from './refusal.ts';

/** Log lines returned by `logs` when the caller does not say. */
const DEFAULT_LOG_LINES = 100;

/** The JSON shape of a log record on the admin socket (ISO time). */
export function logRecordJson(record: LogRecord) {
  return { ...record, time: new Date(record.time).toISOString() };
}

type StatusHandlers = Pick<
  Handlers,
  'status' | 'links' | 'clusterLinks' | 'quorum' | 'setExpected' | 'setLinkEnabled' | 'logs' | 'logReopen' | 'subscribe'
>;

export function statusHandlers(engine: NodeEngine, logger: Logger, linkView: LinkViewService): StatusHandlers {
  return {
    status: () => buildStatus(engine),
    links: () => buildLinks(engine, performance.now()),
    clusterLinks: () => linkView.clusterLinks(),
    quorum: () => buildQuorum(engine),
    setExpected: ({ votes }) => {
      try {
        engine.setExpected(votes);
      } catch (error) {
        refusal(error);
      }
      return buildQuorum(engine);
    },
    setLinkEnabled: ({ link, enabled }) => {
      try {
        engine.setLinkEnabled(link, enabled);
      } catch (error) {
        refusal(error);
      }
      return { link, enabled };
    },
    logs: ({ lines = DEFAULT_LOG_LINES }) => ({
      lines: logger.recent(lines).map(logRecordJson),
    }),
    logReopen: () => ({ reopened: logger.reopen() }),
    subscribe: ({ topics }, connection) => {
      for (const topic of topics) connection.topics.add(topic);
      return { ok: true };
    },
  };
}
