/**
 * Assertions for protocol invariants (TigerBeetle TIGER_STYLE: an assertion detects a programmer error; the only
 * correct way to handle corrupt code is to stop). Never used on input from the network, a client or a file: bad
 * input is an operating error, handled and counted where it arrives.
 *
 * Cheap enough for the hot path: the message is a constant string, built by the caller only when it names values.
 */

/** An invariant did not hold: a bug in corolink, not a fault of the network or of the input. */
export class AssertionError extends Error {
  override readonly name = 'AssertionError';
  /** The invariant that failed, as stated at the assertion. */
  readonly invariant: string;

  constructor(invariant: string) {
    super(`assertion failed: ${invariant}`);
    this.invariant = invariant;
  }
}

/** Throws an {@link AssertionError} naming `invariant` unless `condition` holds. */
export function assert(condition: boolean, invariant: string): asserts condition {
  if (!condition) throw new AssertionError(invariant);
}

/** True when every number is greater than the one before it (a sorted list without duplicates). */
export function isStrictlyAscending(numbers: readonly number[]): boolean {
  for (let i = 1; i < numbers.length; i++) if (numbers[i]! <= numbers[i - 1]!) return false;
  return true;
}
