// The qdevice-net client against Debian's real corosync-qnetd (root; run under the flock lock): two clients are
// the two nodes of a 2-node cluster; ffsplit (and lms, 2nodelms) give both the vote in one membership and exactly
// the tie-breaker's side the vote in a split, the same on every rerun; plain TCP and TLS with client certificates.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { QdeviceClusterView, QdeviceNetOptions } from '../../src/daemon/qdevice-contract.ts';
import { QdeviceNetClient } from '../../src/daemon/qdevice-net.ts';
import { makeQnetdTestCerts, type QnetdTestCerts, qnetdCertsSkipReason } from './qnetd-certs.ts';
import { type Qnetd, qnetdSkipReason, startQnetd } from './qnetd-process.ts';

const WAIT_MS = 15_000;
const skip = qnetdSkipReason();

/** A client whose every step re-checks the waiters: the state changes of the core are what we wait on. */
class Node {
  readonly client: QdeviceNetClient;
  readonly lines: string[] = [];
  private waiters = new Set<() => void>();

  constructor(options: QdeviceNetOptions) {
    this.client = new QdeviceNetClient(
      options,
      (level, subsystem, message) => {
        this.lines.push(`${level} [${subsystem}] ${message}`);
      },
      () => {
        for (const waiter of [...this.waiters]) waiter();
      },
    );
  }

  until(what: string, predicate: () => boolean): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = (): void => {
        if (!predicate()) return;
        this.waiters.delete(waiter);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`timed out waiting for ${what}; log:\n${this.lines.slice(-30).join('\n')}`));
      }, WAIT_MS);
      this.waiters.add(waiter);
    });
  }
}

function options(
  clusterName: string,
  localNodeId: number,
  port: number,
  tieBreaker: QdeviceNetOptions['tieBreaker'],
  tls: Pick<QdeviceNetOptions, 'tls' | 'tlsFiles'> = { tls: 'off' },
): QdeviceNetOptions {
  return {
    clusterName,
    localNodeId,
    host: '127.0.0.1',
    port,
    algorithm: 'ffsplit',
    tieBreaker,
    timeoutMs: 10_000,
    syncTimeoutMs: 30_000,
    ...tls,
  };
}

function view(members: number[], rep: number, seq: number): QdeviceClusterView {
  return { configVersion: 1, nodeIds: [1, 2], members, ringId: { rep, seq }, quorate: members.length === 2 };
}

const voted = (node: Node, castVote: boolean, seq: number) => (): boolean => {
  const v = node.client.poll();
  return (
    v?.castVote === castVote && v.ringId?.seq === seq && node.client.status().lastVote === (castVote ? 'ack' : 'nack')
  );
};

/**
 * Two clients as nodes 1 and 2: both get ACK in one membership and qnetd lists both; then twice a split (each
 * node alone in its ring) gives exactly `winner` the vote, and the merge gives it back to both.
 */
async function splitRounds(
  qnetd: Qnetd,
  cluster: string,
  tieBreaker: QdeviceNetOptions['tieBreaker'],
  winner: 1 | 2,
  tls?: Pick<QdeviceNetOptions, 'tls' | 'tlsFiles'>,
  algorithm: QdeviceNetOptions['algorithm'] = 'ffsplit',
  timeoutMs = 10_000,
): Promise<void> {
  const nodes = [1, 2].map(
    (id) => new Node({ ...options(cluster, id, qnetd.port, tieBreaker, tls), algorithm, timeoutMs }),
  );
  const [n1, n2] = nodes as [Node, Node];
  try {
    for (const node of nodes) {
      node.client.update(view([1, 2], 1, 4));
      node.client.start();
    }
    await Promise.all(nodes.map((node) => node.until('ACK in one membership', voted(node, true, 4))));
    for (const node of nodes) {
      assert.equal(node.client.status().state, 'connected');
      assert.equal(node.client.status().tls, tls !== undefined && tls.tls !== 'off');
    }

    const listing = await qnetd.tool('-l');
    assert.match(listing, new RegExp(`Cluster "${cluster}":`));
    assert.match(listing, /Node ID 1:/);
    assert.match(listing, /Node ID 2:/);

    let seq = 4;
    for (const round of [1, 2]) {
      seq += 4;
      n1.client.update(view([1], 1, seq));
      n2.client.update(view([2], 2, seq));
      const [champion, loser] = winner === 1 ? [n1, n2] : [n2, n1];
      await champion.until(`round ${round}: ACK for the tie-breaker's side`, voted(champion, true, seq));
      await loser.until(`round ${round}: NACK for the other side`, voted(loser, false, seq));
      assert.deepEqual(
        nodes.map((node) => node.client.poll()?.castVote),
        [winner === 1, winner === 2],
        `round ${round}: exactly node ${winner} has the vote`,
      );
      seq += 4;
      for (const node of nodes) node.client.update(view([1, 2], 1, seq));
      await Promise.all(nodes.map((node) => node.until(`round ${round}: ACK after the merge`, voted(node, true, seq))));
    }
    for (const node of nodes) assert.equal(node.client.counters().badMessages, 0);
  } finally {
    await Promise.all(nodes.map((node) => node.client.stop()));
  }
}

describe('qdevice-net client with the real corosync-qnetd (TLS off)', { skip: skip ?? false }, () => {
  let qnetd: Qnetd;

  before(async () => {
    qnetd = await startQnetd(['-s', 'off']);
  });

  after(async () => {
    await qnetd?.stop();
  });

  test('ffsplit, tie_breaker lowest: both voted together, node 1 alone in a split', () =>
    splitRounds(qnetd, 'live-lowest', 'lowest', 1));

  test('ffsplit, tie_breaker highest: node 2 alone in a split', () => splitRounds(qnetd, 'live-highest', 'highest', 2));

  test('lms, tie_breaker lowest: node 1 alone in a split', () =>
    // lms answers ask-later first and decides on a timer of the client's heartbeat interval: 3 s timeout, 2.4 s.
    splitRounds(qnetd, 'live-lms', 'lowest', 1, undefined, 'lms', 3000));

  test('2nodelms, tie_breaker 2: node 2 alone in a split', () =>
    splitRounds(qnetd, 'live-2nodelms', 2, 2, undefined, '2nodelms'));

  test('heartbeats: qnetd answers the echo requests, the client stays connected across them', async () => {
    // A 2500 ms device timeout: heartbeat 2000 ms; qnetd drops a client silent for 3000 ms.
    const node = new Node({ ...options('live-heartbeat', 1, qnetd.port, 'lowest'), timeoutMs: 2500 });
    try {
      node.client.update(view([1, 2], 1, 4));
      node.client.start();
      await node.until('a first echo reply', () => node.client.status().lastHeartbeatAt !== null);
      const first = node.client.status().lastHeartbeatAt ?? 0;
      await node.until('a later echo reply', () => (node.client.status().lastHeartbeatAt ?? 0) > first);
      assert.equal(node.client.status().state, 'connected');
      assert.equal(node.client.counters().connects, 1);
      assert.equal(node.client.counters().disconnects, 0);
    } finally {
      await node.client.stop();
    }
  });

  test('qnetd stopped: both lose the vote (ffsplit NACKs when disconnected); qnetd back: both vote again', async () => {
    // A 3 s device timeout: heartbeat 2400 ms, reconnect delay below 1350 ms, connect timeout 2400 ms.
    const nodes = [1, 2].map(
      (id) => new Node({ ...options('live-restart', id, qnetd.port, 'lowest'), timeoutMs: 3000 }),
    );
    try {
      for (const node of nodes) {
        node.client.update(view([1, 2], 1, 4));
        node.client.start();
      }
      await Promise.all(nodes.map((node) => node.until('ACK', voted(node, true, 4))));
      await qnetd.stop();
      await Promise.all(
        nodes.map((node) =>
          node.until(
            'the vote withdrawn',
            () => node.client.poll()?.castVote !== true && node.client.status().state !== 'connected',
          ),
        ),
      );
      qnetd = await startQnetd(['-s', 'off'], { port: qnetd.port });
      await Promise.all(nodes.map((node) => node.until('ACK after the restart', voted(node, true, 4))));
      for (const node of nodes) assert.ok(node.client.counters().connects >= 2);
    } finally {
      await Promise.all(nodes.map((node) => node.client.stop()));
    }
  });
});

describe('qdevice-net client with the real corosync-qnetd (TLS required, client certificate required)', {
  skip: skip ?? qnetdCertsSkipReason() ?? false,
}, () => {
  let qnetd: Qnetd;
  let dir: string;
  let certs: QnetdTestCerts;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'corolink-qnetd-tls-'));
    certs = await makeQnetdTestCerts(dir, ['tls-live', 'another-cluster']);
    qnetd = await startQnetd(['-s', 'req', '-c', 'on', `nss_db_dir=${certs.nssDb}`]);
  });

  after(async () => {
    await qnetd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('STARTTLS with a client certificate signed by the qnetd CA: ffsplit as without TLS', () =>
    splitRounds(qnetd, 'tls-live', 'lowest', 1, { tls: 'on', tlsFiles: certs.files['tls-live'] }));

  test('a certificate for another cluster name is refused: qnetd closes, the client never votes', async () => {
    const node = new Node(
      options('tls-live', 1, qnetd.port, 'lowest', { tls: 'required', tlsFiles: certs.files['another-cluster'] }),
    );
    try {
      node.client.update(view([1, 2], 1, 4));
      node.client.start();
      await node.until('the server to drop the connection', () => node.client.counters().disconnects >= 1);
      assert.notEqual(node.client.status().state, 'connected');
      assert.notEqual(node.client.poll()?.castVote, true);
      assert.match(qnetd.output(), /Client doesn't sent certificate with valid CN/);
    } finally {
      await node.client.stop();
    }
  });
});
