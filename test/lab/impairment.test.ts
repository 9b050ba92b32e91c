// A bad link that never quite fails (issue 6, tests 6 and 7): 3 hosts × 2 links in network namespaces with a
// steady CPG stream; 30 s of loss + jitter on link0, then 30 s of link0 of one host flapping every 500 ms.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import type { NetnsLab } from '../../src/lab/netns-lab.ts';
import {
  assertNoConfigurationChange,
  assertStreamIntact,
  healthy,
  STREAM_INTERVAL_MS,
  skipReason,
  useLab,
} from './helpers.ts';

const ALL = [1, 2, 3];
const IMPAIRED_MS = 30_000;
const FLAP_PERIOD_MS = 500;
/** Log lines one daemon may write per flap (down + up, per peer, with margin): the volume stays bounded. */
const LOG_LINES_PER_FLAP = 12;

const logLines = (lab: NetnsLab, n: number) => readFileSync(lab.logFile(n), 'utf8').trimEnd().split('\n');

/** The most frequent kinds of line (numbers masked) among `lines`, for the failure message. */
function topKinds(lines: string[]): string {
  const counts = new Map<string, number>();
  for (const line of lines) {
    const kind = line.replace(/^.*?corolink /, '').replace(/\d+/g, '#');
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([kind, count]) => `${count}× ${kind}`)
    .join(' | ');
}

describe('netns lab, 3 hosts × 2 links: lossy, jittery and flapping link0', { skip: skipReason }, () => {
  const suite = useLab({ nodes: 3, links: 2 });

  test('20 % loss and 50 ms jitter on link0 for 30 s: no configuration change', async (t) => {
    const jitter = await suite.lab.netemAvailable();
    if (!jitter) t.diagnostic('this kernel has no sch_netem: 20 % loss only (BPF filter), no jitter');
    suite.stream.clearMemberships();
    suite.stream.start(ALL, STREAM_INTERVAL_MS);
    for (const n of ALL)
      await suite.lab.netem(n, 0, { lossPercent: 20, ...(jitter ? { jitterMs: 50, delayMs: 50 } : {}) });
    const end = Date.now() + IMPAIRED_MS;
    while (Date.now() < end) {
      assert.ok(await suite.stream.progress(ALL, 10, 10_000), 'stream keeps flowing');
      await new Promise((r) => setTimeout(r, 1000));
    }
    for (const n of ALL) await suite.lab.clearNetem(n, 0);
    await suite.lab.waitFor(healthy(3), { timeoutMs: 20_000 });
    await assertNoConfigurationChange(suite.lab, suite.stream, suite.ringId);
    await assertStreamIntact(suite.stream, { senders: ALL, on: ALL });
  });

  test('link0 of n3 flapping every 500 ms for 30 s: no configuration change, log volume bounded', async () => {
    suite.stream.clearMemberships();
    suite.stream.start(ALL, STREAM_INTERVAL_MS);
    const linesBefore = ALL.map((n) => logLines(suite.lab, n).length);
    const cuts = await suite.lab.flap(3, 0, FLAP_PERIOD_MS, IMPAIRED_MS);
    await suite.lab.waitFor(healthy(3), { timeoutMs: 20_000 });
    const written = ALL.map((n, i) => logLines(suite.lab, n).slice(linesBefore[i]!));
    await assertNoConfigurationChange(suite.lab, suite.stream, suite.ringId);
    await assertStreamIntact(suite.stream, { senders: ALL, on: ALL });
    assert.ok(cuts >= 20, `${cuts} cuts`);
    for (const [i, lines] of written.entries())
      assert.ok(
        lines.length <= cuts * LOG_LINES_PER_FLAP,
        `n${i + 1} wrote ${lines.length} log lines for ${cuts} flaps: ${topKinds(lines)}`,
      );
  });
});
