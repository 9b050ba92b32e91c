/**
 * corosync's cfg service as the stack's service engine 7 (the next free id; corosync numbers its services its own
 * way): a kill request
 * (`corosync-cfgtool -k`, `corolink kill`) reaches every member in agreed order, and the node it names is told
 * to shut down; the others log who asked. The engine decodes and checks the message (a malformed one is counted
 * and logged, never acted on); the daemon (./cfg-service.ts) does the shutting down. Nothing to sync.
 */
import type { EngineAction, ServiceEngine } from './service-engine.ts';
import type { StackEvent } from './stack.ts';

/** The cfg service's id: the first byte of its Totem payloads. */
export const CFG_SERVICE_ID = 7;
/** Longest reason a kill request carries (the rest is cut). */
export const KILL_REASON_CHARS_MAX = 256;

/** The request multicast to every member. */
export interface KillNodeMessage {
  type: 'killnode';
  nodeid: number;
  reason: string;
}

/** What the engine hands the daemon: this node was asked to shut down by `by`. */
export interface CfgOutput {
  type: 'killed';
  by: number;
  reason: string;
}

function decode(payload: Uint8Array): KillNodeMessage | undefined {
  try {
    const value = JSON.parse(Buffer.from(payload).toString('utf8')) as KillNodeMessage;
    if (value?.type === 'killnode' && Number.isInteger(value.nodeid) && typeof value.reason === 'string') {
      return { ...value, reason: value.reason.slice(0, KILL_REASON_CHARS_MAX) };
    }
  } catch {
    // Not JSON: malformed.
  }
  return undefined;
}

export class CfgEngine implements ServiceEngine {
  readonly id = CFG_SERVICE_ID;
  readonly name = 'CFG';
  readonly requests = [] as const;
  readonly counters = { malformed: 0, killRequests: 0 };

  constructor(private readonly localNodeId: number) {}

  /** A `serviceRequest` carries the KillNodeMessage to multicast. */
  request(event: StackEvent): EngineAction[] {
    if (event.type !== 'serviceRequest') return [];
    const message = event.request as KillNodeMessage;
    return [{ type: 'multicast', payload: Buffer.from(JSON.stringify(message)) }];
  }

  deliver(sender: number, payload: Uint8Array): EngineAction[] {
    const message = decode(payload);
    if (message === undefined) {
      this.counters.malformed++;
      return [
        {
          type: 'log',
          level: 'warning',
          subsystem: 'CFG',
          message: `dropped a malformed cfg message from node ${sender}`,
        },
      ];
    }
    this.counters.killRequests++;
    if (message.nodeid !== this.localNodeId) {
      return [
        {
          type: 'log',
          level: 'notice',
          subsystem: 'CFG',
          message: `node ${sender} asked node ${message.nodeid} to shut down: ${message.reason}`,
        },
      ];
    }
    const output: CfgOutput = { type: 'killed', by: sender, reason: message.reason };
    return [{ type: 'serviceOutput', service: this.id, output }];
  }
}
