/**
 * votequorum (src/quorum) as the stack's service engine 1: its nodeinfo exchange is the first sync phase after a
 * regular configuration, complete once the core announced quorum for that ring (no `confchg`: votequorum acts on
 * regular configurations only, in its sync; no `syncActivate`: the announcement is the activation).
 */
import type { QuorumAction, QuorumOptions, RingId } from '../quorum/index.ts';
import { QuorumCore } from '../quorum/index.ts';
import type { EngineAction, RegularChange, ServiceEngine } from './service-engine.ts';
import type { StackEvent } from './stack.ts';

/** votequorum's service id: the first byte of its Totem payloads. */
export const QUORUM_SERVICE_ID = 1;

const sameRing = (a: RingId | null, b: RingId | undefined) => a !== null && a.rep === b?.rep && a.seq === b.seq;

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
      default:
        return [];
    }
  }

  deliver(sender: number, payload: Uint8Array, now: number): EngineAction[] {
    return this.run(this.core.step({ type: 'receive', from: sender, payload }, now));
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
