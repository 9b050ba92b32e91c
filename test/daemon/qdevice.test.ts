// The daemon's quorum device glue with a test vote source at the seam (./src/daemon/qdevice-contract.ts): the device
// is registered, polled with the source's vote, told the cluster view, shown in status, and unregistered on stop.
// One real daemon on loopback; node 2 of its nodelist never runs, so only the device's vote can make it quorate.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CorolinkClient } from '../../src/client/index.ts';
import { clusterConfigText } from '../../src/config/index.ts';
import { type RunningDaemon, startDaemon } from '../../src/daemon/daemon.ts';
import type {
  QdeviceClusterView,
  QdeviceNetOptions,
  QdeviceNetStatus,
  QdeviceVoteSource,
} from '../../src/daemon/qdevice-contract.ts';
import type { RingId } from '../../src/quorum/index.ts';
import { ClusterHistory } from '../../src/web/history.ts';
import { DaemonMetrics } from '../../src/web/metrics.ts';
import { parseMetricSamples, sampleValue } from '../metrics-samples.ts';

const WAIT_MS = 15_000;

/** A vote source whose vote the test sets: it votes for the ring of the last view it was given. */
class TestVoteSource implements QdeviceVoteSource {
  castVote = true;
  /** When false, the source votes for no ring (as if its arbiter had not answered since the last change). */
  answering = true;
  readonly views: QdeviceClusterView[] = [];
  started = 0;
  stopped = 0;

  constructor(readonly options: QdeviceNetOptions) {}

  start(): void {
    this.started += 1;
  }

  async stop(): Promise<void> {
    this.stopped += 1;
  }

  update(view: QdeviceClusterView): void {
    this.views.push(view);
  }

  poll(): { castVote: boolean; ringId: RingId | null } {
    const ringId = this.answering ? (this.views.at(-1)?.ringId ?? null) : { rep: 0, seq: 0 };
    return { castVote: this.castVote, ringId };
  }

  status(): QdeviceNetStatus {
    return {
      state: 'connected',
      server: `${this.options.host}:${this.options.port}`,
      algorithm: this.options.algorithm,
      tieBreaker: this.options.tieBreaker,
      tls: false,
      lastVote: this.castVote ? 'ack' : 'nack',
      castVote: this.castVote,
      lastHeartbeatAt: null,
      connectedSince: 0,
    };
  }
}

async function waitUntil<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  let last: unknown;
  for (;;) {
    last = await probe();
    if (last !== undefined) return last as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('daemon: quorum device through the vote source seam', () => {
  const dir = mkdtempSync(join(tmpdir(), 'corolink-qdevice-'));
  const sources: TestVoteSource[] = [];
  let daemon: RunningDaemon;
  let client: CorolinkClient;

  before(async () => {
    const config = clusterConfigText({
      clusterName: 'qd',
      linkMode: 'passive',
      links: [{ link: 0, port: 46_505 }],
      nodes: [
        { nodeid: 1, name: 'n1', addresses: { 0: '127.0.91.1' } },
        { nodeid: 2, name: 'n2', addresses: { 0: '127.0.91.2' } },
      ],
      // In this process: the test runner itself must not turn real-time.
      system: { sched_rr: 'no' },
    }).replace(
      '  provider: corosync_votequorum\n',
      '  provider: corosync_votequorum\n  device {\n    model: net\n    timeout: 1000\n    net {\n      host: 198.18.10.100\n      algorithm: ffsplit\n    }\n  }\n',
    );
    writeFileSync(join(dir, 'corosync.conf'), config);
    writeFileSync(join(dir, 'authkey'), randomBytes(256), { mode: 0o600 });
    daemon = await startDaemon({
      configPath: join(dir, 'corosync.conf'),
      authkeyPath: join(dir, 'authkey'),
      socketPath: join(dir, 'run', 'corolink.sock'),
      stateDir: join(dir, 'state'),
      nodeId: 1,
      forceStderr: false,
      qdeviceFactory: (options) => {
        const source = new TestVoteSource(options);
        sources.push(source);
        return source;
      },
    });
    client = await CorolinkClient.connect({ socket: join(dir, 'run', 'corolink.sock'), reconnect: false });
  });

  after(async () => {
    client?.close();
    await daemon?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the source is built from quorum.device and started once', () => {
    assert.equal(sources.length, 1);
    const source = sources[0]!;
    assert.equal(source.started, 1);
    assert.deepEqual(
      { ...source.options },
      {
        clusterName: 'qd',
        localNodeId: 1,
        host: '198.18.10.100',
        port: 5403,
        algorithm: 'ffsplit',
        tieBreaker: 'lowest',
        tls: 'on',
        timeoutMs: 1000,
        syncTimeoutMs: 30_000,
      },
    );
  });

  test('with the device vote the lone node is quorate: 2 of 3 votes, Qdevice flag, A,V,NMW', async () => {
    const status = await waitUntil('quorate with the device vote', async () => {
      const status = await client.status();
      return status.quorum.quorate ? status : undefined;
    });
    assert.deepEqual([status.quorum.expected_votes, status.quorum.total_votes, status.quorum.quorum], [3, 2, 2]);
    assert.deepEqual(status.quorum.flags, ['Quorate', 'Qdevice']);
    assert.equal(status.members[0]?.qdevice, 'A,V,NMW');
    assert.deepEqual(status.quorum.qdevice, { name: 'Qdevice', votes: 1, cast_vote: true });
    const view = sources[0]!.views.at(-1);
    assert.deepEqual([view?.nodeIds, view?.members, view?.quorate], [[1, 2], [1], true]);
  });

  test('qdeviceStatus answers what corosync-qdevice-tool -s shows', async () => {
    const status = await client.qdeviceStatus();
    assert.equal(status.configured, true);
    assert.equal(status.device?.registered, true);
    assert.equal(status.device?.votes, 1);
    assert.equal(status.device?.net.state, 'connected');
    assert.equal(status.device?.net.connect_timeout_ms, 800);
    assert.equal(status.device?.last_poll_cast_vote, true);
  });

  test('the source withdraws its vote: the next poll costs the quorum', async () => {
    sources[0]!.castVote = false;
    const status = await waitUntil('inquorate without the vote', async () => {
      const status = await client.status();
      return status.quorum.quorate ? undefined : status;
    });
    assert.equal(status.members[0]?.qdevice, 'A,NV,NMW');
    assert.equal(status.quorum.total_votes, 1);
    sources[0]!.castVote = true;
    await waitUntil('quorate again', async () => ((await client.status()).quorum.quorate ? true : undefined));
  });

  test('polls for another ring are ignored: the vote expires after device.timeout', async () => {
    sources[0]!.answering = false;
    const status = await waitUntil('the device vote expired', async () => {
      const status = await client.status();
      return status.quorum.quorate ? undefined : status;
    });
    assert.equal(status.members[0]?.qdevice, 'NA,NV,NMW');
    assert.ok(
      daemon.logger.recent(1000).some((record) => record.message === 'lost contact with quorum device Qdevice'),
    );
    sources[0]!.answering = true;
    await waitUntil('quorate again', async () => ((await client.status()).quorum.quorate ? true : undefined));
  });

  test('metrics: device votes, connected, cast vote', async () => {
    const history = new ClusterHistory(daemon.engine);
    try {
      const samples = parseMetricSamples(
        await new DaemonMetrics(daemon.engine, history, daemon.serviceCounters).render(),
      );
      assert.equal(sampleValue(samples, 'corolink_quorum_device_votes'), 1);
      assert.equal(sampleValue(samples, 'corolink_qdevice_connected'), 1);
      assert.equal(sampleValue(samples, 'corolink_qdevice_cast_vote'), 1);
      assert.equal(
        sampleValue(samples, 'corolink_qdevice_last_heartbeat_seconds'),
        undefined,
        'no heartbeat reply yet',
      );
    } finally {
      history.close();
    }
  });

  test('stop unregisters the device and stops the source', async () => {
    await daemon.qdevice.stop();
    assert.equal(sources[0]!.stopped, 1);
    const status = await waitUntil('device unregistered', async () => {
      const status = await client.status();
      return status.quorum.flags.includes('Qdevice') ? undefined : status;
    });
    assert.equal(status.members[0]?.qdevice, undefined);
    assert.equal(status.quorum.quorate, false);
  });
});
