// Issue 17's Done-when scenarios on namespaced hosts against Debian's corosync-qnetd: `corolink qdevice setup` in
// one command (certificates over the lab's remote shell, the live config change, the wait for the vote), then the
// device's vote through a node crash, a cut between the two nodes (each still reaching qnetd), qnetd stopped, a
// 2/2 split of four nodes, and a real Corosync + corosync-qdevice cluster on the same qnetd.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { CorolinkClient } from '../../src/client/client.ts';
import type { QdeviceStatusV1, StatusV1 } from '../../src/ipc/schema.ts';
import { onPath, run } from '../../src/lab/command.ts';
import { BIN } from '../../src/lab/daemon-process.ts';
import { NetnsLab } from '../../src/lab/netns-lab.ts';
import { qnetdUnavailableReason } from '../../src/lab/qnetd-host.ts';
import { CorosyncCluster, corosyncUnavailableReason } from './corosync-cluster.ts';
import { healthy, skipReason } from './helpers.ts';

const execFileAsync = promisify(execFile);
const skip = skipReason ?? qnetdUnavailableReason() ?? (onPath('openssl') ? undefined : 'qdevice setup needs openssl');
/** Bound of every wait for a membership or vote change (token loss + consensus + the device's sync, loaded CI). */
const CHANGE_TIMEOUT_MS = 60_000;
const VOTE_POLL_MS = 200;

const corolink = (lab: NetnsLab, args: string[]) =>
  execFileAsync(process.execPath, [BIN, ...args], {
    env: { ...process.env, COROLINK_SOCKET: lab.socket(1), COROLINK_CONFIG: lab.configPath },
  });

/** `corolink qdevice setup` run on n1 as docs/quorum.md shows it, in one command, waiting (bounded) for the vote. */
async function qdeviceSetup(lab: NetnsLab, options: string[] = []): Promise<{ stdout: string; stderr: string }> {
  return execFileAsync(process.execPath, [
    BIN,
    'lab',
    'exec',
    '--dir',
    lab.dir,
    '1',
    '--',
    'corolink',
    'qdevice',
    'setup',
    lab.qnetdAddress,
    '--ssh-command',
    'corolink lab rsh', // the lab's node shell says which lab (COROLINK_LAB_DIR)
    '--yes',
    '--wait',
    String(CHANGE_TIMEOUT_MS / 1000),
    ...options,
  ]);
}

/** Every member counts the device: the Qdevice flag, its vote in the total, every member `A,V,NMW`. */
const deviceVoting = (members: number) => (s: StatusV1) =>
  s.quorum.quorate &&
  s.members.length === members &&
  s.quorum.flags.includes('Qdevice') &&
  s.quorum.total_votes === members + 1 &&
  s.members.every((m) => m.qdevice === 'A,V,NMW');

/** Alone in its membership of `members`, quorate or not. */
const settled = (members: number, quorate: boolean) => (s: StatusV1) =>
  s.members.length === members && s.quorum.quorate === quorate;

/**
 * Waits (bounded) until node `nodeid`'s qdevice-net client has qnetd's `vote` for the membership `members`: a new
 * membership resets the vote to wait_for_reply and votes for older rings are ignored, so this is qnetd's decision
 * for that partition, not a vote left from before the change.
 */
async function waitForVote(lab: NetnsLab, nodeid: number, members: number[], vote: 'ack' | 'nack'): Promise<void> {
  const client = await CorolinkClient.connect({ socket: lab.socket(nodeid), reconnect: false });
  try {
    const deadline = Date.now() + CHANGE_TIMEOUT_MS;
    let last: QdeviceStatusV1 | undefined;
    for (;;) {
      last = await client.qdeviceStatus();
      const device = last.device;
      if (device && device.members.join() === members.join() && device.net.last_vote === vote) return;
      if (Date.now() > deadline) {
        throw new Error(`n${nodeid}: no ${vote} for members ${members} in time: ${JSON.stringify(last.device)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, VOTE_POLL_MS));
    }
  } finally {
    client.close();
  }
}

/** qnetd's own view: `corosync-qnetd-tool -l`. */
const qnetdClients = (lab: NetnsLab) => run('corosync-qnetd-tool', ['-l', '-p', lab.qnetdFiles.socket]);

/** `corosync-qnetd-tool -l` as cluster name → node id (ascending) → its `Key: value` lines. */
function parseQnetdList(text: string): Record<string, Record<number, Record<string, string>>> {
  const clusters: Record<string, Record<number, Record<string, string>>> = {};
  let nodes: Record<number, Record<string, string>> | undefined;
  let node: Record<string, string> | undefined;
  for (const line of text.split('\n')) {
    const cluster = /^Cluster "(.+)":$/.exec(line);
    const nodeid = /^ {4}Node ID (\d+):$/.exec(line);
    const field = /^ {8}([^:]+):\s*(.*)$/.exec(line);
    if (cluster) nodes = clusters[cluster[1]!] = {};
    else if (nodeid && nodes) node = nodes[Number(nodeid[1])] = {};
    else if (field && node) node[field[1]!] = field[2]!.trim();
  }
  return clusters;
}

describe('netns lab: 2 nodes + Debian corosync-qnetd (ffsplit), setup in one command', { skip }, () => {
  let lab: NetnsLab;
  const waitFor = (predicate: (s: StatusV1) => boolean, nodes: number[]) =>
    lab.waitFor(predicate, { timeoutMs: CHANGE_TIMEOUT_MS, nodes });

  before(async () => {
    lab = await NetnsLab.up({ nodes: 2, links: 2, qnetd: true, dir: mkdtempSync(join(tmpdir(), 'corolink-lab-')) });
    await lab.waitFor(healthy(2), { timeoutMs: 60_000 });
  });
  after(async () => {
    if (lab) await NetnsLab.open(lab.dir).down();
  });

  test('qdevice setup: certificates, live change and the vote counted on both nodes, in one command', async () => {
    const { stdout } = await qdeviceSetup(lab);
    assert.match(stdout, /config_version 1 → 2: applied/);
    assert.match(stdout, /n1: Qdevice vote counted: flags Quorate Qdevice, total votes 3, expected 3, quorum 2/);
    assert.match(stdout, /n2: Qdevice vote counted: flags Quorate Qdevice, total votes 3, expected 3, quorum 2/);
    await waitFor(deviceVoting(2), [1, 2]);
    const { stdout: status } = await corolink(lab, ['status']);
    assert.match(status, /^Expected votes: +3$/m);
    assert.match(status, /^Total votes: +3$/m);
    assert.match(status, /^Flags: +Quorate Qdevice\s*$/m);
    assert.match(status, /^0x00000001 +1 +A,V,NMW n1 \(local\)$/m);
    assert.match(status, /^0x00000002 +1 +A,V,NMW n2$/m);
    assert.match(status, /^0x00000000 +1 +Qdevice$/m);
    assert.match(await qnetdClients(lab), /Cluster "demo":[\s\S]*Node ID 1:[\s\S]*Node ID 2:/);
  });

  test('qnetd stopped: both nodes stay quorate without the device vote; qnetd back → the vote returns', async () => {
    await execFileAsync(process.execPath, [BIN, 'lab', 'qnetd', 'stop', '--dir', lab.dir]);
    const withoutVote = (s: StatusV1) =>
      s.quorum.quorate && s.members.length === 2 && s.quorum.total_votes === 2 && s.quorum.expected_votes === 3;
    const statuses = await waitFor(withoutVote, [1, 2]);
    for (const s of statuses) assert.equal(s.quorum.qdevice?.cast_vote, false, 'the device row shows no vote');
    await execFileAsync(process.execPath, [BIN, 'lab', 'qnetd', 'start', '--dir', lab.dir]);
    lab = NetnsLab.open(lab.dir); // the CLI recorded qnetd's new PID in lab.json
    await waitFor(deviceVoting(2), [1, 2]);
  });

  for (const round of [1, 2]) {
    test(`both links between the nodes cut, qnetd reachable (round ${round}): n1 (tie_breaker lowest) alone quorate; mended → one membership with the vote`, async () => {
      await lab.breakPair(1, 2);
      try {
        // qnetd's decision for both partitions, then votequorum's answer to it on each side.
        await Promise.all([waitForVote(lab, 1, [1], 'ack'), waitForVote(lab, 2, [2], 'nack')]);
        await waitFor(settled(1, true), [1]);
        await waitFor(settled(1, false), [2]);
        // Exactly one quorate, and it is the tie breaker's side.
        const [n1, n2] = await Promise.all([lab.status(1), lab.status(2)]);
        assert.deepEqual(
          [n1.quorum.quorate, n1.quorum.total_votes, n2.quorum.quorate, n2.quorum.total_votes],
          [true, 2, false, 1],
        );
      } finally {
        await lab.breakPair(1, 2, false);
      }
      await waitFor(deviceVoting(2), [1, 2]);
    });
  }

  test('kill -9 of n2: n1 stays quorate with 2 of 3 votes', async () => {
    await lab.crash(2);
    // Until the device polls for the new ring, n1's sync is open: Total votes 1 while services still hold the last
    // announcement (Quorate). Wait for the device's vote for the new ring; no status on the way may be inquorate.
    const inquorate: string[] = [];
    const [n1] = await waitFor(
      (s) => {
        if (!s.quorum.quorate)
          inquorate.push(`ring ${s.ring_id}: members ${s.members.length}, votes ${s.quorum.total_votes}`);
        return s.members.length === 1 && s.quorum.total_votes === 2;
      },
      [1],
    );
    assert.deepEqual(inquorate, [], 'n1 never reports itself inquorate');
    assert.deepEqual([n1!.quorum.quorate, n1!.quorum.expected_votes, n1!.quorum.quorum], [true, 3, 2]);
    assert.ok(n1!.quorum.flags.includes('Qdevice'));
  });
});

describe('netns lab: 4 nodes + Debian corosync-qnetd, and a real Corosync cluster on the same qnetd', { skip }, () => {
  let lab: NetnsLab;
  let corosync: CorosyncCluster | undefined;
  const waitFor = (predicate: (s: StatusV1) => boolean, nodes: number[]) =>
    lab.waitFor(predicate, { timeoutMs: CHANGE_TIMEOUT_MS, nodes });

  before(async () => {
    lab = await NetnsLab.up({ nodes: 4, links: 1, qnetd: true, dir: mkdtempSync(join(tmpdir(), 'corolink-lab-')) });
    await lab.waitFor(healthy(4), { timeoutMs: 60_000 });
    await qdeviceSetup(lab);
    await waitFor(deviceVoting(4), [1, 2, 3, 4]);
  });
  after(async () => {
    await corosync?.down();
    if (lab) await lab.down();
  });

  /** Splits {1,2} from {3,4}: `winners` quorate with 3 votes, the other half not, with 2; healed after. */
  async function split(winners: number[], losers: number[]): Promise<void> {
    await lab.partition([winners, losers]);
    try {
      await Promise.all([
        ...winners.map((n) => waitForVote(lab, n, winners, 'ack')),
        ...losers.map((n) => waitForVote(lab, n, losers, 'nack')),
      ]);
      await waitFor(settled(2, true), winners);
      await waitFor(settled(2, false), losers);
      const statuses = await Promise.all(lab.nodeids.map((n) => lab.status(n)));
      assert.deepEqual(
        statuses.map((s) => [s.quorum.quorate, s.quorum.total_votes]),
        lab.nodeids.map((n) => (winners.includes(n) ? [true, 3] : [false, 2])),
      );
    } finally {
      await lab.heal();
    }
    await waitFor(deviceVoting(4), [1, 2, 3, 4]);
  }

  test('split 2/2: exactly one half quorate (ffsplit, tie_breaker lowest: n1 and n2), the other not', async () => {
    await split([1, 2], [3, 4]);
  });

  test('the device again with tie_breaker highest: the same split, now n3 and n4 quorate', async () => {
    await execFileAsync(process.execPath, [
      BIN,
      ...['lab', 'exec', '--dir', lab.dir, '1', '--'],
      ...['corolink', 'qdevice', 'remove', '--ssh-command', 'corolink lab rsh', '--yes'],
    ]);
    await waitFor((s) => s.quorum.quorate && !s.quorum.flags.includes('Qdevice'), [1, 2, 3, 4]);
    const { stdout } = await qdeviceSetup(lab, ['--tie-breaker', 'highest']);
    assert.match(stdout, /config_version 3 → 4: applied/);
    await waitFor(deviceVoting(4), [1, 2, 3, 4]);
    await split([3, 4], [1, 2]);
  });

  test('interoperability: corosync-qnetd-tool -l lists a Corosync 3 + corosync-qdevice cluster and this one', {
    skip: corosyncUnavailableReason(),
  }, async () => {
    corosync = await CorosyncCluster.up(lab, 'cslab', 2);
    const outputs = await corosync.waitForQuorumtool(
      (out) => /^Flags: +Quorate Qdevice/m.test(out) && /^Total votes: +3$/m.test(out),
      CHANGE_TIMEOUT_MS,
    );
    for (const out of outputs) assert.match(out, /A,V,NMW cs1[\s\S]*A,V,NMW cs2/);
    const listed = await qnetdClients(lab);
    const clusters = parseQnetdList(listed);
    assert.deepEqual(Object.keys(clusters).sort(), ['cslab', 'demo'], listed);
    // Both clients told qnetd the same things: their configured and member node lists, and got ACK votes.
    for (const [name, ids] of [
      ['demo', [1, 2, 3, 4]],
      ['cslab', [1, 2]],
    ] as const) {
      const nodes = clusters[name]!;
      assert.deepEqual(Object.keys(nodes).map(Number), ids, listed);
      for (const node of Object.values(nodes)) {
        assert.equal(node['Configured node list'], ids.join(', '), listed);
        assert.equal(node['Membership node list'], ids.join(', '), listed);
        assert.match(node.Vote ?? '', /\(ACK\)$/, listed);
      }
    }
    assert.deepEqual(
      Object.values(clusters.cslab!).map((node) => node['Client address']?.replace(/^::ffff:|:\d+$/g, '')),
      [corosync.address(1), corosync.address(2)],
    );
    // corolink's nodes are still counted with the device on the shared qnetd.
    await waitFor(deviceVoting(4), [1, 2, 3, 4]);
  });
});
