import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Datagram, Rng, Scheduler, VirtualNetwork } from '../../src/sim/index.ts';

function setup(links = 2, hosts = [1, 2, 3]) {
  const scheduler = new Scheduler();
  const network = new VirtualNetwork(scheduler, new Rng(1), { links });
  const inbox = new Map<number, Datagram[]>();
  for (const h of hosts) {
    inbox.set(h, []);
    network.addHost(h, (d) => inbox.get(h)!.push(d));
  }
  const bytes = (n: number) => Uint8Array.of(n);
  return { scheduler, network, inbox, bytes };
}

describe('VirtualNetwork', () => {
  test('delivers through the scheduler after the base delay, with a copy of the bytes', () => {
    const { scheduler, network, inbox } = setup();
    const buf = Uint8Array.of(1, 2, 3);
    assert.deepEqual(network.send(1, 2, 0, buf), { ok: true });
    buf[0] = 9;
    assert.equal(inbox.get(2)!.length, 0);
    scheduler.runFor(1);
    assert.deepEqual(
      inbox.get(2)!.map((d) => [d.from, d.link, [...d.bytes]]),
      [[1, 0, [1, 2, 3]]],
    );
    assert.equal(network.stats.delivered, 1);
  });

  test('a pulled cable: the sender gets ENETUNREACH, the far side gets nothing in; other links unaffected', () => {
    const { scheduler, network, inbox, bytes } = setup();
    network.cut(3, 0);
    assert.deepEqual(network.send(3, 1, 0, bytes(1)), { ok: false, error: 'ENETUNREACH' });
    network.send(1, 3, 0, bytes(2));
    network.send(1, 3, 1, bytes(3));
    scheduler.runFor(1);
    assert.deepEqual(
      inbox.get(3)!.map((d) => d.bytes[0]),
      [3],
    );
    assert.deepEqual(inbox.get(1), []);
    network.restore(3, 0);
    network.send(1, 3, 0, bytes(4));
    scheduler.runFor(1);
    assert.deepEqual(
      inbox.get(3)!.map((d) => d.bytes[0]),
      [3, 4],
    );
  });

  test('one-direction cuts, and a cut while a datagram is in flight', () => {
    const { scheduler, network, inbox, bytes } = setup();
    network.cut(2, 0, 'in');
    assert.deepEqual(network.send(2, 1, 0, bytes(1)), { ok: true });
    network.send(1, 2, 0, bytes(2));
    scheduler.runFor(1);
    assert.equal(inbox.get(1)!.length, 1);
    assert.equal(inbox.get(2)!.length, 0);
    network.restore(2, 0);
    network.send(1, 2, 0, bytes(3));
    network.cut(2, 0, 'in');
    scheduler.runFor(1);
    assert.equal(inbox.get(2)!.length, 0, 'a datagram in flight is lost when the cable is pulled');
  });

  test('dead switch, partitions, pair blocks and heal', () => {
    const { scheduler, network, inbox, bytes } = setup(2);
    network.cutSwitch(0);
    network.send(1, 2, 0, bytes(1));
    network.send(1, 2, 1, bytes(2));
    network.partition([[1, 2], [3]]);
    network.send(1, 3, 1, bytes(3));
    network.send(3, 1, 1, bytes(4));
    network.blockPair(1, 2, 1);
    network.send(2, 1, 1, bytes(5));
    scheduler.runFor(1);
    assert.deepEqual(
      inbox.get(2)!.map((d) => d.bytes[0]),
      [2],
    );
    assert.deepEqual(inbox.get(1), []);
    assert.deepEqual(inbox.get(3), []);
    assert.equal(network.stats.dropped.switch, 1);
    assert.equal(network.stats.dropped.partition, 2);
    assert.equal(network.stats.dropped.blocked, 1);
    network.heal();
    network.send(3, 1, 1, bytes(6));
    network.send(2, 1, 1, bytes(7));
    network.send(2, 1, 0, bytes(8));
    scheduler.runFor(1);
    assert.deepEqual(
      inbox.get(1)!.map((d) => d.bytes[0]),
      [6, 7],
      'heal keeps the dead switch',
    );
  });

  test('loss, duplication and jitter are applied and reproducible from the seed', () => {
    const run = (seed: number) => {
      const scheduler = new Scheduler();
      const network = new VirtualNetwork(scheduler, new Rng(seed), { links: 1 });
      const got: number[] = [];
      network.addHost(1, () => {});
      network.addHost(2, (d) => got.push(d.bytes[0]! + 256 * d.bytes[1]!));
      network.setConditions(0, { lossPct: 20, duplicatePct: 10, jitterMs: 5, delayMs: 5 });
      for (let i = 0; i < 2000; i++) {
        network.send(1, 2, 0, Uint8Array.of(i & 255, i >> 8));
        scheduler.runFor(0.5);
      }
      scheduler.runFor(100);
      return { got, stats: network.stats };
    };
    const a = run(3);
    assert.deepEqual(a, run(3));
    assert.ok(a.stats.dropped.loss > 300 && a.stats.dropped.loss < 500, `loss ${a.stats.dropped.loss}`);
    assert.ok(a.stats.duplicated > 100, `dup ${a.stats.duplicated}`);
    const inOrder = a.got.every((v, i) => i === 0 || v >= a.got[i - 1]!);
    assert.equal(inOrder, false, 'jitter reorders');
    assert.notDeepEqual(a.got, run(4).got);
  });

  test('per-host conditions apply only to that host, and a removed host receives nothing', () => {
    const { scheduler, network, inbox, bytes } = setup(1);
    network.setConditions(0, { lossPct: 100 }, 3);
    network.send(1, 3, 0, bytes(1));
    network.send(1, 2, 0, bytes(2));
    network.removeHost(2);
    scheduler.runFor(1);
    assert.equal(inbox.get(3)!.length, 0);
    assert.equal(inbox.get(2)!.length, 0);
    assert.equal(network.stats.dropped.no_host, 1);
    assert.throws(() => network.send(1, 2, 5, bytes(3)), RangeError);
  });
});
