// Chaos on one link at a time (issue 6, tests 1, 2 and 10): 3 hosts × 2 links in network namespaces with a
// steady CPG stream; pulled cables, a dead switch and a deleted address must not change the configuration.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  assertNoConfigurationChange,
  assertStreamIntact,
  healthy,
  linkState,
  STREAM_INTERVAL_MS,
  skipReason,
  useLab,
} from './helpers.ts';

const ALL = [1, 2, 3];
/** Deliveries each host must make while the fault holds (≈ 2 s of the stream). */
const DURING_FAULT = 200;
/** CPU share of one core above which the daemon counts as spinning. */
const SPIN_CPU_SHARE = 0.6;
const SPIN_WINDOW_MS = 5_000;

describe('netns lab, 3 hosts × 2 links: one link at a time', { skip: skipReason }, () => {
  const suite = useLab({ nodes: 3, links: 2 });

  /** Runs the stream through `fault` … `repair` and checks links, quorum, configuration and the stream. */
  async function drill(
    fault: () => Promise<unknown>,
    downSeen: (s: Parameters<typeof linkState>[0]) => boolean,
    repair: () => Promise<unknown>,
  ): Promise<void> {
    suite.stream.clearMemberships();
    suite.stream.start(ALL, STREAM_INTERVAL_MS);
    assert.ok(await suite.stream.progress(ALL, 50, 10_000), 'stream flowing before the fault');
    await fault();
    const during = await suite.lab.waitFor((s) => downSeen(s) && s.quorum.quorate, { timeoutMs: 15_000 });
    assert.equal(during.length, 3);
    assert.ok(await suite.stream.progress(ALL, DURING_FAULT, 20_000), 'stream flowing during the fault');
    await repair();
    await suite.lab.waitFor(healthy(3), { timeoutMs: 20_000 });
    await assertNoConfigurationChange(suite.lab, suite.stream, suite.ringId);
    await assertStreamIntact(suite.stream, { senders: ALL, on: ALL });
  }

  test('cut link0 of n3: DOWN from every peer, no configuration change, quorate, nothing lost; restore: UP', () =>
    drill(
      () => suite.lab.cut(3, 0),
      (s) => s.local_nodeid === 3 || (linkState(s, 3, 0) === 'DOWN' && linkState(s, 3, 1) === 'UP'),
      () => suite.lab.restore(3, 0),
    ));

  test('cut link1 of n3: the same', () =>
    drill(
      () => suite.lab.cut(3, 1),
      (s) => s.local_nodeid === 3 || (linkState(s, 3, 1) === 'DOWN' && linkState(s, 3, 0) === 'UP'),
      () => suite.lab.restore(3, 1),
    ));

  test('switch of link0 off (every host loses link0): the same', () =>
    drill(
      () => suite.lab.cutSwitch(0),
      (s) => s.members.filter((m) => !m.local).every((m) => linkState(s, m.nodeid, 0) === 'DOWN'),
      () => suite.lab.restoreSwitch(0),
    ));

  test('ip addr del of n3 link0 address: handled as link down, no CPU spin (corosync#569)', () =>
    drill(
      async () => {
        await suite.lab.removeAddress(3, 0);
        await suite.lab.waitFor((s) => s.local_nodeid === 3 || linkState(s, 3, 0) === 'DOWN', { timeoutMs: 15_000 });
        const cpuBefore = suite.lab.cpuSeconds(3);
        const started = Date.now();
        assert.ok(await suite.stream.progress(ALL, 100, SPIN_WINDOW_MS * 2));
        await new Promise((r) => setTimeout(r, Math.max(0, SPIN_WINDOW_MS - (Date.now() - started))));
        const share = (suite.lab.cpuSeconds(3) - cpuBefore) / ((Date.now() - started) / 1000);
        assert.ok(share < SPIN_CPU_SHARE, `n3's daemon used ${(share * 100).toFixed(0)} % of a core`);
      },
      (s) => s.local_nodeid === 3 || (linkState(s, 3, 0) === 'DOWN' && linkState(s, 3, 1) === 'UP'),
      () => suite.lab.restoreAddress(3, 0),
    ));
});
