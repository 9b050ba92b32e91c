// Faults beyond packet loss (issue 15), as users meet them: 3 hosts × 2 links in network namespaces, n3's state
// directory on a 32 MiB tmpfs of its own. Each test runs a CPG stream and a cfs writer through the fault and checks
// that every acknowledged message and write is there afterwards.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CorolinkClient } from '../../src/client/client.ts';
import { ipIn } from '../../src/lab/command.ts';
import { labAddress, names } from '../../src/lab/lab-state.ts';
import { CfsWriter } from './cfs-writer.ts';
import {
  assertNoConfigurationChange,
  assertStreamIntact,
  assertStreamRepaired,
  healthy,
  linkState,
  oneHealthyRing,
  STREAM_INTERVAL_MS,
  skipReason,
  useLab,
} from './helpers.ts';

const ALL = [1, 2, 3];
const WRITE_INTERVAL_MS = 100;
/** Deliveries each host must make while the fault holds (≈ 2 s of the stream). */
const DURING_FAULT = 200;
/** Room for the store with its big files and their WAL once the disk is freed again. */
const STATE_DISK_BYTES = 32 * 1024 * 1024;
/** A file near the store's per-file limit: a few of them outgrow whatever the full disk's WAL had room for. */
const BIG_FILE_BYTES = 900 * 1024;
const BIG_WRITES_MAX = 30;
const FAKETIME_LIBRARY = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1';
const HOUR_MS = 3_600_000;
/**
 * Deliveries each host must make after a clock step: ≈ 7 s of the stream, longer than the token timeout (3650 ms),
 * so a protocol timer fed by the wall clock would have fired and changed the membership.
 */
const AFTER_STEP = 1000;

/** Polls `check` every 100 ms until it returns true; fails with `what` after `timeoutMs`. */
async function until(what: string, timeoutMs: number, check: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('netns lab, 3 hosts × 2 links: faults beyond packet loss', { skip: skipReason }, () => {
  const suite = useLab({ nodes: 3, links: 2, stateDiskBytes: { 3: STATE_DISK_BYTES } });
  let writer: CfsWriter;
  before(async () => {
    writer = await CfsWriter.open(suite.lab, ALL);
  });
  after(() => writer?.close());

  const logOf = (n: number) => readFileSync(suite.lab.logFile(n), 'utf8');

  /**
   * Runs the stream (every host sends) and the writer (through n1 and n2) through `fault` … `repair`: during the
   * fault `during` holds on every host and the cluster stays quorate; after the repair every link is up again, the
   * ring is the one from before, and nothing acknowledged is missing anywhere.
   */
  async function drill(
    prefix: string,
    fault: () => Promise<unknown>,
    during: (s: Parameters<typeof linkState>[0]) => boolean,
    repair: () => Promise<unknown>,
  ): Promise<void> {
    const ringId = (await suite.lab.status(1)).ring_id;
    suite.stream.clearMemberships();
    suite.stream.start(ALL, STREAM_INTERVAL_MS);
    writer.start([1, 2], WRITE_INTERVAL_MS, prefix);
    assert.ok(await suite.stream.progress(ALL, 50, 10_000), 'stream flowing before the fault');
    await fault();
    await suite.lab.waitFor((s) => during(s) && s.quorum.quorate, { timeoutMs: 15_000 });
    const ackedBefore = writer.ackedUnder(prefix);
    assert.ok(await suite.stream.progress(ALL, DURING_FAULT, 20_000), 'stream flowing during the fault');
    await until('writes acknowledged during the fault', 10_000, () => writer.ackedUnder(prefix) > ackedBefore + 5);
    await repair();
    await suite.lab.waitFor(healthy(3), { timeoutMs: 20_000 });
    await writer.stop();
    await assertNoConfigurationChange(suite.lab, suite.stream, ringId);
    await assertStreamIntact(suite.stream, { senders: ALL, on: ALL });
    await writer.assertNoneLost(ALL);
  }

  const n3Link0Down = (s: Parameters<typeof linkState>[0]) =>
    s.local_nodeid === 3
      ? linkState(s, 1, 0) === 'DOWN' && linkState(s, 1, 1) === 'UP'
      : linkState(s, 3, 0) === 'DOWN' && linkState(s, 3, 1) === 'UP';

  test('ip link set down of n3 link0, then up: DOWN seen both ways, traffic on link1, no membership change, nothing lost', async () => {
    const dev = names.hostPort(0);
    await drill(
      'link-down',
      () => ipIn(suite.lab.namespace(3), 'link', 'set', dev, 'down'),
      n3Link0Down,
      () => ipIn(suite.lab.namespace(3), 'link', 'set', dev, 'up'),
    );
    const links = await suite.stream.node(3).client!.links();
    const toN1 = links.peers.find((p) => p.nodeid === 1 && p.link === 0)!;
    assert.ok(
      toN1.down_count >= 1 && toN1.state === 'UP',
      `n3 → n1 link0 went down and came back: ${JSON.stringify(toN1)}`,
    );
  });

  test('ip addr del of n3 link0 address, then re-added: the link comes back by itself, the log says why it was down', async () => {
    const before = logOf(3).length;
    await drill(
      'addr-del',
      () => suite.lab.removeAddress(3, 0),
      n3Link0Down,
      () => suite.lab.restoreAddress(3, 0),
    );
    const lines = logOf(3).slice(before).split('\n');
    const why = `\n${lines.filter((l) => /KNET/.test(l)).join('\n')}`;
    assert.ok(
      lines.some((l) => /link: host: [12] link: 0 is down \(send error (EADDRNOTAVAIL|ENETUNREACH)\)/.test(l)),
      `n3 logs link 0 down with the cause${why}`,
    );
    assert.ok(
      lines.some((l) => /rx: host: [12] link: 0 is up/.test(l)),
      `n3 logs link 0 up again${why}`,
    );
  });

  test('unreachable route to n1 on link0 in n3 (EHOSTUNREACH on send): counted, link DOWN, no crash, no membership change', async () => {
    const route = ['route', 'add', 'unreachable', `${labAddress(1, 0)}/32`];
    const errorsBefore = (await suite.stream.node(3).client!.links()).peers.find(
      (p) => p.nodeid === 1 && p.link === 0,
    )!.errors;
    await drill(
      'unreachable',
      () => ipIn(suite.lab.namespace(3), ...route),
      (s) => s.local_nodeid !== 3 || (linkState(s, 1, 0) === 'DOWN' && linkState(s, 1, 1) === 'UP'),
      () => ipIn(suite.lab.namespace(3), 'route', 'del', 'unreachable', `${labAddress(1, 0)}/32`),
    );
    const toN1 = (await suite.stream.node(3).client!.links()).peers.find((p) => p.nodeid === 1 && p.link === 0)!;
    assert.ok(toN1.errors > errorsBefore, `send errors counted on n3 → n1 link0 (${errorsBefore} → ${toN1.errors})`);
    assert.ok(suite.lab.running(3), 'n3 runs');
  });

  test('SIGSTOP of n3 for 5 s, then SIGCONT: it rejoins, one quorate membership of 3, nothing acknowledged lost', async () => {
    const senders = [1, 2];
    suite.stream.clearMemberships();
    suite.stream.start(senders, STREAM_INTERVAL_MS);
    writer.start([1, 2], WRITE_INTERVAL_MS, 'sigstop');
    assert.ok(await suite.stream.progress(ALL, 50, 10_000), 'stream flowing before the fault');
    const pid = suite.lab.pid(3)!;
    process.kill(pid, 'SIGSTOP');
    try {
      // The fault is the 5 s stop itself; meanwhile n1 and n2 must keep their stream going.
      const stopped = Date.now();
      assert.ok(await suite.stream.progress([1, 2], 50, 5_000), 'n1 and n2 deliver while n3 is stopped');
      await new Promise((r) => setTimeout(r, Math.max(0, 5_000 - (Date.now() - stopped))));
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const statuses = await oneHealthyRing(suite.lab, 3, 30_000);
    assert.equal(new Set(statuses.map((s) => s.ring_id)).size, 1, 'one ring everywhere');
    const mark = suite.stream.mark();
    assert.ok(await suite.stream.progress(ALL, 100, 20_000), 'stream reaches every host after SIGCONT');
    await writer.stop();
    await assertStreamRepaired(suite.stream, { senders, whole: [1, 2], on: ALL, after: mark });
    await writer.assertNoneLost(ALL);
    console.log(`# SIGSTOP 5 s: ${suite.stream.regularChanges().length} configuration change(s) reported`);
  });

  test("n3's state disk full: its writes refused with a clear error, never acknowledged, the daemon stays up; space freed: it re-syncs, nothing lost", async () => {
    const ringId = (await suite.lab.status(1)).ring_id;
    suite.stream.clearMemberships();
    // n3 missed what was sent while it was stopped (the SIGSTOP test): check from here on.
    const mark = suite.stream.mark();
    suite.stream.start(ALL, STREAM_INTERVAL_MS);
    writer.start([1, 2], WRITE_INTERVAL_MS, 'disk-full');
    const logBefore = logOf(3).length;
    suite.lab.fillStateDisk(3);
    try {
      // Writes through n1 that n3 cannot store: a few big ones outgrow whatever room its WAL still had.
      const n1 = writer.client(1);
      for (let i = 0; i < BIG_WRITES_MAX && !/cannot store write/.test(logOf(3).slice(logBefore)); i++) {
        const path = `disk-full/big-${i}`;
        const content = `${i}`.padEnd(BIG_FILE_BYTES, '.');
        await n1.cfsPut(path, content);
        writer.acked.set(path, content);
      }
      const failures = logOf(3)
        .slice(logBefore)
        .split('\n')
        .filter((l) => /cannot store write/.test(l));
      assert.equal(failures.length, 1, `one log line for the episode:\n${failures.join('\n')}`);
      assert.match(failures[0]!, /SQLITE_FULL/);
      const n3 = writer.client(3);
      await assert.rejects(n3.cfsPut('disk-full/through-n3', 'x'), /could not store a write.*SQLITE_FULL/);
      await assert.rejects(n3.cfsLs(''), /copy of the store is stale/);
      assert.ok(suite.lab.running(3) && (await suite.lab.status(3)).quorum.quorate, 'n3 runs and is quorate');
      assert.ok(await suite.stream.progress(ALL, DURING_FAULT, 20_000), 'the stream reaches n3 meanwhile');
    } finally {
      suite.lab.freeStateDisk(3);
    }
    await until('n3 serves reads again', 30_000, () =>
      writer
        .client(3)
        .cfsLs('disk-full/')
        .then(
          () => true,
          () => false,
        ),
    );
    assert.ok(await writer.client(3).cfsPut('disk-full/through-n3', 'again'), 'n3 takes writes again');
    writer.acked.set('disk-full/through-n3', 'again');
    await until('n3 logs that its copy is whole again', 5_000, () =>
      /the copy is whole again/.test(logOf(3).slice(logBefore)),
    );
    await writer.stop();
    assert.deepEqual(writer.refused.get(1) ?? [], [], 'writes through n1 never refused (n3 is stale, not the cluster)');
    await assertNoConfigurationChange(suite.lab, suite.stream, ringId);
    await assertStreamIntact(suite.stream, { senders: ALL, on: ALL, after: mark });
    await writer.assertNoneLost(ALL);
  });

  test("n3's wall clock stepped +1 h, then −1 h (libfaketime; protocol timers are monotonic): no membership change, nothing lost", {
    skip: existsSync(FAKETIME_LIBRARY) ? false : `needs libfaketime (${FAKETIME_LIBRARY}; apt-get install libfaketime)`,
  }, async () => {
    // Linux time namespaces shift only CLOCK_MONOTONIC/BOOTTIME, never the wall clock, and `date -s` would move
    // the whole shared machine: n3 restarts under libfaketime, its offset read from a file on every call.
    const offsetFile = join(suite.lab.dir, 'n3.faketime');
    writeFileSync(offsetFile, '+0\n');
    suite.stream.detach(3);
    await suite.lab.crash(3);
    await suite.lab.start(3, {
      env: {
        LD_PRELOAD: FAKETIME_LIBRARY,
        FAKETIME_TIMESTAMP_FILE: offsetFile,
        FAKETIME_NO_CACHE: '1',
        FAKETIME_DONT_FAKE_MONOTONIC: '1',
      },
    });
    await suite.stream.attach(suite.stream.node(3));
    const ringId = (await suite.lab.waitFor(healthy(3), { timeoutMs: 30_000 }))[0]!.ring_id;
    const n3 = await CorolinkClient.connect({ socket: suite.lab.socket(3), reconnect: false });
    try {
      suite.stream.clearMemberships();
      const mark = suite.stream.mark();
      suite.stream.start(ALL, STREAM_INTERVAL_MS);
      writer.start([1, 2], WRITE_INTERVAL_MS, 'clock');
      for (const [offset, stepMs] of [
        ['+3600', HOUR_MS],
        ['-3600', -HOUR_MS],
      ] as const) {
        writeFileSync(offsetFile, `${offset}\n`);
        // The step is seen: a write through n3 carries n3's wall clock as its mtime.
        const path = `clock/step${offset}`;
        await n3.cfsPut(path, offset);
        writer.acked.set(path, offset);
        const { mtime } = await n3.cfsGet(path);
        assert.ok(Math.abs(mtime - (Date.now() + stepMs)) < 60_000, `n3's clock is ${offset} s off (mtime ${mtime})`);
        assert.ok(await suite.stream.progress(ALL, AFTER_STEP, 30_000), `stream flowing at ${offset} s`);
      }
      writeFileSync(offsetFile, '+0\n');
      await writer.stop();
      await assertNoConfigurationChange(suite.lab, suite.stream, ringId);
      await assertStreamIntact(suite.stream, { senders: ALL, on: ALL, after: mark });
      await writer.assertNoneLost(ALL);
    } finally {
      await n3.close();
    }
  });
});
