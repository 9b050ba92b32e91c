import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DeliveredWindow } from '../../src/transport/dedup.ts';
import { FrameStore } from '../../src/transport/frame-store.ts';
import {
  DEDUP_WINDOW_SEQS,
  FAILOVER_RING_FRAMES,
  FAILOVER_STORE_FRAMES,
  PARTIAL_MESSAGES_PER_PEER_MAX,
  REASSEMBLY_BYTES_PER_PEER_MAX,
} from '../../src/transport/limits.ts';
import { type FragmentIn, Reassembler } from '../../src/transport/reassembly.ts';
import { RecentFrames } from '../../src/transport/recent-frames.ts';

describe('duplicate filter', () => {
  test('delivers each sequence number once, across the 32-bit wrap', () => {
    const window = new DeliveredWindow();
    const seqs = [0xfffffffe, 0xffffffff, 0, 1];
    for (const seq of seqs) {
      assert.equal(window.check(seq), 'new');
      window.mark(seq);
    }
    for (const seq of seqs) assert.equal(window.check(seq), 'duplicate');
    assert.equal(window.check(2), 'new');
  });

  test('out-of-order arrivals inside the window are new once; older than the window is stale', () => {
    const window = new DeliveredWindow();
    window.mark(100);
    assert.equal(window.check(90), 'new');
    window.mark(90);
    assert.equal(window.check(90), 'duplicate');
    window.mark(100 + DEDUP_WINDOW_SEQS);
    assert.equal(window.check(100), 'stale');
    assert.equal(window.check(101), 'new', 'slot reused for a newer seq must have been cleared');
  });

  test('a jump wider than the window forgets everything; reset() forgets too', () => {
    const window = new DeliveredWindow();
    window.mark(5);
    window.mark(5 + 3 * DEDUP_WINDOW_SEQS);
    assert.equal(window.check(5 + 2 * DEDUP_WINDOW_SEQS + 1), 'new');
    window.reset();
    assert.equal(window.check(5 + 3 * DEDUP_WINDOW_SEQS), 'new');
  });
});

describe('reassembly', () => {
  const counter = { reassemblyEvictions: 0 };
  const message = Uint8Array.from({ length: 25 }, (_, i) => i);
  const fragment = (seq: number, index: number, chunk = 10): FragmentIn => {
    const offset = index * chunk;
    return {
      seq,
      messageBytes: message.length,
      offset,
      index,
      count: Math.ceil(message.length / chunk),
      payload: message.subarray(offset, Math.min(offset + chunk, message.length)),
    };
  };

  test('completes in any order and refuses duplicate fragments', () => {
    const reassembler = new Reassembler(counter);
    assert.equal(reassembler.add(fragment(1, 2)).status, 'incomplete');
    assert.equal(reassembler.add(fragment(1, 2)).status, 'duplicate_fragment');
    assert.equal(reassembler.add(fragment(1, 0)).status, 'incomplete');
    const done = reassembler.add(fragment(1, 1));
    assert.ok(done.status === 'complete');
    assert.deepEqual(done.message, message);
    assert.equal(reassembler.partialCount, 0);
    assert.equal(reassembler.partialBytes, 0);
  });

  test('pieces that do not tile the message drop the partial message', () => {
    const reassembler = new Reassembler(counter);
    reassembler.add(fragment(1, 0));
    assert.equal(reassembler.add({ ...fragment(1, 1), offset: 12 }).status, 'fragment_mismatch');
    assert.equal(reassembler.partialCount, 0);
    reassembler.add(fragment(2, 0));
    assert.equal(reassembler.add({ ...fragment(2, 1), count: 4 }).status, 'fragment_mismatch');
    // Last fragment placed so that the equal-size pieces leave a hole.
    reassembler.add(fragment(3, 0));
    reassembler.add(fragment(3, 1));
    assert.equal(
      reassembler.add({ ...fragment(3, 2), offset: 24, payload: message.subarray(24) }).status,
      'fragment_mismatch',
    );
  });

  test('bounded by partial messages and by bytes; the oldest is evicted and counted', () => {
    const evictions = { reassemblyEvictions: 0 };
    const reassembler = new Reassembler(evictions);
    for (let seq = 0; seq < PARTIAL_MESSAGES_PER_PEER_MAX + 3; seq++) reassembler.add(fragment(seq, 0));
    assert.equal(reassembler.partialCount, PARTIAL_MESSAGES_PER_PEER_MAX);
    assert.equal(evictions.reassemblyEvictions, 3);
    assert.equal(reassembler.add(fragment(0, 1)).status, 'incomplete', 'seq 0 was evicted: starts over');

    const big = new Reassembler(evictions);
    const half = REASSEMBLY_BYTES_PER_PEER_MAX / 2;
    for (let seq = 0; seq < 3; seq++) {
      big.add({ seq, messageBytes: half, offset: 0, index: 0, count: 2, payload: new Uint8Array(half / 2) });
    }
    assert.ok(big.partialBytes <= REASSEMBLY_BYTES_PER_PEER_MAX);
    assert.equal(big.partialCount, 2);
  });
});

describe('failover ring', () => {
  test('returns the frames of one link sent since a time, once, oldest first; bounded', () => {
    const store = new FrameStore();
    const ring = new RecentFrames(store);
    const total = FAILOVER_RING_FRAMES + 2; // frames 0 and 1 fall out of the ring
    for (let i = 0; i < total; i++) ring.record(i % 2, store.put(new Uint8Array([i])), i);
    const evenFrom = (first: number) =>
      Array.from({ length: total }, (_, i) => i).filter((i) => i % 2 === 0 && i >= first);
    assert.deepEqual(
      ring.takeSentOn(0, 10).map((frame) => frame[0]),
      evenFrom(10),
    );
    assert.deepEqual(ring.takeSentOn(0, 10), [], 'taken frames are gone');
    assert.deepEqual(
      ring.takeSentOn(0, 0).map((frame) => frame[0]),
      [2, 4, 6, 8],
      'frame 0 was overwritten',
    );
    ring.clear();
    assert.deepEqual(ring.takeSentOn(1, 0), []);
  });

  test('a frame sent to many peers is stored once; each peer takes its own copy', () => {
    const store = new FrameStore();
    const [toA, toB] = [new RecentFrames(store), new RecentFrames(store)];
    const frame = Uint8Array.from([7, 8, 9]);
    const handle = store.put(frame);
    toA.record(0, handle, 5);
    toB.record(0, handle, 5);
    frame.fill(0); // the store holds a copy, not the sender's buffer
    const [fromA] = toA.takeSentOn(0, 0);
    const [fromB] = toB.takeSentOn(0, 0);
    assert.deepEqual([fromA, fromB], [Uint8Array.from([7, 8, 9]), Uint8Array.from([7, 8, 9])]);
    fromA!.fill(1);
    assert.deepEqual(fromB, Uint8Array.from([7, 8, 9]), 'copies are independent');
  });

  test('frames overwritten in the store are not re-sent; a wider frame keeps the ones held', () => {
    const store = new FrameStore();
    const ring = new RecentFrames(store);
    const first = store.put(new Uint8Array([1]));
    ring.record(0, first, 0);
    const wide = new Uint8Array(300).fill(2);
    ring.record(0, store.put(wide), 1);
    assert.deepEqual(store.copy(first), new Uint8Array([1]), 'widening the slots moved the held frame');
    // Other peers' frames take every slot: the ring's two entries are gone from the store.
    for (let i = 0; i < FAILOVER_STORE_FRAMES; i++) store.put(new Uint8Array([3]));
    assert.equal(store.copy(first), null);
    assert.deepEqual(ring.takeSentOn(0, 0), []);
  });
});
