// Node failures and partitions (issue 6, tests 3, 4, 5 and 9): 3 hosts × 2 links in network namespaces with a
// steady CPG stream from n1 and n2. Only a majority side is quorate; after repair one membership of 3 again.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StatusV1 } from '../../src/ipc/schema.ts';
import { assertStreamRepaired, healthy, oneHealthyRing, STREAM_INTERVAL_MS, skipReason, useLab } from './helpers.ts';

const ALL = [1, 2, 3];
const SENDERS = [1, 2];
/** Token + consensus at the default timings for 3 nodes (3650 + 4380 ms), plus a margin. */
const FAILURE_DEADLINE_MS = 3650 + 4380 + 5000;
/** How long the membership must stay unchanged to count as settled, and how long settling may take. */
const STABLE_FOR_MS = 15_000;
const SETTLE_WITHIN_MS = 60_000;

const membersOf = (s: StatusV1) => s.members.map((m) => m.nodeid).join(',');

describe('netns lab, 3 hosts × 2 links: failures and partitions', { skip: skipReason }, () => {
  const suite = useLab({ nodes: 3, links: 2 });

  /** n1+n2 quorate as two, n3 alone and inquorate. */
  async function majorityWithout3(): Promise<void> {
    await suite.lab.waitFor((s) => s.quorum.quorate && membersOf(s) === '1,2', {
      nodes: [1, 2],
      timeoutMs: FAILURE_DEADLINE_MS,
    });
  }

  /** After repair: one quorate membership of 3; the stream from then on reaches every host. */
  async function mergedAndIntact(): Promise<void> {
    const statuses = await oneHealthyRing(suite.lab, 3, 30_000);
    assert.equal(new Set(statuses.map((s) => s.ring_id)).size, 1, 'one ring everywhere');
    const after = suite.stream.mark();
    assert.ok(await suite.stream.progress(ALL, 100, 20_000), 'stream reaches every host after the merge');
    await assertStreamRepaired(suite.stream, { senders: SENDERS, whole: [1, 2], on: ALL, after });
  }

  test('every link of n3 cut: n1+n2 quorate, n3 inquorate and says so; restore: one membership of 3', async () => {
    suite.stream.start(SENDERS, STREAM_INTERVAL_MS);
    for (const l of [0, 1]) await suite.lab.cut(3, l);
    await majorityWithout3();
    const [alone] = await suite.lab.waitFor((s) => !s.quorum.quorate && membersOf(s) === '3', {
      nodes: [3],
      timeoutMs: FAILURE_DEADLINE_MS,
    });
    assert.ok(!alone!.quorum.flags.includes('Quorate'), 'n3 reports itself inquorate');
    assert.ok(await suite.stream.progress([1, 2], 100, 20_000), 'stream keeps flowing on the majority');
    for (const l of [0, 1]) await suite.lab.restore(3, l);
    await mergedAndIntact();
  });

  test('SIGKILL of n3, restart: the same', async () => {
    suite.stream.start(SENDERS, STREAM_INTERVAL_MS);
    suite.stream.detach(3);
    await suite.lab.crash(3);
    await majorityWithout3();
    assert.ok(await suite.stream.progress([1, 2], 100, 20_000), 'stream keeps flowing on the majority');
    await suite.lab.start(3);
    await suite.stream.attach(suite.stream.node(3));
    await mergedAndIntact();
  });

  test('partition 1,2 | 3: only the majority is quorate; heal: merge', async () => {
    suite.stream.start(SENDERS, STREAM_INTERVAL_MS);
    await suite.lab.partition([[1, 2], [3]]);
    await majorityWithout3();
    await suite.lab.waitFor((s) => !s.quorum.quorate && membersOf(s) === '3', { nodes: [3], timeoutMs: 15_000 });
    await suite.lab.heal();
    await mergedAndIntact();
  });

  test('partition 1 | 2 | 3: nobody is quorate; heal: merge', async () => {
    suite.stream.start(SENDERS, STREAM_INTERVAL_MS);
    await suite.lab.partition([[1], [2], [3]]);
    await suite.lab.waitFor((s) => !s.quorum.quorate && s.members.length === 1, { timeoutMs: FAILURE_DEADLINE_MS });
    await suite.lab.heal();
    const statuses = await oneHealthyRing(suite.lab, 3, 30_000);
    assert.equal(new Set(statuses.map((s) => s.ring_id)).size, 1, 'one ring everywhere');
    const after = suite.stream.mark();
    assert.ok(await suite.stream.progress(ALL, 100, 20_000), 'stream reaches every host after the merge');
    await suite.stream.stop();
    await suite.stream.drain(SENDERS, ALL, 20_000, after);
    assert.deepEqual(suite.stream.problems({ senders: SENDERS, on: ALL, after }), []);
  });

  test('n1 and n2 lose every link between them, both reach n3: one stable membership, the log names the pair', async () => {
    suite.stream.clearMemberships();
    await suite.lab.breakPair(1, 2);
    const start = Date.now();
    let lastChange = Date.now();
    let seen = 0;
    const totemTail = async () =>
      (await suite.stream.node(3).client!.logs({ lines: 400 }))
        .map((l) => l.text)
        .filter((t) => t.includes('TOTEM'))
        .slice(-6)
        .join('\n');
    while (Date.now() - lastChange < STABLE_FOR_MS) {
      const changes = suite.stream.regularChanges().length;
      if (changes !== seen) {
        seen = changes;
        lastChange = Date.now();
      }
      if (Date.now() - start > SETTLE_WITHIN_MS)
        assert.fail(
          `still re-forming after ${SETTLE_WITHIN_MS} ms: ${seen} configurations, last ${JSON.stringify(suite.stream.regularChanges().slice(-3))}; n3's log:\n${await totemTail()}`,
        );
      await new Promise((r) => setTimeout(r, 200));
    }
    const statuses = await Promise.all(ALL.map((n) => suite.lab.status(n)));
    const quorate = statuses.filter((s) => s.quorum.quorate);
    assert.equal(new Set(quorate.map((s) => s.ring_id)).size, 1, 'at most one quorate membership');
    const logs = (await Promise.all([1, 2].map((n) => suite.stream.node(n).client!.logs({ lines: 2000 })))).map(
      (lines) => lines.map((l) => l.text),
    );
    const names = (lines: string[], other: number) =>
      lines.some((t) => new RegExp(`\\b(node|host):? ${other}\\b.*(unreachable|down)`, 'i').test(t));
    assert.ok(names(logs[0]!, 2) && names(logs[1]!, 1), 'n1 logs n2 unreachable and n2 logs n1 unreachable');
    await suite.lab.breakPair(1, 2, false);
    await suite.lab.waitFor(healthy(3), { timeoutMs: 30_000 });
  });
});
