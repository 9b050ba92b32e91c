// The daemon's HTTP server on a 3-node loopback cluster: /metrics parsed with a real Prometheus text parser, the
// JSON API, the live stream, and the admin token guarding every state change.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import parsePrometheusTextFormat, { type PrometheusFamily } from 'parse-prometheus-text-format';
import { VERSION } from '../../src/base/version.ts';
import type { ClusterLinksV1, LinksV1, QuorumV1, StatusV1 } from '../../src/ipc/schema.ts';
import { LocalCluster } from '../../src/lab/local-cluster.ts';
import { tokenPathFor } from '../../src/web/token.ts';
import { pingTimeoutMsOf } from '../effective-config.ts';
import { SseReader } from './sse-reader.ts';

/** A generous bound for one step on a loaded machine; a link event may take the link's ping timeout more. */
const STEP_TIMEOUT_MS = 5000;

async function metrics(url: string): Promise<PrometheusFamily[]> {
  const response = await fetch(`${url}metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parsePrometheusTextFormat(await response.text());
}

/** The label names docs/metrics.md allows ("Labels"), the HA and per-thread ones included. */
const METRIC_LABELS = new Set([
  'cluster',
  'nodeid',
  'name',
  'version',
  'link',
  'direction',
  'reason',
  'thread',
  'sid',
  'state',
]);

function family(families: PrometheusFamily[], name: string): PrometheusFamily {
  const found = families.find((f) => f.name === name);
  assert.ok(found, `metric ${name} is exported`);
  return found;
}

/** The value of the sample of `name` whose labels include `labels`. */
function value(families: PrometheusFamily[], name: string, labels: Record<string, string> = {}): number {
  const sample = family(families, name).metrics.find((m) =>
    Object.entries(labels).every(([k, v]) => m.labels?.[k] === v),
  );
  assert.ok(sample, `${name}${JSON.stringify(labels)} has a sample`);
  return Number(sample.value);
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  assert.equal(response.status, 200, url);
  return (await response.json()) as T;
}

/** Waits (bounded) until node 1's store holds the cluster config. */
async function waitForStoredConfig(cluster: LocalCluster): Promise<void> {
  const client = await cluster.client(1);
  try {
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    while (!(await client.cfsLs()).some((e) => e.path === 'corosync.conf')) {
      assert.ok(Date.now() < deadline, 'the cluster config is stored within the timeout');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    client.close();
  }
}

describe('the HTTP server of a 3-node loopback cluster', () => {
  let cluster: LocalCluster;
  let n1: string;
  let n3: string;

  before(async () => {
    cluster = await LocalCluster.start({ firstHost: 161, basePort: 35415, httpBasePort: 35480 });
    await cluster.waitFor((s) => s.quorum.quorate && s.members.every((m) => m.links.every((l) => l.state === 'UP')));
    // The quorate cluster's first write: its running corosync.conf, stored by node 1 (docs/reconfiguration.md).
    await waitForStoredConfig(cluster);
    n1 = cluster.node(1).httpUrl!;
    n3 = cluster.node(3).httpUrl!;
  });
  after(() => cluster?.stop());

  test('every series follows the one label scheme (docs/metrics.md "Labels")', async () => {
    const families = await metrics(n1);
    assert.ok(families.length >= 30, 'the whole set is exported');
    for (const f of families) {
      assert.match(f.name, /^corolink_[a-z0-9_]+$/, 'one prefix, snake case');
      if (f.type === 'COUNTER') assert.match(f.name, /_total$/, `${f.name}: a counter ends in _total`);
      if (f.type === 'HISTOGRAM') assert.match(f.name, /_(seconds|bytes)$/, `${f.name}: a histogram names its unit`);
      if (f.type === 'COUNTER') assert.ok(f.metrics.length > 0, `${f.name} has a series (zero until it counts)`);
      for (const sample of f.metrics) {
        const labels = Object.keys(sample.labels ?? {});
        for (const label of labels) assert.ok(METRIC_LABELS.has(label), `${f.name}: label ${label} is in the scheme`);
        if (labels.includes('nodeid')) assert.ok(labels.includes('name'), `${f.name}: a node is nodeid + name`);
        if (labels.includes('link')) assert.ok(labels.includes('nodeid'), `${f.name}: a link is seen towards a node`);
        if (labels.includes('name')) assert.notEqual(sample.labels?.name, '', `${f.name}: every node has its name`);
      }
    }
  });

  test('/metrics has every documented family with the cluster’s values', async () => {
    const families = await metrics(n1);
    assert.equal(value(families, 'corolink_info', { cluster: 'demo', nodeid: '1', name: 'n1', version: VERSION }), 1);
    for (const nodeid of ['2', '3']) {
      const name = `n${nodeid}`;
      for (const link of ['0', '1']) {
        assert.equal(value(families, 'corolink_link_up', { nodeid, name, link }), 1);
        assert.equal(value(families, 'corolink_link_down_total', { nodeid, name, link }), 0);
        assert.ok(value(families, 'corolink_link_rx_packets_total', { nodeid, name, link }) > 0);
        assert.ok(value(families, 'corolink_link_tx_bytes_total', { nodeid, name, link }) > 0);
        assert.ok(value(families, 'corolink_link_latency_seconds', { nodeid, name, link }) > 0);
      }
      // Passive mode: exactly one link carries the traffic to each peer.
      const active = ['0', '1'].map((link) => value(families, 'corolink_link_active', { nodeid, name, link }));
      assert.deepEqual(active.sort(), [0, 1], `one active link to ${name}`);
    }
    // Every documented refusal reason has a series from the start.
    assert.equal(value(families, 'corolink_join_refused_total', { reason: 'rate_limited' }), 0);
    assert.equal(value(families, 'corolink_http_refused_total', { reason: 'foreign_origin' }), 0);
    assert.equal(value(families, 'corolink_admin_refused_total', { reason: 'slow_client' }), 0);
    for (const reason of ['disk_full', 'no_descriptor', 'io', 'other'])
      assert.equal(value(families, 'corolink_cfs_store_failures_total', { reason }), 0, reason);
    assert.equal(family(families, 'corolink_link_latency_sampled_seconds').type, 'HISTOGRAM');
    assert.equal(family(families, 'corolink_link_rx_bytes_total').type, 'COUNTER');
    assert.equal(family(families, 'corolink_dropped_total').type, 'COUNTER');
    assert.equal(value(families, 'corolink_membership_size'), 3);
    assert.equal(value(families, 'corolink_node_member', { nodeid: '3', name: 'n3' }), 1);
    assert.ok(value(families, 'corolink_ring_seq') > 0);
    assert.equal(value(families, 'corolink_quorate'), 1);
    assert.equal(value(families, 'corolink_quorum_total_votes'), 3);
    assert.equal(value(families, 'corolink_quorum_expected_votes'), 3);
    assert.equal(value(families, 'corolink_quorum_needed_votes'), 2);
    const rotation = family(families, 'corolink_totem_token_rotation_seconds');
    assert.equal(rotation.type, 'HISTOGRAM');
    assert.ok(Number(rotation.metrics[0]?.count) > 0, 'the token has rotated');
    assert.ok(value(families, 'corolink_totem_messages_delivered_total') > 0);
    assert.ok(value(families, 'corolink_totem_retransmits_total') >= 0);
    assert.equal(value(families, 'corolink_config_version'), 1);
    assert.ok(value(families, 'corolink_process_cpu_seconds_total') > 0);
    assert.ok(value(families, 'corolink_process_resident_memory_bytes') > 10 * 1024 * 1024);
    const loopLag = family(families, 'corolink_event_loop_lag_seconds');
    assert.equal(loopLag.type, 'HISTOGRAM');
    // The parser drops a labelled histogram's labels and count: read the thread label from the text itself.
    const text = await (await fetch(`${n1}metrics`)).text();
    const count = /^corolink_event_loop_lag_seconds_count\{thread="main"\} (\d+)$/m.exec(text);
    assert.ok(count && Number(count[1]) > 0, 'the main thread has lag samples');
    // Each write this node commits counts once. (The stored cluster config is not always one of them: when node 1
    // joined the store's view after another node seeded it, it came by state transfer, which is not a write.)
    const writesBefore = value(families, 'corolink_cfs_writes_total');
    const client = await cluster.client(1);
    try {
      assert.equal((await client.cfsPut('metrics-test/one', 'x')).path, 'metrics-test/one');
    } finally {
      client.close();
    }
    assert.equal(value(await metrics(n1), 'corolink_cfs_writes_total'), writesBefore + 1, 'one more write committed');
    assert.equal(value(families, 'corolink_totem_config_mismatches_total'), 0);
    assert.equal(value(families, 'corolink_joins_total'), 0);
    assert.equal(family(families, 'corolink_join_refused_total').type, 'COUNTER');
    assert.equal(value(families, 'corolink_info', { cluster: 'demo', nodeid: '1' }), 1);
  });

  test('/api/ serves the documents the CLI shows, the history and the event timeline', async () => {
    const status = await getJson<StatusV1>(`${n1}api/status`);
    assert.equal(status.version, 1);
    assert.equal(status.local_nodeid, 1);
    assert.equal(status.members.length, 3);
    const links = await getJson<LinksV1>(`${n1}api/links`);
    assert.equal(links.peers.length, 4);
    const quorum = await getJson<QuorumV1>(`${n1}api/quorum`);
    assert.equal(quorum.quorate, true);
    const events = await getJson<{ events: { type: string; data: { members?: number[] } }[] }>(`${n1}api/events`);
    assert.ok(events.events.some((e) => e.type === 'membership' && e.data.members?.length === 3));
    assert.ok(events.events.some((e) => e.type === 'quorum'));
    type History = { range: string; range_ms: number; interval_ms: number; rows: { samples: unknown[] }[] };
    const history = await getJson<History>(`${n1}api/history`);
    assert.equal(history.range, '5m');
    assert.equal(history.interval_ms, 1000);
    assert.ok(history.rows.length >= 1);
    assert.equal(history.rows.at(-1)!.samples.length, 4);
    for (const [range, range_ms, interval_ms] of [
      ['1h', 3_600_000, 10_000],
      ['24h', 86_400_000, 60_000],
    ] as const) {
      const coarse = await getJson<History>(`${n1}api/history?range=${range}`);
      assert.deepEqual([coarse.range, coarse.range_ms, coarse.interval_ms], [range, range_ms, interval_ms]);
      assert.equal(coarse.rows.at(-1)!.samples.length, 4, `${range}: the open step has every peer × link`);
    }
    const bad = await fetch(`${n1}api/history?range=7d`);
    assert.equal(bad.status, 400);
    assert.deepEqual(await bad.json(), {
      error: { code: 'bad_request', message: 'range must be one of 5m, 1h, 24h, got "7d"' },
    });
  });

  test('the page, its icon (no 404 for /favicon.ico) and the cluster-wide link view', async () => {
    for (const path of ['favicon.ico', 'favicon.svg']) {
      const response = await fetch(`${n1}${path}`);
      assert.equal(response.status, 200, path);
      assert.equal(response.headers.get('content-type'), 'image/svg+xml', path);
      assert.match(await response.text(), /^<svg /);
    }
    const view = await getJson<ClusterLinksV1>(`${n1}api/cluster-links`);
    assert.deepEqual(
      view.views.map((v) => [v.nodeid, v.paths.filter((p) => p.state === 'UP').length]),
      [
        [1, 4],
        [2, 4],
        [3, 4],
      ],
      'every member reports its 2 peers × 2 links, all up',
    );
  });

  test('state changes without the admin token get 401 and change nothing; no CORS headers', async () => {
    const tokenPath = tokenPathFor(cluster.node(3).socket);
    assert.equal(statSync(tokenPath).mode & 0o777, 0o600);
    const attempts: RequestInit[] = [
      { method: 'POST' },
      { method: 'POST', headers: { authorization: 'Bearer 0123456789abcdef0123456789abcdef' } },
      { method: 'POST', headers: { authorization: readFileSync(tokenPath, 'utf8').trim() } },
    ];
    for (const init of attempts) {
      const response = await fetch(`${n3}api/links/0/disable`, init);
      assert.equal(response.status, 401);
      assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'unauthorized');
    }
    const expected = await fetch(`${n3}api/expected`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ votes: 1 }),
    });
    assert.equal(expected.status, 401);
    const preflight = await fetch(`${n3}api/links/0/disable`, {
      method: 'OPTIONS',
      headers: { origin: 'http://example.invalid', 'access-control-request-method': 'POST' },
    });
    assert.equal(preflight.headers.get('access-control-allow-origin'), null);
    const links = await getJson<LinksV1>(`${n3}api/links`);
    assert.ok(links.links.every((l) => l.enabled));
    const quorum = await getJson<QuorumV1>(`${n3}api/quorum`);
    assert.equal(quorum.expected_votes, 3);
    const families = await metrics(n1);
    assert.equal(value(families, 'corolink_link_up', { nodeid: '3', name: 'n3', link: '0' }), 1);
  });

  test('with the token a link goes down and up again, seen live on another node’s stream', async () => {
    const token = readFileSync(tokenPathFor(cluster.node(3).socket), 'utf8').trim();
    const post = (path: string) =>
      fetch(`${n3}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    const linkEventTimeoutMs = pingTimeoutMsOf(cluster.configPath) + STEP_TIMEOUT_MS;
    const stream = await SseReader.open(`${n1}api/stream`);
    try {
      await stream.waitFor((f) => f.event === 'sample', STEP_TIMEOUT_MS);
      const disabled = await post('api/links/0/disable');
      assert.equal(disabled.status, 200);
      assert.deepEqual(await disabled.json(), { link: 0, enabled: false });
      const isLink = (state: string) => (f: { event: string; data: unknown }) => {
        const data = (f.data as { data?: { nodeid?: number; link?: number; state?: string } }).data;
        return f.event === 'link' && data?.nodeid === 3 && data.link === 0 && data.state === state;
      };
      // n3's disabled link0 goes quiet; node 1 notices it at the ping timeout.
      await stream.waitFor(isLink('DOWN'), linkEventTimeoutMs);
      const during = await metrics(n1);
      assert.equal(value(during, 'corolink_link_up', { nodeid: '3', name: 'n3', link: '0' }), 0);
      assert.ok(value(during, 'corolink_link_down_total', { nodeid: '3', name: 'n3', link: '0' }) >= 1);
      assert.equal(value(during, 'corolink_quorate'), 1);
      assert.equal((await post('api/links/0/enable')).status, 200);
      await stream.waitFor(isLink('UP'), linkEventTimeoutMs);
      assert.equal((await post('api/links/9/enable')).status, 400);
    } finally {
      stream.close();
    }
  });
});
