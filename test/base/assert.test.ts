import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AssertionError, assert as check, isStrictlyAscending } from '../../src/base/assert.ts';

describe('assert', () => {
  test('a holding invariant passes; a broken one throws an AssertionError naming it', () => {
    check(true, 'never shown');
    assert.throws(
      () => check(false, 'Totem: aru ≤ highest seq'),
      (error: unknown) =>
        error instanceof AssertionError &&
        error.invariant === 'Totem: aru ≤ highest seq' &&
        error.message === 'assertion failed: Totem: aru ≤ highest seq' &&
        error.name === 'AssertionError',
    );
  });

  test('isStrictlyAscending: sorted and unique only', () => {
    assert.equal(isStrictlyAscending([]), true);
    assert.equal(isStrictlyAscending([4]), true);
    assert.equal(isStrictlyAscending([1, 2, 7]), true);
    assert.equal(isStrictlyAscending([1, 1, 2]), false);
    assert.equal(isStrictlyAscending([2, 1]), false);
  });
});
