// Shared pieces of the chaos tests: the skip reason, starting a lab with a CPG stream, link and stream checks.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { StatusV1 } from '../../src/ipc/schema.ts';
import { labUnavailableReason } from '../../src/lab/command.ts';
import { CpgStream } from '../../src/lab/cpg-stream.ts';
import { type LabOptions, NetnsLab } from '../../src/lab/netns-lab.ts';

/** Why the chaos tests cannot run here (printed as the skip reason), or undefined. */
export const skipReason = labUnavailableReason();

/** Interval of each sender's steady stream (3 senders × 50 msg/s). */
export const STREAM_INTERVAL_MS = 20;

/** State of `nodeid`'s link `link` as seen in `status`. */
export function linkState(status: StatusV1, nodeid: number, link: number): string | undefined {
  return status.members.find((m) => m.nodeid === nodeid)?.links.find((l) => l.link === link)?.state;
}

/** One quorate membership of `count` with every link of every member UP. */
export function healthy(count: number) {
  return (s: StatusV1) =>
    s.quorum.quorate && s.members.length === count && s.members.every((m) => m.links.every((l) => l.state === 'UP'));
}

/**
 * Waits until every running host is `healthy(count)` and reports the same ring — the newest one any of them
 * reported once all were healthy. Totem installs a new ring on each member in turn, so right after a merge a
 * host can still report the ring before it (3 members, quorate) for a moment; a split that lasts fails here.
 */
export async function oneHealthyRing(lab: NetnsLab, count: number, timeoutMs: number): Promise<StatusV1[]> {
  const seqOf = (ringId: string) => Number.parseInt(ringId.split('.')[1] ?? '0', 16);
  const statuses = await lab.waitFor(healthy(count), { timeoutMs });
  const newest = statuses.map((s) => s.ring_id).reduce((a, b) => (seqOf(b) > seqOf(a) ? b : a));
  return lab.waitFor((s) => healthy(count)(s) && s.ring_id === newest, { timeoutMs });
}

/** A lab in a fresh temp dir, waited until healthy, with a CPG stream joined on every host. */
export async function startLab(options: Omit<LabOptions, 'dir'>): Promise<{ lab: NetnsLab; stream: CpgStream }> {
  const lab = await NetnsLab.up({ ...options, dir: mkdtempSync(join(tmpdir(), 'corolink-lab-')) });
  try {
    await lab.waitFor(healthy(lab.memberIds.length), { timeoutMs: 60_000 });
    const stream = await CpgStream.open(new Map(lab.memberIds.map((n) => [n, lab.socket(n)])));
    return { lab, stream };
  } catch (error) {
    await lab.down();
    throw error;
  }
}

/** A lab of the suite it is called in: started (healthy, stream joined) before its tests, taken down after. */
export interface LabSuite {
  lab: NetnsLab;
  stream: CpgStream;
  /** The ring id once the lab was healthy. */
  ringId: string;
}

/** Registers the suite's before/after hooks (call it inside `describe`); the fields are set once `before` ran. */
export function useLab(options: Omit<LabOptions, 'dir'>): LabSuite {
  const suite = {} as LabSuite;
  before(async () => {
    Object.assign(suite, await startLab(options));
    suite.ringId = (await suite.lab.status(1)).ring_id;
  });
  after(async () => {
    suite.stream?.close();
    await suite.lab?.down();
  });
  return suite;
}

/** Asserts every host reports the same ring id and no host reported a new configuration since `clearMemberships`. */
export async function assertNoConfigurationChange(lab: NetnsLab, stream: CpgStream, ringId: string): Promise<void> {
  const statuses = await Promise.all(lab.nodeids.map((n) => lab.status(n)));
  const why = () => `\n${lab.nodeids.map((n) => membershipLogTail(lab, n)).join('\n')}`;
  assert.deepEqual(
    statuses.map((s) => s.ring_id),
    statuses.map(() => ringId),
    `ring id unchanged everywhere${statuses.some((s) => s.ring_id !== ringId) ? why() : ''}`,
  );
  assert.deepEqual(stream.regularChanges(), [], 'no configuration change reported by any host');
}

/** The last Totem lines about failures and memberships in host `nodeid`'s log (for failure messages). */
export function membershipLogTail(lab: NetnsLab, nodeid: number, lines = 6): string {
  return readFileSync(lab.logFile(nodeid), 'utf8')
    .split('\n')
    .filter((line) => /TOTEM.*(membership|failed|unreachable|Token|consensus)/i.test(line))
    .slice(-lines)
    .join('\n');
}

/** Stops the stream, waits for the in-flight messages and asserts the stream is intact. */
export async function assertStreamIntact(
  stream: CpgStream,
  complete: { senders: number[]; on: number[]; after?: Map<number, number> },
): Promise<void> {
  await stream.stop();
  await stream.drain(complete.senders, complete.on, 20_000, complete.after);
  assert.deepEqual(stream.problems(complete), [], 'every message exactly once, in one order, on every node');
  const counts = stream.deliveredCounts(complete.on);
  assert.ok(
    counts.every((c) => c > 0),
    `messages were delivered (${counts})`,
  );
}

/**
 * After a node was cut off and came back: stops the stream and asserts it intact on `whole` (the nodes never cut
 * off) and, from the `after` mark taken once the ring was whole again, on every node of `on` — each waited for, so
 * a message still on its way to the returning node is not taken for a lost one.
 */
export async function assertStreamRepaired(
  stream: CpgStream,
  repaired: { senders: number[]; whole: number[]; on: number[]; after: Map<number, number> },
): Promise<void> {
  await assertStreamIntact(stream, { senders: repaired.senders, on: repaired.whole });
  await stream.drain(repaired.senders, repaired.on, 20_000, repaired.after);
  assert.deepEqual(stream.problems({ senders: repaired.senders, on: repaired.on, after: repaired.after }), []);
}
