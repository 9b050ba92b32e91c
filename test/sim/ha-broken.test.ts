// The HA checkers catch a broken fencing argument: with no recovery wait, a quorate partition starts a lost
// node's services while that node still runs them (until its watchdog fires).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HA_SIM_TIMINGS, haShapeForSeed, runHaSeed } from '../../src/sim/ha-run.ts';

test('without the recovery wait, some seed runs a service on two nodes at once', () => {
  const timings = { ...HA_SIM_TIMINGS, recoveryWaitMs: 0 };
  let found = 0;
  for (let seed = 1; seed <= 60 && found === 0; seed++) {
    const result = runHaSeed({ seed, ...haShapeForSeed(seed), timings });
    found += result.violations.filter((v) => v.invariant === 'ha-exclusive').length;
  }
  assert.ok(found > 0, 'ha-exclusive found');
});

test('a manager that never recovers a lost node is caught by the quorate-partition liveness check', () => {
  const timings = { ...HA_SIM_TIMINGS, recoveryWaitMs: 1e9 };
  let found = 0;
  for (let seed = 1; seed <= 60 && found === 0; seed++) {
    const result = runHaSeed({ seed, ...haShapeForSeed(seed), timings });
    found += result.violations.filter((v) => v.invariant === 'ha-liveness').length;
  }
  assert.ok(found > 0, 'ha-liveness found');
});
