// Issue 14 "Scale": the lab's largest size, 32 hosts × 2 links on this machine's 2 cores, forms ONE quorate
// membership with every host reaching every other on both links, and keeps it: a hold with the same ring id on
// every host at every sample and no new membership in any log. (The times and the 10-minute hold: bench:scale.)
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LAB_NODES_MAX } from '../../src/lab/lab-state.ts';
import { NetnsLab } from '../../src/lab/netns-lab.ts';
import { healthy, membershipLogTail, skipReason } from './helpers.ts';

const NODES = LAB_NODES_MAX;
/** Formation is waited on, bounded generously for a loaded CI machine (bench:scale reports the time). */
const FORM_TIMEOUT_MS = 150_000;
const HOLD_MS = 60_000;
const SAMPLE_INTERVAL_MS = 5_000;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const membershipLines = (lab: NetnsLab, n: number) =>
  readFileSync(lab.logFile(n), 'utf8')
    .split('\n')
    .filter((line) => line.includes('A new membership'));

describe(`netns lab: ${NODES} hosts × 2 links`, { skip: skipReason }, () => {
  let lab: NetnsLab;
  before(async () => {
    lab = await NetnsLab.up({ dir: mkdtempSync(join(tmpdir(), 'corolink-scale-')), nodes: NODES, links: 2 });
  });
  after(() => lab?.down());

  test('one quorate membership of all hosts, every link UP; held with no configuration change', async () => {
    const [first] = await lab.waitFor(healthy(NODES), { timeoutMs: FORM_TIMEOUT_MS });
    const ringId = first!.ring_id;
    const formedLines = lab.nodeids.map((n) => membershipLines(lab, n).length);
    const until = Date.now() + HOLD_MS;
    while (Date.now() < until) {
      await pause(SAMPLE_INTERVAL_MS);
      const statuses = await Promise.all(lab.nodeids.map((n) => lab.status(n)));
      const moved = statuses.filter((s) => s.ring_id !== ringId || !s.quorum.quorate);
      assert.deepEqual(
        moved.map((s) => `n${s.local_nodeid} ${s.ring_id}`),
        [],
        `ring ${ringId} held, quorate, on every host\n${moved.map((s) => membershipLogTail(lab, s.local_nodeid)).join('\n')}`,
      );
    }
    const later = lab.nodeids.flatMap((n, i) => membershipLines(lab, n).slice(formedLines[i]));
    assert.deepEqual(later, [], 'no host formed a new membership during the hold');
  });
});
