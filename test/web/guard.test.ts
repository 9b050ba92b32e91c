// What guards the HTTP server from a browser and the network (issue 15, defects 2 and 4), on a 1-node loopback
// cluster: a foreign Host header (DNS rebinding) gets 421, a state change from a foreign Origin gets 403 even with
// the token, the dashboard carries its security headers, a body trickled after a 401 is cut off, and every refusal
// is counted in /metrics.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LocalCluster } from '../../src/lab/local-cluster.ts';
import { ownHostNames } from '../../src/web/guard.ts';
import { tokenPathFor } from '../../src/web/token.ts';
import { fetchMetricSamples, sampleValue } from '../metrics-samples.ts';

/** Bytes of the body the trickling client announces; at one byte per TRICKLE_MS it would take 60 s to send. */
const TRICKLE_BYTES = 120;
const TRICKLE_MS = 500;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request with any headers (fetch cannot set Host). */
function send(url: URL, method: string, path: string, headers: Record<string, string>, body = ''): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the HTTP guard', () => {
  let cluster: LocalCluster;
  let url: URL;
  let token: string;

  async function refusals(reason: string): Promise<number> {
    return sampleValue(await fetchMetricSamples(url), 'corolink_http_refused_total', { reason }) ?? 0;
  }

  before(async () => {
    cluster = await LocalCluster.start({ nodes: 1, links: 1, firstHost: 251, basePort: 37905, httpBasePort: 37980 });
    await cluster.waitForQuorateMembership(1);
    url = new URL(cluster.node(1).httpUrl!);
    token = readFileSync(tokenPathFor(cluster.node(1).socket), 'utf8').trim();
  });
  after(() => cluster?.stop());

  test('a foreign Host gets 421; the node’s own names, addresses and localhost are served', async () => {
    const foreign = await send(url, 'GET', '/api/status', { host: 'rebind.example:37980' });
    assert.equal(foreign.status, 421);
    assert.equal((JSON.parse(foreign.body) as { error: { code: string } }).error.code, 'foreign_host');
    for (const host of [`localhost:${url.port}`, `127.0.0.1:${url.port}`, `n1:${url.port}`, '127.0.10.251']) {
      assert.equal((await send(url, 'GET', '/api/status', { host })).status, 200, host);
    }
    assert.equal(await refusals('foreign_host'), 1);
  });

  test('the host’s own name is served too (an admin types it), and its FQDN from /etc/hosts', async () => {
    assert.equal((await send(url, 'GET', '/api/status', { host: `${hostname()}:${url.port}` })).status, 200);
    const dir = mkdtempSync(join(tmpdir(), 'corolink-hosts-'));
    try {
      const file = join(dir, 'hosts');
      const own = hostname().toLowerCase();
      writeFileSync(file, `127.0.0.1 localhost\n127.0.1.1 ${own}.example.test ${own} # this host\n127.0.0.9 other\n`);
      assert.deepEqual(ownHostNames(file).sort(), [own, `${own}.example.test`].sort());
      assert.deepEqual(ownHostNames(join(dir, 'missing')), [own]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a state change from a foreign Origin gets 403 even with the token, and changes nothing', async () => {
    const headers = { authorization: `Bearer ${token}` };
    const linkEnabled = async () =>
      ((await (await fetch(new URL('/api/links', url))).json()) as { links: { enabled: boolean }[] }).links.every(
        (l) => l.enabled,
      );
    const foreign = await send(url, 'POST', '/api/links/0/disable', { ...headers, origin: 'http://rebind.example' });
    assert.equal(foreign.status, 403);
    assert.equal((JSON.parse(foreign.body) as { error: { code: string } }).error.code, 'foreign_origin');
    assert.equal(await linkEnabled(), true, 'unchanged');
    const own = { ...headers, origin: `http://127.0.0.1:${url.port}` };
    assert.equal((await send(url, 'POST', '/api/links/0/disable', own)).status, 200);
    assert.equal(await linkEnabled(), false);
    assert.equal((await send(url, 'POST', '/api/links/0/enable', own)).status, 200);
    assert.equal(await refusals('foreign_origin'), 1);
  });

  test('the dashboard is sent with CSP, no framing, nosniff and no referrer', async () => {
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
  });

  test('a body trickled after a 401 is cut off by the request timeout, and the 401 is counted', async () => {
    const before401 = await refusals('unauthorized');
    const socket = connect(Number(url.port), url.hostname);
    await once(socket, 'connect');
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    const closed = once(socket, 'close');
    socket.write(
      `POST /api/expected HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${TRICKLE_BYTES}\r\n\r\n`,
    );
    let sent = 0;
    const trickle = setInterval(() => {
      if (socket.writable && sent < TRICKLE_BYTES) {
        socket.write(' ');
        sent++;
      }
    }, TRICKLE_MS);
    try {
      await closed;
    } finally {
      clearInterval(trickle);
    }
    assert.ok(sent < TRICKLE_BYTES, `cut off after ${sent} of ${TRICKLE_BYTES} bytes`);
    assert.match(Buffer.concat(received).toString('utf8'), /^HTTP\/1\.1 401 /);
    assert.equal(await refusals('unauthorized'), before401 + 1);
    assert.ok((await refusals('timeout')) >= 1);
  });
});
