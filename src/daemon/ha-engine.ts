/**
 * The HA managers (src/ha/core.ts) as the stack's service engine 5. Its messages (JSON, fragmented as CPG's when a
 * status table outgrows one Totem payload) are multicast safe: with agreed delivery a node cut off while holding the
 * token delivered, applied and acknowledged its own `ha migrate` that the others never received (HA soak seed
 * 1207, docs/ha.md "What is acknowledged when"). A configuration change reaches the core as
 * Totem gives it, and the regular one (syncInit) starts the HA sync: every member multicasts its status table and
 * all take the same one once every member's is in. That exchange is the core's own, not a stack sync phase
 * (`syncProcess` is complete at once): a member without the HA engine then stalls only HA, never the stack.
 *
 * Requests (`serviceRequest` to HA_SERVICE_ID) are {@link HaEngineRequest}s from the daemon's HaManager; every
 * core action except multicast and log goes back to it as a `serviceOutput` (an {@link HaEngineOutput}).
 */
import { fragment, Reassembler } from '../cpg/fragments.ts';
import { DEFAULT_TOTEM_PAYLOAD_BYTES_MAX } from '../cpg/index.ts';
import { HaCore, type HaCoreAction, type HaCoreEvent, type HaCoreOptions } from '../ha/core.ts';
import { checkMessage } from '../ha/messages.ts';
import type { ConfigChange, EngineAction, RegularChange, ServiceEngine } from './service-engine.ts';
import type { StackEvent } from './stack.ts';

/** The HA managers' service id: the first byte of their Totem payloads. */
export const HA_SERVICE_ID = 5;

export type HaEngineRequest =
  | Extract<HaCoreEvent, { type: 'runResult' | 'admin' | 'configChanged' | 'shutdown' }>
  /** The daemon listens now: the outputs held since the engine started follow (see `holdOutputs`). */
  | { type: 'attached' };
export type HaEngineOutput = Exclude<HaCoreAction, { type: 'multicast' | 'log' }>;

export class HaEngine implements ServiceEngine {
  readonly id = HA_SERVICE_ID;
  readonly name = 'HA';
  readonly requests = [] as const;
  readonly core: HaCore;
  readonly counters = { malformed: 0 };
  private readonly reassembler = new Reassembler();
  private readonly totemPayloadBytesMax: number;

  /** Outputs held until the `attached` request (undefined once attached). */
  private held: EngineAction[] | undefined;

  /**
   * `holdOutputs`: the daemon starts listening to `serviceOutput` only after the node engine started, while the
   * stack may already run then; a `run` request lost meanwhile would leave a command unanswered forever.
   */
  constructor(options: HaCoreOptions, totemPayloadBytesMax = DEFAULT_TOTEM_PAYLOAD_BYTES_MAX, holdOutputs = false) {
    this.core = new HaCore(options);
    this.totemPayloadBytesMax = totemPayloadBytesMax;
    if (holdOutputs) this.held = [];
  }

  request(event: StackEvent, now: number): EngineAction[] {
    if (event.type !== 'serviceRequest') return [];
    const request = event.request as HaEngineRequest;
    if (request.type === 'attached') {
      const held = this.held ?? [];
      this.held = undefined;
      return held;
    }
    return this.run(request, now);
  }

  deliver(sender: number, payload: Uint8Array, now: number): EngineAction[] {
    const result = this.reassembler.add(sender, payload);
    if (result.kind === 'partial') return [];
    if (result.kind === 'malformed') return this.malformed(sender, result.reason);
    let value: unknown;
    try {
      value = JSON.parse(Buffer.from(result.message).toString('utf8'));
    } catch {
      return this.malformed(sender, 'not JSON');
    }
    const message = checkMessage(value);
    if (typeof message === 'string') return this.malformed(sender, message);
    return this.run({ type: 'deliver', sender, message }, now);
  }

  /**
   * Transitional: the old ring's remaining messages (fragments included) are still delivered and applied. Regular:
   * a message cut by the change can never reach every member of the next view (virtual synchrony): forgotten.
   */
  confchg(change: ConfigChange, now: number): EngineAction[] {
    if (change.kind !== 'transitional') {
      this.reassembler.forgetAll();
      return [];
    }
    return this.run(
      { type: 'confchg', kind: 'transitional', members: change.members, ringSeq: change.ringId.seq },
      now,
    );
  }

  syncInit(change: RegularChange, now: number): EngineAction[] {
    return this.run({ type: 'confchg', kind: 'regular', members: change.members, ringSeq: change.ringId.seq }, now);
  }

  nextDeadline(): number {
    return this.core.nextDeadline();
  }

  tick(now: number): EngineAction[] {
    return this.core.nextDeadline() <= now ? this.run({ type: 'tick' }, now) : [];
  }

  private run(event: HaCoreEvent, now: number): EngineAction[] {
    const out: EngineAction[] = [];
    for (const action of this.core.step(event, now)) {
      if (action.type === 'multicast') {
        const payload = Buffer.from(JSON.stringify(action.message));
        for (const part of fragment(payload, this.totemPayloadBytesMax)) {
          out.push({ type: 'multicast', payload: part, guarantee: 'safe' });
        }
      } else if (action.type === 'log') {
        out.push({ type: 'log', level: action.level, subsystem: 'HA', message: action.message });
      } else {
        const output: EngineAction = {
          type: 'serviceOutput',
          service: HA_SERVICE_ID,
          output: action satisfies HaEngineOutput,
        };
        if (this.held) this.held.push(output);
        else out.push(output);
      }
    }
    return out;
  }

  private malformed(sender: number, reason: string): EngineAction[] {
    this.counters.malformed++;
    return [
      { type: 'log', level: 'warning', subsystem: 'HA', message: `dropped a message from node ${sender}: ${reason}` },
    ];
  }
}
