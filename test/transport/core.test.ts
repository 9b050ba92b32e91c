import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { PARTIAL_MESSAGES_PER_PEER_MAX, PONG_TIMEOUT_BACKOFF_START } from '../../src/transport/limits.ts';
import { Transport } from '../../src/transport/transport.ts';
import type { LinkMode, LinkOptions, TransportAction, TransportOptions } from '../../src/transport/types.ts';
import { clusterIdFromName } from '../../src/wire/cluster-id.ts';
import { decodePacket, encodeData, encodePingPong, HEADER_BYTES, REJECT_REASONS } from '../../src/wire/packet.ts';

const CLUSTER = clusterIdFromName('unit');
const PING_MS = 20;
const TIMEOUT_MS = 250;
const PONGS = 2;
/** Past this, the pong-timeout backoff is 1 (steady state). */
const SETTLED_MS = PONG_TIMEOUT_BACKOFF_START * 1000;

function linkOptions(link: number, priority = 1, mtu = 1400): LinkOptions {
  return { link, priority, pingIntervalMs: PING_MS, pingTimeoutMs: TIMEOUT_MS, pongCount: PONGS, mtu };
}

function makeCore(nodeId: number, overrides: Partial<TransportOptions> = {}, now = 0): Transport {
  const peers = [1, 2, 3].filter((id) => id !== nodeId).map((id) => ({ nodeId: id, links: [0, 1] }));
  return new Transport(
    {
      localNodeId: nodeId,
      clusterId: CLUSTER,
      linkMode: 'passive',
      links: [linkOptions(0, 2), linkOptions(1, 1)],
      peers,
      failbackHoldMs: 1000,
      maxMessageBytes: 1024 * 1024,
      incarnation: nodeId * 1000,
      ...overrides,
    },
    now,
  );
}

type Transmit = Extract<TransportAction, { type: 'transmit' }>;
const transmits = (actions: TransportAction[]): Transmit[] =>
  actions.filter((action): action is Transmit => action.type === 'transmit');
const ofType = <T extends TransportAction['type']>(actions: TransportAction[], type: T) =>
  actions.filter((action): action is Extract<TransportAction, { type: T }> => action.type === type);
const frameType = (bytes: Uint8Array) => {
  const decoded = decodePacket(bytes, CLUSTER);
  return decoded.ok ? decoded.packet.type : `rejected:${decoded.reason}`;
};

/**
 * Two or three cores joined by an instantaneous, lossless wire; `cut` holds the links that drop everything.
 * Frames are delivered at the time they are sent; pongs therefore arrive with zero latency.
 */
class Bench {
  readonly cores = new Map<number, Transport>();
  readonly log: { node: number; at: number; action: TransportAction }[] = [];
  readonly cut = new Set<number>();
  now = 0;

  constructor(nodes: number[], overrides: Partial<TransportOptions> = {}) {
    for (const node of nodes) this.cores.set(node, makeCore(node, overrides));
  }

  step(node: number, event: Parameters<Transport['step']>[0]): TransportAction[] {
    const actions = this.cores.get(node)!.step(event, this.now);
    for (const action of actions) {
      this.log.push({ node, at: this.now, action });
      if (action.type === 'transmit' && !this.cut.has(action.link) && this.cores.has(action.to)) {
        this.step(action.to, { type: 'receive', link: action.link, bytes: action.bytes });
      }
    }
    return actions;
  }

  /** Advances time in ping-interval steps, ticking every core. */
  runUntil(time: number) {
    while (this.now < time) {
      this.now = Math.min(time, this.now + PING_MS);
      for (const node of this.cores.keys()) this.step(node, { type: 'tick' });
    }
  }

  events<T extends TransportAction['type']>(type: T, node?: number) {
    return ofType(
      this.log.filter((entry) => node === undefined || entry.node === node).map((entry) => entry.action),
      type,
    );
  }
}

describe('transport core: heartbeat', () => {
  test('pings every peer on every link at once, then every pingIntervalMs', () => {
    const core = makeCore(1);
    const first = transmits(core.step({ type: 'tick' }, 0));
    assert.deepEqual(first.map((t) => `${t.to}/${t.link}/${frameType(t.bytes)}`).sort(), [
      '2/0/ping',
      '2/1/ping',
      '3/0/ping',
      '3/1/ping',
    ]);
    assert.equal(core.nextDeadline(), PING_MS);
    assert.equal(transmits(core.step({ type: 'tick' }, PING_MS - 1)).length, 0);
    assert.equal(transmits(core.step({ type: 'tick' }, PING_MS)).length, 4);
  });

  test('a link restarted between two pings pings at once, then on the grid shared with the other links', () => {
    const core = makeCore(1);
    core.step({ type: 'tick' }, 0);
    const restartAt = 7;
    core.step({ type: 'setLinkEnabled', link: 1, enabled: false }, restartAt);
    const restarted = [
      ...transmits(core.step({ type: 'setLinkEnabled', link: 1, enabled: true }, restartAt)),
      ...transmits(core.step({ type: 'tick' }, restartAt)),
    ];
    assert.deepEqual(restarted.map((t) => `${t.to}/${t.link}/${frameType(t.bytes)}`).sort(), ['2/1/ping', '3/1/ping']);
    assert.equal(core.nextDeadline(), PING_MS, 'link 1 is due with link 0, not one interval after its restart');
    assert.equal(transmits(core.step({ type: 'tick' }, PING_MS)).length, 4, 'every peer × link in one tick');
    assert.equal(core.nextDeadline(), 2 * PING_MS);
  });

  test('cores started at different times on a shared grid origin ping at the same instants', () => {
    const originMs = -1_000_003; // e.g. the Unix epoch on each process's monotonic clock
    const grid = (startMs: number) => {
      const core = makeCore(1, { pingGridOriginMs: originMs }, startMs);
      core.step({ type: 'tick' }, startMs); // a new link pings at once…
      return [1, 2, 3].map(() => {
        const at = core.nextDeadline(); // …then on the grid
        core.step({ type: 'tick' }, at);
        return at;
      });
    };
    const early = grid(0);
    const late = grid(20); // after the first grid instant (17 ms) of the early one
    assert.deepEqual(late, early.slice(1).concat(early[2]! + PING_MS), 'one grid for both');
    for (const at of early) assert.equal((at - originMs) % PING_MS, 0, `${at} is on the grid from the origin`);
    assert.throws(() => makeCore(1, { pingGridOriginMs: Number.NaN }), /pingGridOriginMs/);
  });

  test(`a link comes up after exactly pongCount (${PONGS}) good pongs, with hostUp and knet's log lines`, () => {
    const bench = new Bench([1, 2]);
    bench.step(1, { type: 'tick' });
    assert.equal(bench.events('linkUp', 1).length, 0, 'one pong is not enough');
    assert.equal(bench.cores.get(1)!.linkStatus(0)[0]!.reason, `waiting for pong_count pongs (1/${PONGS})`);
    bench.now = PING_MS;
    bench.step(1, { type: 'tick' });
    assert.deepEqual(
      bench.events('linkUp', 1).map((e) => e.link),
      [0, 1],
    );
    assert.equal(bench.events('hostUp', 1).length, 1);
    assert.equal(bench.cores.get(1)!.isReachable(2), true);
    const messages = bench.events('log', 1).map((e) => e.message);
    assert.ok(messages.includes('rx: host: 2 link: 0 is up'));
    assert.ok(messages.includes('host: host: 2 (passive) best link: 0 (pri: 2)'));
  });

  test('pong backoff: a new link is judged with the plain timeout; after a down, with 10× the timeout', () => {
    const fresh = new Bench([1, 2]);
    fresh.runUntil(100);
    fresh.cut.add(0);
    const lastPong = fresh.now;
    fresh.runUntil(lastPong + TIMEOUT_MS - PING_MS);
    assert.equal(fresh.events('linkDown', 1).length, 0);
    fresh.runUntil(lastPong + TIMEOUT_MS);
    const down = fresh.events('linkDown', 1);
    assert.equal(down.length, 1, 'a new link needs no warm-up to be judged');
    assert.equal(down[0]!.reason, `no pong for ${TIMEOUT_MS} ms`);
    assert.equal(fresh.cores.get(1)!.nextDeadline() > fresh.now, true);

    // The link comes back; a second failure right after is judged leniently (flap damping), then by the decay.
    fresh.cut.delete(0);
    fresh.runUntil(fresh.now + TIMEOUT_MS);
    assert.equal(fresh.events('linkUp', 1).length >= 1, true);
    fresh.cut.add(0);
    const recutAt = fresh.now;
    fresh.runUntil(recutAt + TIMEOUT_MS * 2);
    assert.equal(fresh.events('linkDown', 1).length, 1, 'lenient right after a down');
    fresh.runUntil(recutAt + TIMEOUT_MS * PONG_TIMEOUT_BACKOFF_START + PING_MS);
    assert.equal(fresh.events('linkDown', 1).length, 2);
  });

  test('ticking at nextDeadline() always makes progress, whatever the float times (no livelock)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.double({ min: 0.001, max: 5, noNaN: true }),
        fc.double({ min: 0, max: 3000, noNaN: true }),
        (start, latencyMs, failbackHoldMs) => {
          const bench = new Bench([1, 2], { failbackHoldMs });
          bench.now = start;
          const a = bench.cores.get(1)!;
          const b = bench.cores.get(2)!;
          // Bring links up with a non-zero latency so the pong deadline is a sum of awkward floats.
          for (let round = 0; round < 3; round++) {
            for (const ping of transmits(a.step({ type: 'tick' }, bench.now))) {
              for (const pong of transmits(
                b.step({ type: 'receive', link: ping.link, bytes: ping.bytes }, bench.now),
              )) {
                a.step({ type: 'receive', link: pong.link, bytes: pong.bytes }, bench.now + latencyMs);
              }
            }
            bench.now = a.nextDeadline();
          }
          a.step({ type: 'sendError', link: 0, to: 2, code: 'ENETUNREACH' }, bench.now);
          let previous = Number.NEGATIVE_INFINITY;
          let linkDowns = 0;
          for (let ticks = 0; ticks < 2000 && linkDowns < 2; ticks++) {
            const deadline = a.nextDeadline();
            assert.ok(deadline > previous, `deadline ${deadline} did not advance past ${previous}`);
            previous = deadline;
            linkDowns += ofType(a.step({ type: 'tick' }, deadline), 'linkDown').length;
          }
          assert.ok(linkDowns >= 1);
        },
      ),
      { seed: 77, numRuns: 100 },
    );
  });

  test('latency min/avg/max come from pong round trips', () => {
    const a = makeCore(1);
    const b = makeCore(2);
    const pings = transmits(a.step({ type: 'tick' }, 0)).filter((t) => t.to === 2 && t.link === 0);
    const pong = transmits(b.step({ type: 'receive', link: 0, bytes: pings[0]!.bytes }, 0));
    a.step({ type: 'receive', link: 0, bytes: pong[0]!.bytes }, 4);
    const row = a.linkStatus(4).find((s) => s.nodeId === 2 && s.link === 0)!;
    assert.deepEqual(row.latency, { minMs: 4, avgMs: 4, maxMs: 4, samples: 1 });
    assert.equal(row.counters.pongsReceived, 1);
  });

  test('a late pong (beyond pingTimeoutMs) and a duplicated pong are discarded', () => {
    const a = makeCore(1);
    const b = makeCore(2);
    const ping = transmits(a.step({ type: 'tick' }, 0)).find((t) => t.to === 2 && t.link === 0)!;
    const pong = transmits(b.step({ type: 'receive', link: 0, bytes: ping.bytes }, 0))[0]!;
    a.step({ type: 'receive', link: 0, bytes: pong.bytes }, TIMEOUT_MS + 1);
    a.step({ type: 'receive', link: 0, bytes: pong.bytes }, 1);
    const row = a.linkStatus(1).find((s) => s.nodeId === 2 && s.link === 0)!;
    assert.equal(row.counters.pongsDiscarded, 1);
    assert.equal(row.counters.pongsReceived, 1);
    a.step({ type: 'receive', link: 0, bytes: pong.bytes }, 2);
    assert.equal(a.linkStatus(2).find((s) => s.nodeId === 2 && s.link === 0)!.counters.pongsDiscarded, 2);
    assert.equal(a.counters().rejected.pong_discarded, 2);
  });

  test('a path send error takes the link down at once; a transient one does not', () => {
    const bench = new Bench([1, 2]);
    bench.runUntil(100);
    bench.step(1, { type: 'sendError', link: 1, to: 2, code: 'ENOBUFS' });
    assert.equal(bench.events('linkDown', 1).length, 0);
    bench.step(1, { type: 'sendError', link: 1, to: 2, code: 'ENETUNREACH' });
    const down = bench.events('linkDown', 1);
    assert.deepEqual(
      down.map((d) => [d.link, d.reason]),
      [[1, 'send error ENETUNREACH']],
    );
    bench.cut.add(1);
    bench.runUntil(200);
    assert.equal(
      bench.cores
        .get(1)!
        .linkStatus(bench.now)
        .find((s) => s.link === 1)!.reason,
      'send error ENETUNREACH',
    );
  });
});

describe('transport core: link selection', () => {
  function upBench(mode: LinkMode, overrides: Partial<TransportOptions> = {}) {
    const bench = new Bench([1, 2], { linkMode: mode, ...overrides });
    bench.runUntil(100);
    bench.log.length = 0;
    return bench;
  }
  const sendLinks = (bench: Bench, urgent = false) =>
    transmits(bench.step(1, { type: 'send', to: 2, payload: new Uint8Array(10), urgent })).map((t) => t.link);

  test('passive: the highest priority link only; ties go to the lowest link number', () => {
    assert.deepEqual(sendLinks(upBench('passive')), [0]);
    const reversed = upBench('passive', { links: [linkOptions(0, 1), linkOptions(1, 5)] });
    assert.deepEqual(sendLinks(reversed), [1]);
    const tied = upBench('passive', { links: [linkOptions(0, 3), linkOptions(1, 3)] });
    assert.deepEqual(sendLinks(tied), [0]);
  });

  test('active: every up link; the receiver delivers once and counts the duplicate', () => {
    const bench = upBench('active');
    assert.deepEqual(sendLinks(bench), [0, 1]);
    assert.equal(bench.events('deliver', 2).length, 1);
    assert.equal(bench.cores.get(2)!.counters().rejected.duplicate, 1);
  });

  test('rr: alternates between up links', () => {
    const bench = upBench('rr');
    assert.deepEqual([sendLinks(bench), sendLinks(bench), sendLinks(bench)].flat(), [0, 1, 0]);
    assert.equal(bench.events('deliver', 2).length, 3);
  });

  test('urgent traffic goes on every up link in passive mode, delivered once', () => {
    const bench = upBench('passive');
    assert.deepEqual(sendLinks(bench, true), [0, 1]);
    assert.equal(bench.events('deliver', 2).length, 1);
  });

  test('send to all: one frame per peer on its link, the same bytes shared by peers on one link', () => {
    const bench = new Bench([1, 2, 3]);
    bench.runUntil(100);
    const sent = transmits(bench.step(1, { type: 'send', to: 'all', payload: new Uint8Array(5) }));
    assert.deepEqual(
      sent.map((t) => `${t.to}/${t.link}`),
      ['2/0', '3/0'],
    );
    assert.equal(sent[0]!.bytes, sent[1]!.bytes);
  });

  test('nothing up → the message is dropped and counted, never thrown', () => {
    const core = makeCore(1);
    assert.equal(transmits(core.step({ type: 'send', to: 2, payload: new Uint8Array(1) }, 0)).length, 0);
    core.step({ type: 'send', to: 99, payload: new Uint8Array(1) }, 0);
    assert.deepEqual(core.counters().txDropped, { no_link: 1, unknown_node: 1 });
  });

  test('passive failover is immediate and re-sends in-flight frames on the new link; receiver dedups', () => {
    const bench = upBench('passive');
    bench.cut.add(0);
    for (let i = 0; i < 3; i++) bench.step(1, { type: 'send', to: 2, payload: new Uint8Array([i]) });
    assert.equal(bench.events('deliver', 2).length, 0, 'link 0 was cut: nothing arrived yet');
    bench.step(1, { type: 'sendError', link: 0, to: 2, code: 'ENETUNREACH' });
    assert.deepEqual(
      bench.events('deliver', 2).map((d) => d.payload[0]),
      [0, 1, 2],
    );
    assert.ok(bench.events('log', 1).some((l) => l.message === 'host: host: 2 (passive) best link: 1 (pri: 1)'));
    assert.equal(bench.cores.get(1)!.counters().failoverResends, 3);
    assert.deepEqual(sendLinks(bench), [1]);
  });

  test('fail-back hold-down: traffic returns to the recovered better link only after failbackHoldMs', () => {
    const holdMs = 500;
    const bench = upBench('passive', { failbackHoldMs: holdMs });
    bench.step(1, { type: 'sendError', link: 0, to: 2, code: 'ENETUNREACH' });
    assert.deepEqual(sendLinks(bench), [1]);
    bench.runUntil(bench.now + PING_MS * (PONGS + 1));
    const up = bench.log.filter((e) => e.node === 1 && e.action.type === 'linkUp').at(-1);
    assert.ok(up?.action.type === 'linkUp' && up.action.link === 0);
    const row = () =>
      bench.cores
        .get(1)!
        .linkStatus(bench.now)
        .find((s) => s.nodeId === 2 && s.link === 0)!;
    assert.equal(row().reason, 'hold-down');
    assert.deepEqual(sendLinks(bench), [1]);
    bench.runUntil(up.at + holdMs - PING_MS);
    assert.deepEqual(sendLinks(bench), [1], 'still inside the hold-down');
    bench.runUntil(up.at + holdMs);
    assert.deepEqual(sendLinks(bench), [0]);
    assert.ok(bench.events('log', 1).some((l) => l.message === 'host: host: 2 (passive) best link: 0 (pri: 2)'));
    assert.equal(row().reason, null);
    assert.equal(
      bench.cores
        .get(1)!
        .linkStatus(bench.now)
        .find((s) => s.link === 1)!.reason,
      'standby (best link: 0)',
    );
  });
});

describe('transport core: receive path', () => {
  test('rejections are counted by reason and never throw', () => {
    const core = makeCore(1);
    const header = { clusterId: CLUSTER, sourceNodeId: 2, incarnation: 1, link: 0, seq: 1, flags: 0 };
    const cases: [number, Uint8Array, string][] = [
      [0, new Uint8Array(3), 'too_short'],
      [5, encodeData(header, new Uint8Array(1)), 'unknown_link'],
      [0, encodeData({ ...header, clusterId: CLUSTER + 1 }, new Uint8Array(1)), 'wrong_cluster'],
      [1, encodeData(header, new Uint8Array(1)), 'link_mismatch'],
      [0, encodeData({ ...header, sourceNodeId: 9 }, new Uint8Array(1)), 'unknown_node'],
      [0, encodeData({ ...header, sourceNodeId: 1 }, new Uint8Array(1)), 'own_node'],
    ];
    for (const [link, bytes] of cases) core.step({ type: 'receive', link, bytes }, 0);
    core.step({ type: 'receive', link: 0, bytes: encodeData(header, new Uint8Array(1)) }, 0);
    core.step({ type: 'receive', link: 0, bytes: encodeData(header, new Uint8Array(1)) }, 0);
    const expected: Record<string, number> = { duplicate: 1 };
    for (const [, , reason] of cases) expected[reason] = 1;
    assert.deepEqual(core.counters().rejected, expected);
    assert.equal(core.counters().delivered, 1);
  });

  test('random and mutated frames never throw, and every one is accounted for (property)', () => {
    const header = { clusterId: CLUSTER, sourceNodeId: 2, incarnation: 1, link: 0, seq: 1, flags: 0 };
    const valid = [
      encodeData(header, new Uint8Array(8)),
      encodePingPong('ping', header, 1, 5),
      encodePingPong('pong', header, 0, 5),
    ];
    const mutated = fc
      .tuple(fc.constantFrom(...valid), fc.nat(), fc.integer({ min: 0, max: 255 }))
      .map(([frame, at, value]) => {
        const copy = frame.slice();
        copy[at % copy.length] = value;
        return copy;
      });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: -1, max: 9 }), fc.oneof(fc.uint8Array({ maxLength: 80 }), mutated)), {
          maxLength: 30,
        }),
        (frames) => {
          const core = makeCore(1);
          for (const [link, bytes] of frames) core.step({ type: 'receive', link, bytes }, 10);
          // Every frame is either refused before it is attributed to a peer × link, or counted there.
          const refusedEarly = [
            ...REJECT_REASONS,
            'unknown_link',
            'link_mismatch',
            'own_node',
            'unknown_node',
            'no_address',
          ]
            .map((reason) => core.counters().rejected[reason] ?? 0)
            .reduce((sum, count) => sum + count, 0);
          const attributed = core.linkStatus(10).reduce((sum, row) => sum + row.counters.rxPackets, 0);
          assert.equal(refusedEarly + attributed, frames.length);
        },
      ),
      { seed: 424242, numRuns: 300 },
    );
  });

  test('a peer without an address on a link is rejected there and shown as "no address"', () => {
    const core = makeCore(1, { peers: [{ nodeId: 2, links: [0] }] });
    const header = { clusterId: CLUSTER, sourceNodeId: 2, incarnation: 1, link: 1, seq: 1, flags: 0 };
    core.step({ type: 'receive', link: 1, bytes: encodeData(header, new Uint8Array(1)) }, 0);
    assert.equal(core.counters().rejected.no_address, 1);
    const row = core.linkStatus(0).find((s) => s.link === 1)!;
    assert.equal(row.reason, 'no address');
    assert.equal(row.enabled, false);
  });

  test('a restarted sender (new incarnation) is not mistaken for duplicates', () => {
    const core = makeCore(1);
    const header = { clusterId: CLUSTER, sourceNodeId: 2, incarnation: 1, link: 0, seq: 1, flags: 0 };
    core.step({ type: 'receive', link: 0, bytes: encodeData(header, new Uint8Array([1])) }, 0);
    const actions = core.step(
      { type: 'receive', link: 0, bytes: encodeData({ ...header, incarnation: 2 }, new Uint8Array([2])) },
      0,
    );
    assert.equal(ofType(actions, 'deliver').length, 1);
  });

  test('ping on a disabled link gets no pong; data on it is still delivered', () => {
    const core = makeCore(1);
    core.step({ type: 'setLinkEnabled', link: 0, enabled: false }, 0);
    const header = { clusterId: CLUSTER, sourceNodeId: 2, incarnation: 1, link: 0, seq: 0, flags: 0 };
    const pongs = transmits(core.step({ type: 'receive', link: 0, bytes: encodePingPong('ping', header, 1, 0) }, 0));
    assert.equal(pongs.length, 0);
    const data = core.step(
      { type: 'receive', link: 0, bytes: encodeData({ ...header, seq: 1 }, new Uint8Array(1)) },
      0,
    );
    assert.equal(ofType(data, 'deliver').length, 1);
  });
});

describe('transport core: fragmentation', () => {
  const MTU = 300;
  function mtuBench() {
    const bench = new Bench([1, 2], { links: [linkOptions(0, 1, MTU), linkOptions(1, 1, MTU)], linkMode: 'rr' });
    bench.runUntil(100);
    return bench;
  }

  test('a 1 MiB message is cut to the MTU and reassembled byte for byte', () => {
    const bench = new Bench([1, 2], { links: [linkOptions(0, 1, 1400), linkOptions(1, 1, 1400)] });
    bench.runUntil(100);
    const message = Uint8Array.from({ length: 1024 * 1024 }, (_, i) => (i * 7 + (i >> 9)) & 0xff);
    const frames = transmits(bench.step(1, { type: 'send', to: 2, payload: message }));
    assert.ok(frames.length > 700);
    assert.ok(frames.every((frame) => frame.bytes.length <= 1400));
    const delivered = bench.events('deliver', 2);
    assert.equal(delivered.length, 1);
    assert.deepEqual(delivered[0]!.payload, message);
  });

  test('fragments arriving over different links, shuffled and duplicated, give one message', () => {
    const receiver = makeCore(2, { links: [linkOptions(0, 1, MTU), linkOptions(1, 1, MTU)] });
    const peer = new Bench([1, 2], { links: [linkOptions(0, 1, MTU), linkOptions(1, 1, MTU)], linkMode: 'active' });
    peer.runUntil(100);
    const message = Uint8Array.from({ length: 2000 }, (_, i) => i & 0xff);
    const frames = transmits(peer.cores.get(1)!.step({ type: 'send', to: 2, payload: message }, peer.now));
    assert.ok(frames.length >= 2 * Math.ceil(2000 / (MTU - HEADER_BYTES)));
    // Reverse order, both copies (link 0 and link 1 versions) interleaved.
    const deliveries: TransportAction[] = [];
    for (const frame of frames.reverse()) {
      deliveries.push(...receiver.step({ type: 'receive', link: frame.link, bytes: frame.bytes }, 0));
    }
    const delivered = ofType(deliveries, 'deliver');
    assert.equal(delivered.length, 1);
    assert.deepEqual(delivered[0]!.payload, message);
    assert.equal(receiver.counters().rejected.duplicate, frames.length / 2);
  });

  test('reassembly memory is bounded per peer: the oldest partial messages are evicted and counted', () => {
    const bench = mtuBench();
    const receiver = makeCore(2, { links: [linkOptions(0, 1, MTU), linkOptions(1, 1, MTU)] });
    const sender = bench.cores.get(1)!;
    const partialMessages = PARTIAL_MESSAGES_PER_PEER_MAX + 8;
    for (let i = 0; i < partialMessages; i++) {
      const frames = transmits(sender.step({ type: 'send', to: 2, payload: new Uint8Array(1000) }, bench.now));
      assert.ok(frames.length > 1);
      receiver.step({ type: 'receive', link: frames[0]!.link, bytes: frames[0]!.bytes }, 0);
    }
    assert.equal(receiver.counters().reassemblyEvictions, partialMessages - PARTIAL_MESSAGES_PER_PEER_MAX);
  });

  test('messages above maxMessageBytes are refused at send', () => {
    const bench = new Bench([1, 2], { maxMessageBytes: 1000 });
    bench.runUntil(100);
    assert.equal(transmits(bench.step(1, { type: 'send', to: 2, payload: new Uint8Array(1001) })).length, 0);
    assert.equal(bench.cores.get(1)!.counters().txDropped.message_too_large, 1);
  });
});

describe('transport core: administration and status', () => {
  test('disabling a link: linkDown "disabled", nothing sent on it, peers see it go down by timeout', () => {
    const bench = new Bench([1, 2]);
    bench.runUntil(SETTLED_MS);
    bench.log.length = 0;
    const disabledAt = bench.now;
    bench.step(1, { type: 'setLinkEnabled', link: 0, enabled: false });
    assert.deepEqual(
      bench.events('linkDown', 1).map((d) => [d.link, d.reason]),
      [[0, 'disabled']],
    );
    bench.runUntil(disabledAt + TIMEOUT_MS + PING_MS);
    assert.ok(bench.log.every((e) => e.node !== 1 || e.action.type !== 'transmit' || e.action.link !== 0));
    assert.deepEqual(
      bench.events('linkDown', 2).map((d) => d.link),
      [0],
    );
    assert.equal(bench.cores.get(1)!.linkStatus(bench.now)[0]!.reason, 'disabled');
    bench.step(1, { type: 'setLinkEnabled', link: 0, enabled: true });
    bench.runUntil(bench.now + PING_MS * (PONGS + 1));
    assert.ok(bench.events('linkUp', 1).some((u) => u.link === 0));
  });

  test('all links down → hostDown and "has no active links"; the status says why', () => {
    const bench = new Bench([1, 2]);
    bench.runUntil(SETTLED_MS);
    bench.cut.add(0);
    bench.cut.add(1);
    bench.runUntil(SETTLED_MS + TIMEOUT_MS + 2 * PING_MS);
    assert.equal(bench.events('hostDown', 1).length, 1);
    assert.equal(bench.cores.get(1)!.isReachable(2), false);
    assert.ok(
      bench.events('log', 1).some((l) => l.level === 'warning' && l.message === 'host: host: 2 has no active links'),
    );
    assert.match(bench.cores.get(1)!.linkStatus(bench.now)[0]!.reason ?? '', /^no pong for \d+ ms$/);
  });

  test('links and peers can be added and removed at run time', () => {
    const bench = new Bench([1, 2], { links: [linkOptions(0)], peers: [] });
    bench.step(1, { type: 'addPeer', nodeId: 2, links: [0, 1] });
    bench.step(2, { type: 'addPeer', nodeId: 1, links: [0, 1] });
    bench.runUntil(100);
    assert.deepEqual(
      bench.events('linkUp', 1).map((u) => u.link),
      [0],
    );
    bench.step(1, { type: 'addLink', options: linkOptions(1, 5), peers: [{ nodeId: 2 }] });
    bench.step(2, { type: 'addLink', options: linkOptions(1, 5), peers: [{ nodeId: 1 }] });
    bench.runUntil(200);
    assert.ok(bench.events('linkUp', 1).some((u) => u.link === 1));
    bench.step(1, { type: 'removeLink', link: 1 });
    assert.deepEqual(
      bench.events('linkDown', 1).map((d) => [d.link, d.reason]),
      [[1, 'link removed']],
    );
    bench.step(1, { type: 'removePeer', nodeId: 2 });
    assert.equal(bench.events('hostDown', 1).length, 1);
    assert.deepEqual(bench.cores.get(1)!.linkStatus(bench.now), []);
    bench.step(1, { type: 'removePeer', nodeId: 2 });
    assert.ok(bench.events('log', 1).some((l) => l.level === 'warning' && l.message.includes('unknown host 2')));
  });

  test('invalid options are refused at construction', () => {
    assert.throws(() => makeCore(0), RangeError);
    assert.throws(() => makeCore(1, { links: [linkOptions(0), linkOptions(0)] }), RangeError);
    assert.throws(() => makeCore(1, { links: [linkOptions(9)] }), RangeError);
    assert.throws(() => makeCore(1, { links: [linkOptions(0, 1, 50)] }), RangeError);
    assert.throws(() => makeCore(1, { maxMessageBytes: 64 * 1024 * 1024 }), RangeError);
  });
});
