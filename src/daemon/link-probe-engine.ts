/**
 * The agreed-order part of the link probe (./link-probe.ts) as the stack's service engine 4: a probe request
 * reaches every member at the same point of the agreed order, and every member's report reaches the requester.
 * The engine decodes and checks the messages (a malformed one is counted and logged, never passed on); the
 * daemon's side binds the sockets, probes and judges. Nothing to sync: a probe spans no configuration change
 * (the requester counts a missing report as a problem).
 */
import type { EngineAction, ServiceEngine } from './service-engine.ts';
import type { StackEvent } from './stack.ts';

/** The link probe's service id: the first byte of its Totem payloads. */
export const PROBE_SERVICE_ID = 4;

/** What the requester asks: the link, its port, and every node's address on it. */
export interface ProbeRequest {
  type: 'request';
  id: string;
  link: number;
  port: number;
  addresses: Record<string, string>;
}

/** One member's report: whom it heard, the lowest round trip to each peer that echoed, or why it could not listen. */
export interface ProbeReport {
  type: 'report';
  id: string;
  node: number;
  heard: number[];
  /** Node id → lowest round trip in ms (absent from a daemon that does not measure it). */
  rtt_ms?: Record<string, number>;
  error: string | null;
}

export type ProbeMessage = ProbeRequest | ProbeReport;

function decode(payload: Uint8Array): ProbeMessage | undefined {
  try {
    const value = JSON.parse(Buffer.from(payload).toString('utf8')) as ProbeMessage;
    if (typeof value?.id !== 'string') return undefined;
    if (value.type === 'request' && Number.isInteger(value.port) && typeof value.addresses === 'object') return value;
    if (value.type === 'report' && Number.isInteger(value.node) && Array.isArray(value.heard)) return value;
  } catch {
    // Not JSON: malformed.
  }
  return undefined;
}

export class LinkProbeEngine implements ServiceEngine {
  readonly id = PROBE_SERVICE_ID;
  readonly name = 'PROBE';
  readonly requests = [] as const;
  readonly counters = { malformed: 0 };

  /** A `serviceRequest` carries the ProbeMessage to multicast. */
  request(event: StackEvent): EngineAction[] {
    if (event.type !== 'serviceRequest') return [];
    return [{ type: 'multicast', payload: Buffer.from(JSON.stringify(event.request as ProbeMessage)) }];
  }

  /** Each message goes to the daemon as a `serviceOutput` (a ProbeMessage). */
  deliver(sender: number, payload: Uint8Array): EngineAction[] {
    const message = decode(payload);
    if (message !== undefined) return [{ type: 'serviceOutput', service: this.id, output: message }];
    this.counters.malformed++;
    return [
      {
        type: 'log',
        level: 'warning',
        subsystem: 'KNET',
        message: `dropped a malformed probe message from node ${sender}`,
      },
    ];
  }
}
