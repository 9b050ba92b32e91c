import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DELAY_MS_MAX,
  DUPLICATE_PCT_MAX,
  type FaultEvent,
  LOSS_PCT_MAX,
  planFaults,
  REORDER_PCT_MAX,
  TIMER_LATENESS_MS_MAX,
} from '../../src/sim/faults.ts';
import { Rng } from '../../src/sim/rng.ts';

const options = { nodeIds: [1, 2, 3, 4, 5], links: 3, safetyMs: 3000 };

test('a fault plan is a pure function of the seed, sorted, inside the safety phase and the fault bounds', () => {
  assert.deepEqual(planFaults(new Rng(9), options), planFaults(new Rng(9), options));
  const kinds = new Set<FaultEvent['kind']>();
  for (let seed = 0; seed < 200; seed++) {
    const plan = planFaults(new Rng(seed), options);
    plan.forEach((event, i) => {
      kinds.add(event.kind);
      assert.ok(event.at >= 0 && event.at < options.safetyMs);
      if (i > 0) assert.ok(plan[i - 1]!.at <= event.at);
      if (event.kind === 'conditions') {
        const c = event.conditions;
        assert.ok(c.lossPct <= LOSS_PCT_MAX && c.delayMs <= DELAY_MS_MAX && c.duplicatePct <= DUPLICATE_PCT_MAX);
        assert.ok(c.reorderPct <= REORDER_PCT_MAX && event.link < options.links);
      }
      if (event.kind === 'timerLateness') assert.ok(event.lateMs >= 0 && event.lateMs <= TIMER_LATENESS_MS_MAX);
      if (event.kind === 'partition') assert.deepEqual(event.groups.flat().sort(), options.nodeIds);
    });
    const down = new Set<number>();
    for (const event of plan) {
      if (event.kind === 'crash') assert.ok(!down.has(event.node) && down.add(event.node));
      if (event.kind === 'restart') assert.ok(down.delete(event.node), 'restart only of a crashed node');
    }
  }
  const every: FaultEvent['kind'][] = ['crash', 'restart', 'partition', 'heal', 'cut', 'restore', 'cutSwitch'];
  for (const kind of [
    ...every,
    'restoreSwitch',
    'conditions',
    'clearConditions',
    'timerLateness',
    'multicast',
  ] as const) {
    assert.ok(kinds.has(kind), `${kind} never drawn`);
  }
});
