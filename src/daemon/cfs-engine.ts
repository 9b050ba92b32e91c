/**
 * The replicated file store (src/cfs/core.ts) as the stack's service engine 3. Every daemon runs it, so its view
 * is the Totem membership: a regular configuration change suspends writes (confchg), and its sync — summaries, then the
 * source's state when they differ — is the last sync phase, after votequorum's and CPG's. Messages above one Totem
 * payload (a file of up to 1 MiB, a state chunk) are fragmented as CPG's are. The store itself (SQLite) is the
 * adapter the daemon hands in; clients' writes come as `serviceRequest`s and are answered by `serviceOutput`s.
 *
 * Every message of the store is multicast `safe`: a write is applied and acknowledged where Totem delivers it in the
 * regular configuration, and an agreed delivery there does not mean the others have it. Seed 305 of the whole-stack
 * soak (`--nodes 3 --links 2 --safety-ms 2000`): node 1, partitioned at 1147 ms while holding the token, delivered
 * its own write at 1182.0 ms and acknowledged it as version 6; nodes 2 and 3 never received it and gave version 6
 * to another write. A safe message is delivered in the regular configuration only once every member has it; the
 * others may get it only in their transitional configuration, so writes are applied there too (the core's
 * `transitional`), and suspended at the next regular configuration (docs/cfs.md).
 */
import { type CfsAction, CfsCore, type CfsEvent, type CfsResult, type CfsStorage } from '../cfs/core.ts';
import { fragment, Reassembler } from '../cpg/fragments.ts';
import { DEFAULT_TOTEM_PAYLOAD_BYTES_MAX } from '../cpg/index.ts';
import type { ConfigChange, EngineAction, RegularChange, ServiceEngine } from './service-engine.ts';
import type { StackEvent } from './stack.ts';

/** The file store's service id: the first byte of its Totem payloads. */
export const CFS_SERVICE_ID = 3;

/** A client's write, a stale copy's request for a resync, a failed commit, as the daemon submits it (`serviceRequest`). */
export type CfsRequest = Extract<CfsEvent, { type: 'put' | 'rm' | 'resync' | 'storeFailed' }>;

/** What the engine tells the daemon (`serviceOutput` from CFS_SERVICE_ID). */
export type CfsOutput =
  /** A write's outcome, for the client that submitted `req`. */
  | { type: 'done'; req: number; result: CfsResult }
  /** A write was committed or a sync finished: the store's content may have changed. */
  | { type: 'changed' };

export class CfsEngine implements ServiceEngine {
  readonly id = CFS_SERVICE_ID;
  readonly name = 'CFS';
  readonly requests = [] as const;
  readonly core: CfsCore;
  private readonly reassembler = new Reassembler();
  private readonly totemPayloadBytesMax: number;

  /**
   * `quorate`: votequorum's verdict now (the stack's); `totemPayloadBytesMax`: the largest payload the engine may
   * hand the stack (its service id not counted).
   */
  constructor(
    localNodeId: number,
    private readonly store: CfsStorage,
    private readonly quorate: () => boolean,
    totemPayloadBytesMax = DEFAULT_TOTEM_PAYLOAD_BYTES_MAX,
  ) {
    this.core = new CfsCore(localNodeId, store);
    this.totemPayloadBytesMax = totemPayloadBytesMax;
  }

  request(event: StackEvent): EngineAction[] {
    return event.type === 'serviceRequest' ? this.run(event.request as CfsRequest) : [];
  }

  deliver(sender: number, payload: Uint8Array): EngineAction[] {
    const result = this.reassembler.add(sender, payload);
    if (result.kind === 'partial') return [];
    if (result.kind === 'malformed') return [log('warning', `dropped a message from node ${sender}: ${result.reason}`)];
    return this.run({ type: 'deliver', sender, payload: result.message, quorate: this.quorate() });
  }

  /**
   * Transitional: the old ring's remaining messages (fragments included) are still delivered and applied. Regular:
   * a message cut by the change can never reach every member of the next view (virtual synchrony): forgotten.
   */
  confchg(change: ConfigChange): EngineAction[] {
    if (change.kind === 'transitional') return this.run({ type: 'transitional' });
    this.reassembler.forgetAll();
    return this.run({ type: 'suspend' });
  }

  syncInit(change: RegularChange): EngineAction[] {
    return this.run({ type: 'confchg', members: change.members, ring: change.ringId.seq });
  }

  syncProcess(): boolean {
    return this.core.phase === 'synced';
  }

  private run(event: CfsEvent): EngineAction[] {
    const seqBefore = this.store.appliedSeq();
    const syncsBefore = this.core.counters.syncs;
    const out = this.core.step(event).flatMap((action) => this.convert(action));
    if (this.store.appliedSeq() !== seqBefore || this.core.counters.syncs !== syncsBefore) {
      out.push(output({ type: 'changed' }));
    }
    return out;
  }

  private convert(action: CfsAction): EngineAction[] {
    switch (action.type) {
      case 'multicast':
        return fragment(action.payload, this.totemPayloadBytesMax).map(
          (payload): EngineAction => ({ type: 'multicast', payload, guarantee: 'safe' }),
        );
      case 'done':
        return [output({ type: 'done', req: action.req, result: action.result })];
      case 'log':
        return [log(action.level, action.message)];
    }
  }
}

function output(value: CfsOutput): EngineAction {
  return { type: 'serviceOutput', service: CFS_SERVICE_ID, output: value };
}

function log(level: 'notice' | 'warning', message: string): EngineAction {
  return { type: 'log', level, subsystem: 'CFS', message };
}
