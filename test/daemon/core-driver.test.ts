// CoreDriver with a core that steps in pieces (ServiceStack.begin/resume): each piece is dispatched before the next
// is computed, and the step is always finished, even when dispatching a piece throws.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CoreDriver, type PureCore } from '../../src/daemon/core-driver.ts';

type Event = { type: 'tick' } | { type: 'visit' };

/** A core whose `visit` step is two pieces: 'token' first, then 'deliver'; it logs what it computed when. */
function piecesCore(log: string[]): PureCore<Event, string> & { stepsFinished: number } {
  let rest: string[] | null = null;
  const core = {
    stepsFinished: 0,
    step: () => assert.fail('a core with begin/resume is driven in pieces'),
    nextDeadline: () => Number.POSITIVE_INFINITY,
    begin(event: Event): string[] {
      log.push(`compute ${event.type}`);
      rest = event.type === 'visit' ? ['deliver'] : [];
      return event.type === 'visit' ? ['token'] : [];
    },
    resume(): string[] | null {
      if (rest === null) return null;
      const piece = rest;
      rest = null;
      core.stepsFinished++;
      if (piece.length > 0) log.push('compute rest');
      return piece;
    },
  };
  return core;
}

test('each piece is dispatched before the rest of the step is computed', () => {
  const log: string[] = [];
  const core = piecesCore(log);
  const driver = new CoreDriver<Event, string>(core, (actions) => log.push(...actions.map((a) => `dispatch ${a}`)), {
    type: 'tick',
  });
  driver.feed({ type: 'visit' });
  driver.close();
  assert.deepEqual(log, ['compute visit', 'dispatch token', 'compute rest', 'dispatch deliver']);
  assert.equal(core.stepsFinished, 1);
});

test('a piece whose dispatch throws does not leave the step unfinished; the error reaches the caller', () => {
  const log: string[] = [];
  const core = piecesCore(log);
  const driver = new CoreDriver<Event, string>(
    core,
    (actions) => {
      if (actions.includes('token')) throw new Error('socket gone');
      log.push(...actions.map((a) => `dispatch ${a}`));
    },
    { type: 'tick' },
  );
  assert.throws(() => driver.feed({ type: 'visit' }), /socket gone/);
  driver.close();
  assert.deepEqual(log, ['compute visit', 'compute rest', 'dispatch deliver']);
  assert.equal(core.stepsFinished, 1);
});
