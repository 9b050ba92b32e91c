// The dashboard in a real browser (Debian's Chromium driven by playwright-core): a 3-node loopback cluster, link0
// of node 3 pulled and plugged back through the CLI, the cell following within the ping timeout plus 2 s while
// the quorum panel stays quorate. Skips with one line when Chromium is not installed (CI installs it).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { haStatusJson } from '../../src/daemon/handlers/ha.ts';
import { cutLoopbackOneWay } from '../../src/lab/impair.ts';
import { LocalCluster } from '../../src/lab/local-cluster.ts';
import { tokenPathFor } from '../../src/web/token.ts';
import { pingTimeoutMsOf } from '../effective-config.ts';
import { haSnapshot } from '../ipc/ha-fixtures.ts';

const run = promisify(execFile);
/** Debian's binary without its shell wrapper, else the wrapper. */
const CHROMIUM = ['/usr/lib/chromium/chromium', '/usr/bin/chromium'].find((path) => existsSync(path));
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** How long a cell may take to follow a link event: the link's ping timeout plus this. */
const CELL_CHANGE_AFTER_TIMEOUT_MS = 2000;
const PAGE_READY_MS = 15_000;
const SCREENSHOTS = 'test-results';
/** The browser's document as the page conditions use it (tests compile without the DOM lib). */
declare const document: { querySelectorAll(selector: string): { length: number } };

/** Page condition, run in the browser: 3 node rows, 2 link columns, all 6 cells UP. */
function allUp(): boolean {
  return (
    document.querySelectorAll('#matrix tbody tr[data-node]').length === 3 &&
    document.querySelectorAll('#matrix thead th').length === 3 &&
    document.querySelectorAll('td.cell[data-state="UP"]').length === 6
  );
}

const cell = (nodeid: number, link: number, state: 'UP' | 'DOWN') =>
  `td.cell[data-cell="${nodeid}:${link}"][data-state="${state}"]`;

async function cli(cluster: LocalCluster, nodeid: number, ...args: string[]): Promise<void> {
  await run(process.execPath, ['bin/corolink.mjs', ...args, '--socket', cluster.node(nodeid).socket]);
}

/** Opens a node's dashboard and waits until it shows 3 nodes × 2 links, all UP, and quorum. */
async function openDashboard(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForFunction(allUp, undefined, { timeout: PAGE_READY_MS });
  await page.waitForSelector('#quorum[data-quorate="true"]', { timeout: PAGE_READY_MS });
  await page.waitForSelector('#feed[data-state="live"]', { timeout: PAGE_READY_MS });
  return page;
}

describe('the live dashboard', {
  skip: CHROMIUM ? false : 'chromium is not installed (apt-get install chromium)',
}, () => {
  let cluster: LocalCluster;
  let context: BrowserContext;
  let profile: string;
  /** A pulled link0 shows within its ping timeout plus 2 s. */
  let cellChangeMs: number;

  before(async () => {
    // The fast ping profile: this test is about a pulled cable showing at once, and a loopback link has no carrier,
    // so the peers notice it from the ping timeout only (250 ms fast; 1825 ms with the default lean profile).
    cluster = await LocalCluster.start({
      firstHost: 151,
      basePort: 35405,
      httpBasePort: 35490,
      corolinkExtra: { ping_profile: 'fast' },
    });
    cellChangeMs = pingTimeoutMsOf(cluster.configPath) + CELL_CHANGE_AFTER_TIMEOUT_MS;
    await cluster.waitFor((s) => s.quorum.quorate && s.members.every((m) => m.links.every((l) => l.state === 'UP')));
    profile = mkdtempSync(join(tmpdir(), 'corolink-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM!,
      headless: true,
      args: CHROMIUM_ARGS,
    });
    mkdirSync(SCREENSHOTS, { recursive: true });
  });
  after(async () => {
    await context?.close();
    await cluster?.stop();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  test('every node serves the dashboard of the whole cluster', async () => {
    for (const nodeid of [2, 3]) {
      const page = await openDashboard(context, cluster.node(nodeid).httpUrl!);
      assert.match((await page.textContent('#local-node')) ?? '', new RegExp(`id ${nodeid}\\b`));
      // These daemons run without HA: /api/ha answers 404 and the HA panel stays hidden.
      await page.waitForSelector('#ha[data-enabled="false"]', { state: 'attached', timeout: PAGE_READY_MS });
      assert.equal(await page.isHidden('#ha'), true);
      await page.close();
    }
  });

  test('the HA panel lists services with node and state, the manager and the local managers', async () => {
    // These daemons run without HA: the HA status document comes from the fixture, through the page's own fetch.
    const page = await context.newPage();
    await page.route('**/api/ha', (route) =>
      route.fulfill({ contentType: 'application/json', body: JSON.stringify(haStatusJson(haSnapshot, 10_000)) }),
    );
    await page.goto(cluster.node(1).httpUrl!);
    await page.waitForSelector('#ha[data-enabled="true"]', { timeout: PAGE_READY_MS });
    assert.equal(await page.isVisible('#ha'), true);
    assert.equal(await page.textContent('#ha-manager'), 'n1 (id 1)');
    const row = async (selector: string) =>
      (await page.$$eval(`${selector} > *`, (cells) => cells.map((c) => c.textContent))) as string[];
    assert.deepEqual(await row('#ha-services tr[data-sid="exec:web"]'), ['exec:web', 'n1', 'started', 'started', '']);
    assert.deepEqual(await row('#ha-services tr[data-sid="systemd:db"]'), [
      'systemd:db',
      '—',
      'error',
      'started',
      'start failed: exit 1',
    ]);
    assert.equal(await page.getAttribute('#ha-services tr[data-sid="systemd:db"]', 'data-severity'), 'bad');
    assert.deepEqual(await row('#ha-nodes tr[data-node="3"]'), ['n3 (id 3)', 'fence', 'lost']);
    assert.deepEqual(await row('#ha-nodes tr[data-node="2"]'), ['n2 (id 2)', 'maintenance', 'idle']);
    assert.deepEqual(
      await page.$$eval('#ha-nodes tbody tr', (rows) => rows.map((r) => r.getAttribute('data-severity'))),
      ['good', 'info', 'bad'],
      'nodes by id: n1 online, n2 in maintenance, n3 fenced',
    );
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-ha.png'), fullPage: true });
    await page.close();
  });

  test('the admin buttons need the token: refused without it, applied with it', async () => {
    const page = await openDashboard(context, cluster.node(2).httpUrl!);
    await page.click('#admin-buttons button[data-link="1"][data-action="disable"]');
    await page.waitForSelector('#admin-result:has-text("HTTP 401")', { timeout: PAGE_READY_MS });
    assert.ok(await page.$(cell(2, 1, 'UP')), 'a refused request changes nothing');
    await page.fill('#admin-token', readFileSync(tokenPathFor(cluster.node(2).socket), 'utf8').trim());
    await page.click('#admin-buttons button[data-link="1"][data-action="disable"]');
    await page.waitForSelector(cell(2, 1, 'DOWN'), { timeout: PAGE_READY_MS });
    await page.click('#admin-buttons button[data-link="1"][data-action="enable"]');
    await page.waitForSelector(cell(2, 1, 'UP'), { timeout: PAGE_READY_MS });
    await page.close();
  });

  test('pulling link0 of node 3 turns its cell DOWN while the cluster stays quorate, and back UP', async () => {
    const page = await openDashboard(context, cluster.node(1).httpUrl!);
    assert.equal(await page.textContent('#config-version'), '1');
    await page.waitForSelector(`${cell(3, 0, 'UP')} svg polyline`, { timeout: PAGE_READY_MS });

    await cli(cluster, 3, 'link', 'disable', '0');
    const pulled = Date.now();
    await page.waitForSelector(cell(3, 0, 'DOWN'), { timeout: cellChangeMs });
    assert.ok(Date.now() - pulled <= cellChangeMs);
    assert.ok(await page.$(cell(3, 1, 'UP')), 'link1 of node 3 stays UP');
    assert.ok(await page.$('#quorum[data-quorate="true"]'), 'the quorum panel stays quorate');
    assert.match((await page.textContent('td.cell[data-cell="3:0"]')) ?? '', /DOWN/);
    await page.waitForSelector('#timeline li[data-type="link"][data-severity="bad"]', { timeout: cellChangeMs });
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-link0-down.png'), fullPage: true });

    await cli(cluster, 3, 'link', 'enable', '0');
    const plugged = Date.now();
    await page.waitForSelector(cell(3, 0, 'UP'), { timeout: cellChangeMs });
    assert.ok(Date.now() - plugged <= cellChangeMs);
    assert.ok(await page.$('#quorum[data-quorate="true"]'), 'the quorum panel stays quorate');
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-recovered.png'), fullPage: true });
    await page.close();
  });

  test('the range selector switches the sparklines between 5 min, 1 h and 24 h of history', async () => {
    const page = await openDashboard(context, cluster.node(1).httpUrl!);
    const sparklines = (range: string) => `#matrix svg[data-range="${range}"]`;
    assert.equal(await page.$$eval(sparklines('5m'), (svgs) => svgs.length), 4, 'one per peer × link');
    for (const [range, text] of [
      ['1h', '1 h'],
      ['24h', '24 h'],
      ['5m', '5 min'],
    ] as const) {
      const answer = page.waitForResponse((r) => r.url().endsWith(`/api/history?range=${range}`) && r.ok());
      await page.click(`#range button[data-range="${range}"]`);
      await answer;
      await page.waitForSelector(`#range button[data-range="${range}"][aria-pressed="true"]`, {
        timeout: PAGE_READY_MS,
      });
      await page.waitForFunction((selector) => document.querySelectorAll(selector).length === 4, sparklines(range), {
        timeout: PAGE_READY_MS,
      });
      const label = await page.getAttribute(`td.cell[data-cell="2:0"] svg`, 'aria-label');
      assert.match(label ?? '', new RegExp(`^latency over the last ${text} \\(\\d+ samples\\)`));
      assert.equal(await page.$$eval('#range button[aria-pressed="true"]', (buttons) => buttons.length), 1);
    }
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-range.png'), fullPage: true });
    await page.close();
  });

  test('the cluster-wide matrix shows a one-direction cut between two other nodes, and the active link', {
    skip: process.getuid?.() === 0 ? false : 'cutting one direction on lo needs root (tc)',
  }, async () => {
    const page = await openDashboard(context, cluster.node(1).httpUrl!);
    // Passive link mode: exactly one link per peer carries the traffic, marked in this node's own matrix.
    await page.waitForFunction(
      () => document.querySelectorAll('#matrix td.cell[data-active="true"]').length === 2,
      undefined,
      { timeout: PAGE_READY_MS },
    );
    await page.waitForFunction(
      () => document.querySelectorAll('#cluster-matrix .path[data-state="UP"]').length === 12,
      undefined,
      { timeout: PAGE_READY_MS },
    );
    const undo = await cutLoopbackOneWay(cluster.node(2).addresses[0]!, cluster.node(3).addresses[0]!);
    try {
      const downSeen = '#cluster-matrix td[data-path="2>3"] .path[data-link="0"][data-state="DOWN"]';
      const downSeenBack = '#cluster-matrix td[data-path="3>2"] .path[data-link="0"][data-state="DOWN"]';
      await page.waitForSelector(`${downSeen}, ${downSeenBack}`, { timeout: PAGE_READY_MS });
      await page.waitForSelector('#down-paths li[data-severity="bad"]', { timeout: PAGE_READY_MS });
      // Node 1's own view is all up: only the cluster-wide matrix shows the cut between n2 and n3.
      assert.equal(await page.$$eval('#matrix td.cell[data-state="DOWN"]', (cells) => cells.length), 0);
      assert.ok(await page.$('#quorum[data-quorate="true"]'), 'the cluster stays quorate');
      await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-one-way-cut.png'), fullPage: true });
    } finally {
      await undo();
    }
    await page.waitForSelector('#down-paths li[data-severity="good"]', { timeout: PAGE_READY_MS });
    await page.close();
  });
});
