import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { allocBytes, copyBytes, viewOf } from '../../src/base/bytes.ts';

describe('bytes', () => {
  test('allocBytes: zeroed arrays of the asked length that never overlap, across slab boundaries', () => {
    const arrays: Uint8Array[] = [];
    for (let i = 0; i < 200; i++) {
      const bytes = allocBytes(1 + ((i * 97) % 1500));
      assert.equal(bytes.length, 1 + ((i * 97) % 1500));
      assert.ok(bytes.every((b) => b === 0));
      bytes.fill(i + 1);
      arrays.push(bytes);
    }
    // Each array still holds only what was written into it: no later array was cut from the same bytes.
    for (const [i, bytes] of arrays.entries()) assert.ok(bytes.every((b) => b === ((i + 1) & 0xff)));
  });

  test('allocBytes: a large array has a buffer of its own; length 0 works', () => {
    const large = allocBytes(100_000);
    assert.equal(large.length, 100_000);
    assert.equal(large.byteOffset, 0);
    assert.equal(large.buffer.byteLength, 100_000);
    assert.equal(allocBytes(0).length, 0);
  });

  test('copyBytes copies a range like slice, independent of its source', () => {
    const source = Uint8Array.from([1, 2, 3, 4, 5]);
    const copy = copyBytes(source, 1, 4);
    assert.deepEqual([...copy], [2, 3, 4]);
    source[2] = 9;
    assert.deepEqual([...copy], [2, 3, 4]);
    assert.deepEqual([...copyBytes(source, 3)], [4, 5]);
    assert.equal(copyBytes(source, 5).length, 0);
  });

  test('viewOf sees exactly the array, not the rest of its slab', () => {
    allocBytes(3);
    const bytes = allocBytes(8);
    const view = viewOf(bytes);
    assert.equal(view.byteLength, 8);
    view.setUint32(4, 0xdeadbeef);
    assert.deepEqual([...bytes.subarray(4)], [0xde, 0xad, 0xbe, 0xef]);
  });
});
