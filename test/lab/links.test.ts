// Chaos on one link at a time (issue 6, tests 1, 2 and 10): 3 hosts × 2 links in network namespaces with a
// steady CPG stream; pulled cables, a dead switch and a deleted address must not change the configuration.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { CorolinkClient } from '../../src/client/client.ts';
import type { ClusterLinksV1 } from '../../src/ipc/schema.ts';
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

/** n3, whose cable on `link` is pulled, must say why its own link is DOWN: no carrier (other hosts: true). */
function noCarrierOnN3(s: Parameters<typeof linkState>[0], link: number): boolean {
  const own = s.members.find((m) => m.local)?.links.find((l) => l.link === link);
  return s.local_nodeid !== 3 || own?.reason === 'no carrier';
}
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

  test('cut link0 of n3: DOWN from every peer and on n3 itself (no carrier), no configuration change, quorate, nothing lost; restore: UP', () =>
    drill(
      () => suite.lab.cut(3, 0),
      (s) => linkState(s, 3, 0) === 'DOWN' && linkState(s, 3, 1) === 'UP' && noCarrierOnN3(s, 0),
      () => suite.lab.restore(3, 0),
    ));

  test('cut link1 of n3: the same', () =>
    drill(
      () => suite.lab.cut(3, 1),
      (s) => linkState(s, 3, 1) === 'DOWN' && linkState(s, 3, 0) === 'UP' && noCarrierOnN3(s, 1),
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

  test('one direction of n2 → n3 on link0 dropped: n1 sees it only through the cluster-wide view (status --cluster)', async () => {
    const pathState = (view: ClusterLinksV1, from: number, to: number, link: number) =>
      view.views.find((v) => v.nodeid === from)?.paths.find((p) => p.nodeid === to && p.link === link)?.state;
    const client = await CorolinkClient.connect({ socket: suite.lab.socket(1), reconnect: false });
    try {
      await drill(
        async () => {
          await suite.lab.cutOneWay(2, 3, 0);
          const deadline = Date.now() + 15_000;
          for (;;) {
            const view = await client.clusterLinks();
            if (pathState(view, 2, 3, 0) === 'DOWN' || pathState(view, 3, 2, 0) === 'DOWN') break;
            assert.ok(Date.now() < deadline, 'the cut shows in the cluster-wide view within 15 s');
            await new Promise((r) => setTimeout(r, 100));
          }
          // From n1 itself every path is up: only the cluster-wide view shows the fault between n2 and n3.
          const own = await suite.lab.status(1);
          for (const m of own.members.filter((m) => !m.local)) {
            assert.deepEqual([linkState(own, m.nodeid, 0), linkState(own, m.nodeid, 1)], ['UP', 'UP']);
          }
          const { stdout } = await promisify(execFile)(
            process.execPath,
            ['bin/corolink.mjs', 'status', '--cluster', '--socket', suite.lab.socket(1)],
            { timeout: 30_000 },
          );
          assert.match(stdout, /^Cluster-wide link view$/m);
          assert.match(stdout, /^ {2}n[23] → n[23] link0: DOWN/m, stdout);
          assert.match(stdout, /^n1 \(local\) +- +0:UP\*? 1:UP\*? +0:UP\*? 1:UP\*?$/m, stdout);
        },
        (s) => s.quorum.quorate,
        async () => {
          await suite.lab.cutOneWay(2, 3, 0, false);
          const deadline = Date.now() + 20_000;
          while (
            pathState(await client.clusterLinks(), 2, 3, 0) !== 'UP' ||
            pathState(await client.clusterLinks(), 3, 2, 0) !== 'UP'
          ) {
            assert.ok(Date.now() < deadline, 'the path is seen up again from both ends');
            await new Promise((r) => setTimeout(r, 100));
          }
        },
      );
    } finally {
      await client.close();
    }
  });
});
