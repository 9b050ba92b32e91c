/**
 * CPG (src/cpg) as the stack's service engine 2: a transitional configuration removes the departed nodes' members
 * at once (confchg); its SYNC exchange of local memberships is the sync phase after a regular configuration,
 * complete once the group view is rebuilt and CPG is operational again. No `syncAbort`: the transitional configuration
 * that interrupts a sync already abandons it in the core. No `syncActivate`: CPG delivers the new view and the held
 * messages when its own sync completes.
 */
import { assert } from '../base/assert.ts';
import type { CpgAction, CpgOptions } from '../cpg/index.ts';
import { Cpg } from '../cpg/index.ts';
import type { ConfigChange, EngineAction, RegularChange, ServiceEngine } from './service-engine.ts';
import type { StackEvent } from './stack.ts';

/** CPG's service id: the first byte of its Totem payloads. */
export const CPG_SERVICE_ID = 2;
/** The service id's byte (stack.ts): left free at the start of each of the core's multicasts. */
const SERVICE_ID_FREE_BYTES = 1;

export class CpgEngine implements ServiceEngine {
  readonly id = CPG_SERVICE_ID;
  readonly name = 'CPG';
  readonly requests = ['cpgJoin', 'cpgLeave', 'cpgMulticast', 'processDown'] as const;
  readonly core: Cpg;
  /** The array the last step returned, rewritten in place by {@link run}. */
  private previousActions: CpgAction[] | undefined;

  /** The core leaves the first byte of each multicast free for the service id (`serviceIdFree`, no copy). */
  constructor(options: Omit<CpgOptions, 'payloadHeadroomBytes'>, now: number) {
    this.core = new Cpg({ ...options, payloadHeadroomBytes: SERVICE_ID_FREE_BYTES }, now);
  }

  request(event: StackEvent, now: number): EngineAction[] {
    switch (event.type) {
      case 'cpgJoin':
        return this.run(this.core.step({ type: 'localJoin', group: event.group, pid: event.pid }, now));
      case 'cpgLeave':
        return this.run(this.core.step({ type: 'localLeave', group: event.group, pid: event.pid }, now));
      case 'cpgMulticast': {
        const { group, pid, payload, guarantee } = event;
        return this.run(this.core.step({ type: 'localMulticast', group, pid, payload, guarantee }, now));
      }
      case 'processDown':
        return this.run(this.core.step({ type: 'processDown', pid: event.pid }, now));
      default:
        return [];
    }
  }

  deliver(sender: number, payload: Uint8Array, now: number): EngineAction[] {
    return this.run(this.core.step({ type: 'totemDeliver', sender, payload }, now));
  }

  confchg(change: ConfigChange, now: number): EngineAction[] {
    if (change.kind !== 'transitional') return this.run(this.core.step({ type: 'transitionalEnd' }, now));
    return this.run(this.core.step({ type: 'totemConfigChange', ...change }, now));
  }

  syncInit(change: RegularChange, now: number): EngineAction[] {
    return this.run(this.core.step({ type: 'totemConfigChange', ...change }, now));
  }

  syncProcess(): boolean {
    return this.core.isOperational();
  }

  nextDeadline(): number {
    return this.core.nextDeadline();
  }

  tick(now: number): EngineAction[] {
    return this.run(this.core.step({ type: 'tick' }, now));
  }

  /**
   * The core's actions as the stack's, in the same array (no copy per delivered message): they are the stack's own
   * shapes (CpgAction names them so) except Totem multicasts, which become the stack's `multicast`. Rewriting in
   * place is safe only because the core returns a new array from every step and keeps none: asserted against the
   * previous step's array, the one a core reusing an output buffer would return again.
   */
  private run(actions: CpgAction[]): EngineAction[] {
    assert(actions !== this.previousActions, 'CpgEngine: the CPG core returns a new action array from every step');
    this.previousActions = actions;
    const out: (CpgAction | EngineAction)[] = actions;
    for (let i = 0; i < out.length; i++) {
      const action = out[i]!;
      if (action.type === 'totemMulticast') {
        out[i] = { type: 'multicast', payload: action.payload, guarantee: action.guarantee, serviceIdFree: true };
      }
    }
    return out as EngineAction[];
  }
}
