import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng } from '../../src/sim/rng.ts';
import { Scheduler } from '../../src/sim/scheduler.ts';

describe('Rng', () => {
  test('the same seed replays the same stream; another seed differs', () => {
    const draw = (seed: number) => {
      const rng = new Rng(seed);
      return Array.from({ length: 50 }, () => rng.nextUint32());
    };
    assert.deepEqual(draw(42), draw(42));
    assert.notDeepEqual(draw(42), draw(43));
    assert.notDeepEqual(draw(0), draw(1));
  });

  test('int stays in range and reaches both ends; next is in [0,1)', () => {
    const rng = new Rng(7);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const v = rng.int(3, 6);
      assert.ok(v >= 3 && v <= 6 && Number.isInteger(v));
      seen.add(v);
      const f = rng.next();
      assert.ok(f >= 0 && f < 1);
    }
    assert.deepEqual([...seen].sort(), [3, 4, 5, 6]);
    assert.throws(() => rng.int(2, 1), RangeError);
    assert.throws(() => rng.pick([]), RangeError);
  });

  test('chance follows its probability roughly and is exact at 0', () => {
    const rng = new Rng(99);
    let hits = 0;
    for (let i = 0; i < 10_000; i++) if (rng.chance(0.3)) hits++;
    assert.ok(hits > 2700 && hits < 3300, `hits=${hits}`);
    for (let i = 0; i < 1000; i++) assert.equal(rng.chance(0), false);
  });

  test('shuffle is a permutation; fork gives an independent, reproducible stream', () => {
    const rng = new Rng(5);
    const items = Array.from({ length: 20 }, (_, i) => i);
    const shuffled = rng.shuffle([...items]);
    assert.deepEqual(
      [...shuffled].sort((a, b) => a - b),
      items,
    );
    assert.notDeepEqual(shuffled, items);
    const a = new Rng(11).fork();
    const b = new Rng(11).fork();
    assert.equal(a.nextUint32(), b.nextUint32());
  });
});

describe('Scheduler', () => {
  test('runs events in time order, ties in scheduling order, and advances the clock', () => {
    const s = new Scheduler();
    const log: string[] = [];
    s.at(10, () => log.push(`a@${s.now()}`));
    s.at(5, () => log.push(`b@${s.now()}`));
    s.at(10, () => log.push(`c@${s.now()}`));
    s.after(5, () => log.push(`d@${s.now()}`));
    s.runUntil(20);
    assert.deepEqual(log, ['b@5', 'd@5', 'a@10', 'c@10']);
    assert.equal(s.now(), 20);
  });

  test('events scheduled by events run in the same pass when due; cancel works', () => {
    const s = new Scheduler();
    const log: number[] = [];
    const cancelled = s.after(3, () => log.push(-1));
    s.after(1, () => {
      log.push(1);
      s.after(1, () => log.push(2));
      s.after(100, () => log.push(3));
    });
    s.cancel(cancelled);
    s.runFor(50);
    assert.deepEqual(log, [1, 2]);
    s.runFor(100);
    assert.deepEqual(log, [1, 2, 3]);
    assert.equal(s.step(), false);
  });

  test('a time in the past runs at the current instant, never moving the clock back', () => {
    const s = new Scheduler();
    s.runUntil(100);
    let ranAt = -1;
    s.at(50, () => {
      ranAt = s.now();
    });
    s.runUntil(100);
    assert.equal(ranAt, 100);
  });

  test('a livelock at one instant is reported instead of hanging', () => {
    const s = new Scheduler();
    const again = (): void => {
      s.after(0, again);
    };
    s.after(0, again);
    assert.throws(() => s.runUntil(1), /livelock/);
  });
});
