// A failed assertion stops the daemon: logged with the invariant and the state, exit status 3, never swallowed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { AssertionError, assert as check } from '../../src/base/assert.ts';
import { CoreDriver, type PureCore } from '../../src/daemon/core-driver.ts';
import { ASSERTION_EXIT_CODE, failStop } from '../../src/daemon/fail-stop.ts';

class Exited extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** A core whose step breaks an invariant on the event `{ type: 'break' }`. */
const brittleCore: PureCore<{ type: string }, string> = {
  step(event) {
    if (event.type === 'fail') throw new Error('an ordinary error');
    check(event.type !== 'break', 'test: the core never breaks');
    return [event.type];
  },
  nextDeadline: () => Number.POSITIVE_INFINITY,
};

describe('fail-stop on a failed assertion', () => {
  test('failStop logs the invariant, where, the state and the exit status, then exits with status 3', () => {
    const lines: string[] = [];
    const error = new AssertionError('Totem: the token aru ≤ the token seq');
    assert.throws(
      () =>
        failStop(
          error,
          () => ({ totem: { state: 'operational' } }),
          (level, subsystem, message) => lines.push(`${level} [${subsystem}] ${message}`),
          (code) => {
            throw new Exited(code);
          },
        ),
      (thrown: unknown) => thrown instanceof Exited && thrown.code === ASSERTION_EXIT_CODE,
    );
    assert.equal(ASSERTION_EXIT_CODE, 3);
    assert.equal(lines[0], 'error [MAIN] Assertion failed: Totem: the token aru ≤ the token seq');
    assert.match(lines[1]!, /^error \[MAIN\] at /);
    assert.equal(lines[2], 'error [MAIN] State at the failure: {"totem":{"state":"operational"}}');
    assert.equal(lines[3], 'error [MAIN] Corolink Cluster Engine exiting with status 3 (assertion failed)');
  });

  test('the core driver hands a failed assertion to its handler and never swallows it', () => {
    const seen: AssertionError[] = [];
    const dispatched: string[][] = [];
    const driver = new CoreDriver(
      brittleCore,
      (actions) => dispatched.push(actions),
      { type: 'tick' },
      () => 0,
      (error) => seen.push(error),
    );
    driver.feed({ type: 'ok' });
    assert.throws(() => driver.feed({ type: 'break' }), AssertionError);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.invariant, 'test: the core never breaks');
    assert.throws(() => driver.feed({ type: 'fail' }), /an ordinary error/);
    assert.equal(seen.length, 1, 'an ordinary error is not an assertion');
    driver.feed({ type: 'ok' });
    assert.deepEqual(dispatched, [['ok'], ['ok']], 'the driver still runs after the caller handled an ordinary error');
    driver.close();
  });

  test('an assertion that escapes to the event loop ends the process with status 3 and a log line', () => {
    const script = `
      import { AssertionError } from './src/base/assert.ts';
      import { watchAssertions } from './src/daemon/fail-stop.ts';
      watchAssertions(() => ({ ring: 'rep 1 seq 4' }), (level, subsystem, message) =>
        process.stderr.write(level + ' [' + subsystem + '] ' + message + '\\n'));
      setImmediate(() => { throw new AssertionError('CPG: a member list is sorted'); });
    `;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(run.status, ASSERTION_EXIT_CODE, run.stderr);
    assert.match(run.stderr, /error \[MAIN\] Assertion failed: CPG: a member list is sorted/);
    assert.match(run.stderr, /State at the failure: \{"ring":"rep 1 seq 4"\}/);
  });
});
