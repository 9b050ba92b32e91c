/**
 * Reassembly of fragmented messages from one peer, with bounded memory.
 *
 * knet reassembles in per-host defrag buffers (32 in 1.x, dynamic since kronosnet PR #357/#359). corolink keeps
 * at most PARTIAL_MESSAGES_PER_PEER_MAX partial messages and REASSEMBLY_BYTES_PER_PEER_MAX bytes per peer and
 * evicts the oldest partial message beyond either bound (counted). Fragments of one message may arrive over
 * different links, in any order, duplicated: a fragment is identified by (message seq, index). The sender cuts
 * every fragment but the last to the same size, so the receiver checks that the pieces tile the message exactly
 * (offset = index × size) and drops the partial message on any inconsistency.
 */
import { PARTIAL_MESSAGES_PER_PEER_MAX, REASSEMBLY_BYTES_PER_PEER_MAX } from './limits.ts';

/** One received fragment, as decoded from the wire. */
export interface FragmentIn {
  seq: number;
  messageBytes: number;
  offset: number;
  index: number;
  count: number;
  payload: Uint8Array;
}

/** Outcome of adding a fragment. */
export type ReassemblyResult =
  | { status: 'incomplete' }
  | { status: 'complete'; message: Uint8Array }
  | { status: 'duplicate_fragment' }
  | { status: 'fragment_mismatch' };

interface Partial {
  messageBytes: number;
  count: number;
  buffer: Uint8Array;
  received: Uint8Array;
  receivedCount: number;
  /** Size of every fragment but the last; 0 until one such fragment arrived. */
  chunkBytes: number;
  /** Offset of the last fragment; −1 until it arrived. */
  lastOffset: number;
}

/** Where evictions are counted (shared by every peer's reassembler). */
export interface EvictionCounter {
  reassemblyEvictions: number;
}

/** Partial messages of one peer, oldest first. */
export class Reassembler {
  private readonly partials = new Map<number, Partial>();
  private bufferedBytes = 0;

  constructor(private readonly counter: EvictionCounter) {}

  /** Adds a fragment; returns the whole message when this fragment completes it. */
  add(fragment: FragmentIn): ReassemblyResult {
    let partial = this.partials.get(fragment.seq);
    if (partial === undefined) {
      partial = this.start(fragment);
    } else if (partial.messageBytes !== fragment.messageBytes || partial.count !== fragment.count) {
      this.drop(fragment.seq, partial);
      return { status: 'fragment_mismatch' };
    }
    if (partial.received[fragment.index] === 1) return { status: 'duplicate_fragment' };
    if (!fitsLayout(partial, fragment)) {
      this.drop(fragment.seq, partial);
      return { status: 'fragment_mismatch' };
    }
    partial.buffer.set(fragment.payload, fragment.offset);
    partial.received[fragment.index] = 1;
    partial.receivedCount++;
    if (partial.receivedCount < partial.count) return { status: 'incomplete' };
    this.drop(fragment.seq, partial);
    const tiles = partial.count === 1 || partial.lastOffset === (partial.count - 1) * partial.chunkBytes;
    return tiles ? { status: 'complete', message: partial.buffer } : { status: 'fragment_mismatch' };
  }

  /** Number of partial messages held. */
  get partialCount(): number {
    return this.partials.size;
  }

  /** Bytes allocated for partial messages. */
  get partialBytes(): number {
    return this.bufferedBytes;
  }

  /** Drops every partial message (host down, sender restarted). */
  clear(): void {
    this.partials.clear();
    this.bufferedBytes = 0;
  }

  private start(fragment: FragmentIn): Partial {
    while (
      this.partials.size >= PARTIAL_MESSAGES_PER_PEER_MAX ||
      (this.partials.size > 0 && this.bufferedBytes + fragment.messageBytes > REASSEMBLY_BYTES_PER_PEER_MAX)
    ) {
      const [oldestSeq, oldest] = this.partials.entries().next().value as [number, Partial];
      this.drop(oldestSeq, oldest);
      this.counter.reassemblyEvictions++;
    }
    const partial: Partial = {
      messageBytes: fragment.messageBytes,
      count: fragment.count,
      buffer: new Uint8Array(fragment.messageBytes),
      received: new Uint8Array(fragment.count),
      receivedCount: 0,
      chunkBytes: 0,
      lastOffset: -1,
    };
    this.partials.set(fragment.seq, partial);
    this.bufferedBytes += fragment.messageBytes;
    return partial;
  }

  private drop(seq: number, partial: Partial): void {
    this.partials.delete(seq);
    this.bufferedBytes -= partial.messageBytes;
  }
}

/** Checks the fragment against the equal-size layout; records the chunk size / last offset it reveals. */
function fitsLayout(partial: Partial, fragment: FragmentIn): boolean {
  const length = fragment.payload.length;
  if (fragment.index === partial.count - 1) {
    if (fragment.offset + length !== partial.messageBytes) return false;
    partial.lastOffset = fragment.offset;
    return true;
  }
  if (fragment.offset !== fragment.index * length) return false;
  if (partial.chunkBytes !== 0 && partial.chunkBytes !== length) return false;
  partial.chunkBytes = length;
  return true;
}
