// A pulled cable noticed by carrier (issue 14): 3 hosts × 2 links, default config (the lean ping profile, whose
// timeout is 1825 ms). n3's cable on link0 is pulled at the switch: n3's carrier watch (src/daemon/carrier-watch.ts)
// takes its link0 down with reason `no carrier` and n1 logs that n3 reports no carrier; plugged back, the link comes
// up; a daemon started with the cable pulled reports it at once. A daemon killed with SIGKILL leaves no `ip monitor`
// behind.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { NetnsLab } from '../../src/lab/netns-lab.ts';
import { waitUntil } from '../wait-until.ts';
import { healthy, skipReason } from './helpers.ts';

/** Bound of every wait on a log line or a status: far above a carrier notice (ms), bounded all the same. */
const WAIT_MS = 15_000;
const POLL_MS = 20;

const isGone = (pid: number) =>
  !existsSync(`/proc/${pid}`) || /^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));

/** The live children of `pid` (all its threads'). */
function childrenOf(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
    readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
  );
}

describe('netns lab, 3 hosts × 2 links: carrier', { skip: skipReason }, () => {
  let lab: NetnsLab;
  before(async () => {
    lab = await NetnsLab.up({ nodes: 3, links: 2, dir: mkdtempSync(join(tmpdir(), 'corolink-lab-')) });
    await lab.waitFor(healthy(3), { timeoutMs: 60_000 });
  });
  after(() => lab?.down());

  /** Waits until host `nodeid`'s log, from byte `from` on, has a line matching `pattern`. */
  const logLine = (nodeid: number, from: number, pattern: RegExp) =>
    waitUntil(
      () =>
        readFileSync(lab.logFile(nodeid), 'utf8')
          .slice(from)
          .split('\n')
          .find((line) => pattern.test(line)),
      WAIT_MS,
      `n${nodeid}'s log to show ${pattern}`,
      POLL_MS,
    );
  const logSize = (nodeid: number) => statSync(lab.logFile(nodeid)).size;

  test('pulled cable of n3 on link0: n3 takes it down (no carrier) and n1 hears it (host reports no carrier); plugged back: up', async () => {
    const from = [0, logSize(1), logSize(2), logSize(3)];
    await lab.cut(3, 0);
    await logLine(1, from[1]!, /link: host: 3 link: 0 is down \(host reports no carrier\)/);
    await logLine(2, from[2]!, /link: host: 3 link: 0 is down \(host reports no carrier\)/);
    await logLine(3, from[3]!, /link: local link 0 lost carrier \(link0\)/);
    await logLine(3, from[3]!, /link: host: 1 link: 0 is down \(no carrier\)/);
    const own = (await lab.status(3)).members.find((m) => m.local)?.links.find((l) => l.link === 0);
    assert.deepEqual([own?.state, own?.reason], ['DOWN', 'no carrier'], "n3's own link0");
    const link1 = await lab.status(1);
    assert.equal(link1.members.find((m) => m.nodeid === 3)?.links.find((l) => l.link === 1)?.state, 'UP');

    await lab.restore(3, 0);
    await logLine(3, from[3]!, /link: local link 0 has carrier again \(link0\)/);
    await logLine(1, from[1]!, /rx: host: 3 link: 0 is up/);
    await lab.waitFor(healthy(3), { timeoutMs: WAIT_MS });
  });

  test('n3 started with its cable on link0 pulled: it reports no carrier at once (its interface found by ip -o addr)', async () => {
    await lab.cut(3, 0);
    await lab.crash(3);
    const from = logSize(3);
    await lab.start(3);
    await logLine(3, from, /link: local link 0 lost carrier \(link0\)/);
    const own = (await lab.status(3)).members.find((m) => m.local)?.links.find((l) => l.link === 0);
    assert.deepEqual([own?.state, own?.reason], ['DOWN', 'no carrier'], "n3's own link0");
    await lab.restore(3, 0);
    await logLine(3, from, /link: local link 0 has carrier again \(link0\)/);
    await lab.waitFor(healthy(3), { timeoutMs: WAIT_MS * 2 });
  });

  test("kill -9 of n2's daemon: its ip monitor child is gone too", async () => {
    const daemon = lab.pid(2);
    assert.ok(daemon !== undefined, 'n2 runs');
    const monitor = await waitUntil(
      () =>
        childrenOf(daemon).find((pid) =>
          readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('ip\0-o\0monitor\0link'),
        ),
      WAIT_MS,
      "n2's ip monitor",
      POLL_MS,
    );
    await lab.crash(2);
    await waitUntil(() => isGone(monitor), WAIT_MS, `monitor ${monitor} gone`, POLL_MS);
  });
});
