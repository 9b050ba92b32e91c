/**
 * votequorum (src/quorum) as the stack's service engine 1: its nodeinfo exchange is the first sync phase after a
 * regular configuration, complete once the core announced quorum for that ring (no `confchg`: votequorum acts on
 * regular configurations only, in its sync; no `syncActivate`: the announcement is the activation). The quorum
 * device API (`QdeviceRequest`) comes in as a `serviceRequest` for this engine; its answers and the sync's node
 * list go out as `serviceOutput` (`QuorumServiceOutput`).
 */
import type { QdeviceRequest, QuorumAction, QuorumOptions, RingId } from '../quorum/index.ts';
import { QuorumCore } from '../quorum/index.ts';
import type { EngineAction, RegularChange, ServiceEngine } from './service-engine.ts';
import type { StackEvent } from './stack.ts';

/** votequorum's service id: the first byte of its Totem payloads. */
export const QUORUM_SERVICE_ID = 1;

const sameRing = (a: RingId | null, b: RingId | undefined) => a !== null && a.rep === b?.rep && a.seq === b.seq;

/** What votequorum's `serviceOutput` carries: the answer to a device request, or a sync's node list. */
export type QuorumServiceOutput =
  | Extract<QuorumAction, { type: 'qdeviceResult' | 'qdeviceNodeList' }>
  /**
   * votequorum's figures (total, expected, quorum, a member's votes) changed without a quorum callback, e.g. after
   * `corolink votes`: what votequorum's notifications tell `corosync-quorumtool -m`.
   */
  | { type: 'figures' };

const QDEVICE_REQUESTS: ReadonlySet<string> = new Set([
  'qdeviceRegister',
  'qdeviceUnregister',
  'qdevicePoll',
  'qdeviceMasterWins',
] satisfies QdeviceRequest['type'][]);

/** A `serviceRequest` body is one of the device requests (the daemon's own calls; checked, never trusted blindly). */
function isQdeviceRequest(request: unknown): request is QdeviceRequest {
  const candidate = request as { type?: unknown; name?: unknown } | null;
  return (
    typeof candidate?.type === 'string' && QDEVICE_REQUESTS.has(candidate.type) && typeof candidate.name === 'string'
  );
}

export class QuorumEngine implements ServiceEngine {
  readonly id = QUORUM_SERVICE_ID;
  readonly name = 'QUORUM';
  readonly requests = ['setExpected', 'setVotes', 'reconfigure'] as const;
  readonly core: QuorumCore;
  /** The ring whose sync runs, until the core announces quorum for it. */
  private syncRing: RingId | undefined;

  constructor(options: QuorumOptions, now: number) {
    this.core = new QuorumCore(options, now);
  }

  request(event: StackEvent, now: number): EngineAction[] {
    switch (event.type) {
      case 'setExpected':
        return this.run(this.core.step({ type: 'setExpected', votes: event.votes }, now));
      case 'setVotes': {
        const { votes, nodeId } = event;
        return this.run(this.core.step({ type: 'setVotes', votes, ...(nodeId === undefined ? {} : { nodeId }) }, now));
      }
      case 'reconfigure':
        return this.run(this.core.step({ type: 'reconfigure', options: event.quorum }, now));
      case 'serviceRequest':
        if (!isQdeviceRequest(event.request)) throw new TypeError('votequorum: serviceRequest is not a device request');
        return this.run(this.core.step(event.request, now));
      default:
        return [];
    }
  }

  deliver(sender: number, payload: Uint8Array, now: number): EngineAction[] {
    const out = this.run(this.core.step({ type: 'receive', from: sender, payload }, now));
    if (!out.some((action) => action.type === 'quorum') && this.figuresChanged()) {
      out.push({ type: 'serviceOutput', service: this.id, output: { type: 'figures' } satisfies QuorumServiceOutput });
    }
    return out;
  }

  /** votequorum's figures as the tools show them, last seen; see QuorumServiceOutput `figures`. */
  private figures = '';

  private figuresChanged(): boolean {
    const s = this.core.snapshot();
    const figures = `${s.totalVotes} ${s.expectedVotes} ${s.quorum} ${s.members.map((m) => `${m.nodeId}:${m.votes}`).join(',')}`;
    const changed = figures !== this.figures;
    this.figures = figures;
    return changed;
  }

  syncInit(change: RegularChange, now: number): EngineAction[] {
    this.syncRing = change.ringId;
    return this.run(this.core.step({ type: 'configChange', ...change }, now));
  }

  syncProcess(): boolean {
    return this.syncRing === undefined;
  }

  syncAbort(): EngineAction[] {
    this.syncRing = undefined;
    return [];
  }

  nextDeadline(): number {
    return this.core.nextDeadline();
  }

  tick(now: number): EngineAction[] {
    return this.run(this.core.step({ type: 'tick' }, now));
  }

  private run(actions: QuorumAction[]): EngineAction[] {
    const out: EngineAction[] = [];
    for (const action of actions) {
      switch (action.type) {
        case 'broadcast':
          out.push({ type: 'multicast', payload: action.payload });
          break;
        case 'quorumChange': {
          const { quorate, changed, members, ringId } = action;
          if (sameRing(ringId, this.syncRing)) this.syncRing = undefined;
          out.push({ type: 'quorum', quorate, changed, members, ringId });
          break;
        }
        case 'requestResult':
          out.push({
            type: 'quorumRequest',
            request: action.request,
            ok: action.ok,
            ...(action.ok ? {} : { error: action.error }),
          });
          break;
        case 'qdeviceResult':
        case 'qdeviceNodeList':
          out.push({ type: 'serviceOutput', service: this.id, output: action });
          break;
        case 'reconfigureResult':
          // A refused reload is logged by votequorum itself (and it keeps running with its current data).
          break;
        case 'log':
          out.push(action);
          break;
      }
    }
    return out;
  }
}
