import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AssertionError } from '../../src/base/assert.ts';
import { FRESH_BYTES_POOLED_MAX, FRESH_BYTES_SLAB_BYTES, freshBytes } from '../../src/base/fresh-bytes.ts';

describe('freshBytes', () => {
  it('hands out zeroed arrays of the asked length that never share a byte, across slabs', () => {
    const sizes = [0, 1, 7, 8, 9, 64, 75, 1_100, 1_397, FRESH_BYTES_POOLED_MAX];
    const arrays: Uint8Array[] = [];
    // Enough to fill several slabs: a region handed out twice, or a slab reused, would show below.
    while (arrays.length < 200) {
      for (const size of sizes) {
        const bytes = freshBytes(size);
        assert.equal(bytes.length, size);
        assert.ok(
          bytes.every((byte) => byte === 0),
          `an array of ${size} bytes is zero-filled`,
        );
        bytes.fill(0xff); // a later array that aliased this one would not be zero
        arrays.push(bytes);
      }
    }
    const slabs = new Set(arrays.map((bytes) => bytes.buffer));
    assert.ok(slabs.size > 1, 'the arrays span several slabs');
    for (const slab of slabs) {
      const regions = arrays
        .filter((bytes) => bytes.buffer === slab && bytes.length > 0)
        .map((bytes) => [bytes.byteOffset, bytes.byteOffset + bytes.length] as const)
        .sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < regions.length; i++) assert.ok(regions[i]![0] >= regions[i - 1]![1], 'no two overlap');
    }
  });

  it('carves small arrays from a slab at 8-byte boundaries and gives a larger one its own buffer', () => {
    const small = freshBytes(1_100);
    assert.equal(small.buffer.byteLength, FRESH_BYTES_SLAB_BYTES);
    assert.equal(small.byteOffset % 8, 0);
    const next = freshBytes(3);
    assert.equal(next.byteOffset % 8, 0);
    const large = freshBytes(FRESH_BYTES_POOLED_MAX + 1);
    assert.equal(large.byteOffset, 0);
    assert.equal(large.buffer.byteLength, FRESH_BYTES_POOLED_MAX + 1);
  });

  it('refuses a length that is not a non-negative integer (a programmer error)', () => {
    for (const length of [-1, 1.5, Number.NaN]) assert.throws(() => freshBytes(length), AssertionError);
  });
});
