// The daemon's V8 heap limits (DAEMON_NODE_FLAGS) and malloc settings (DAEMON_MALLOC_ENV) reach every way a daemon
// starts: the lab's command line and environment and the systemd unit's; and node applies the flags when given at
// start (the young generation stays small). The V8 flags the daemon sets on itself (DAEMON_V8_RUNTIME_FLAGS) do what
// they are for, and a daemon has them set. Starts daemons: run under the test lock.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { DAEMON_MALLOC_ENV, DAEMON_NODE_FLAGS, DAEMON_V8_RUNTIME_FLAGS } from '../../src/base/limits.ts';
import { daemonArgs, daemonEnv } from '../../src/lab/daemon-process.ts';
import { LocalCluster } from '../../src/lab/local-cluster.ts';
import { waitUntil } from '../wait-until.ts';

const UNIT = new URL('../../packaging/corolink.service', import.meta.url);
/** The traffic of the pretenuring test: 1 KiB multicasts, a batch queued at once, each batch waited for. */
const TRAFFIC_BATCHES = 40;
const TRAFFIC_BATCH_MESSAGES = 500;

/** Runs `run` with the environment variable `name` set to `value` (as a daemon started then sees it), then restores it. */
async function withEnv<T>(name: string, value: string, run: () => T | Promise<T>): Promise<T> {
  const saved = process.env[name];
  process.env[name] = value;
  try {
    return await run();
  } finally {
    if (saved === undefined) delete process.env[name];
    else process.env[name] = saved;
  }
}

describe('daemon node flags', () => {
  test('the lab and the systemd unit start the daemon with DAEMON_NODE_FLAGS', () => {
    const args = daemonArgs({ configPath: 'c', authkeyPath: 'k', nodeid: 1, socket: '/tmp/x.sock' });
    assert.deepEqual(args.slice(0, DAEMON_NODE_FLAGS.length), [...DAEMON_NODE_FLAGS]);
    assert.match(args[DAEMON_NODE_FLAGS.length]!, /bin\/corolink\.mjs$/);
    const unit = readFileSync(UNIT, 'utf8');
    const options = /^Environment="NODE_OPTIONS=([^"]*)"/m.exec(unit)?.[1];
    assert.equal(options, DAEMON_NODE_FLAGS.join(' '), 'packaging/corolink.service NODE_OPTIONS');
  });

  test('given at start, the semi-space limit holds under allocation (set at run time it does not)', () => {
    const script = `
      const v8 = require('node:v8');
      if (process.argv[1] === 'runtime') v8.setFlagsFromString('${DAEMON_NODE_FLAGS[0]}');
      let keep = [];
      for (let i = 0; i < 2e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 1000) keep = []; }
      const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
      console.log(space.space_size);`;
    const newSpace = (args: string[], mode: string) =>
      Number(execFileSync(process.execPath, [...args, '-e', script, mode], { encoding: 'utf8' }).trim());
    const MiB = 1024 * 1024;
    const semiSpaceMiB = Number(/^--max-semi-space-size=(\d+)$/.exec(DAEMON_NODE_FLAGS[0]!)?.[1]);
    assert.ok(semiSpaceMiB > 0 && semiSpaceMiB < 16, 'DAEMON_NODE_FLAGS starts with a semi-space below the default');
    const bound = 2 * semiSpaceMiB * MiB;
    assert.ok(
      newSpace([...DAEMON_NODE_FLAGS], 'start') <= bound,
      `flags at start: new space ≤ ${2 * semiSpaceMiB} MiB`,
    );
    assert.ok(newSpace([], 'runtime') > bound, 'set at run time: V8 kept its default semi-space');
  });

  test('a daemon LocalCluster starts has DAEMON_MALLOC_ENV in its environment, as the systemd unit sets it', async () => {
    const unit = readFileSync(UNIT, 'utf8');
    const assignments = /^Environment=.*" (MALLOC_.*)$/m.exec(unit)?.[1]?.split(' ') ?? [];
    assert.deepEqual(
      Object.fromEntries(assignments.map((a) => a.split('='))),
      DAEMON_MALLOC_ENV,
      'packaging/corolink.service Environment=',
    );
    const cluster = await LocalCluster.start({ nodes: 1, links: 1, firstHost: 141, basePort: 47615 });
    try {
      const pid = cluster.nodes[0]!.process!.pid!;
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      for (const [name, value] of Object.entries(DAEMON_MALLOC_ENV))
        assert.ok(environ.includes(`${name}=${value}`), name);
    } finally {
      await cluster.stop();
    }
  });

  test("a daemon's full GCs are not in V8's reduce-memory mode (it keeps object shapes, and the code built on them)", async () => {
    // --gc-global makes every GC a full one (a start alone runs several), --trace-gc logs each: a line with
    // "(reduce)" is a GC that let shapes without a live object die and threw away the optimized code that used them
    // (what --optimize-for-size did to every full GC: docs/daemon.md "Memory").
    const cluster = await withEnv('COROLINK_DAEMON_NODE_ARGS', '--trace-gc --gc-global', () =>
      LocalCluster.start({ nodes: 1, links: 1, firstHost: 143, basePort: 47625 }),
    );
    try {
      const logFile = cluster.nodes[0]!.logFile;
      const fullGcs = await waitUntil(
        () => {
          const lines = readFileSync(logFile, 'utf8')
            .split('\n')
            .filter((line) => line.includes('Mark-Compact'));
          return lines.length > 0 && lines;
        },
        10_000,
        "the daemon's first full GC in its log",
        20,
      );
      assert.deepEqual(
        fullGcs.filter((line) => line.includes('(reduce)')),
        [],
        'full GCs in reduce-memory mode',
      );
    } finally {
      await cluster.stop();
    }
  });

  test('DAEMON_V8_RUNTIME_FLAGS, set at run time, keep V8 from moving an object literal to the old generation', () => {
    // A literal whose first objects all survive a scavenge with the young generation at its limit (V8 then decides
    // they live long, as a daemon's start did for one of its literals), then the same literal on a hot path whose
    // objects die at once: pretenured, they fill the old generation and every few ms a full collection runs.
    const script = `
      const v8 = require('node:v8');
      const { PerformanceObserver, constants } = require('node:perf_hooks');
      for (const flag of JSON.parse(process.argv[1])) v8.setFlagsFromString(flag);
      let fullGcs = 0;
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) if (entry.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) fullGcs++;
      }).observe({ entryTypes: ['gc'] });
      function make(i) { return { id: i, header: { seq: i, flags: 0 }, parts: [i, i + 1] }; }
      const kept = [];
      for (let round = 0; round < 40; round++) {
        for (let i = 0; i < 200; i++) kept.push(make(i));
        let garbage = 0;
        for (let i = 0; i < 30000; i++) garbage += [i, i].length;
      }
      setTimeout(() => {
        const before = fullGcs;
        const ring = new Array(64).fill(null);
        for (let i = 0; i < 4e6; i++) ring[i & 63] = make(i);
        setTimeout(() => console.log(fullGcs - before, kept.length, ring.length), 50);
      }, 20);`;
    // The young generation at its limit from the start, as a daemon's is under load.
    const youngAtLimit = DAEMON_NODE_FLAGS.filter((flag) => flag.startsWith('--max-semi-space-size=')).map((flag) =>
      flag.replace('--max-', '--min-'),
    );
    const fullGcsOnHotPath = (flags: readonly string[]) =>
      Number(
        execFileSync(process.execPath, [...youngAtLimit, ...DAEMON_NODE_FLAGS, '-e', script, JSON.stringify(flags)], {
          encoding: 'utf8',
        }).split(' ')[0],
      );
    const without = fullGcsOnHotPath([]);
    assert.ok(without >= 10, `without the flags V8 pretenures the literal: ${without} full GCs on the hot path`);
    const withFlags = fullGcsOnHotPath(DAEMON_V8_RUNTIME_FLAGS);
    assert.ok(withFlags <= 1, `with DAEMON_V8_RUNTIME_FLAGS: ${withFlags} full GCs on the hot path (≤ 1)`);
  });

  test('a daemon has DAEMON_V8_RUNTIME_FLAGS set before its traffic: V8 weighs no literal for pretenuring', async () => {
    // --trace-pretenuring-statistics logs V8's weighing of each literal's survivors after a GC that found any
    // (without the flag, this traffic logs hundreds of such lines from the daemon's data path); --trace-gc shows
    // that the young generation was collected meanwhile.
    const cluster = await withEnv('COROLINK_DAEMON_NODE_ARGS', '--trace-gc --trace-pretenuring-statistics', () =>
      LocalCluster.start({ nodes: 1, links: 1, firstHost: 147, basePort: 47645 }),
    );
    try {
      const logFile = cluster.nodes[0]!.logFile;
      const client = await cluster.client(1);
      try {
        const group = await client.cpgJoin('pretenuring');
        let delivered = 0;
        group.on('message', () => delivered++);
        const payload = new Uint8Array(1024);
        for (let batch = 0; batch < TRAFFIC_BATCHES; batch++) {
          await Promise.all(Array.from({ length: TRAFFIC_BATCH_MESSAGES }, () => group.send(payload)));
        }
        await waitUntil(
          () => delivered === TRAFFIC_BATCHES * TRAFFIC_BATCH_MESSAGES,
          10_000,
          'every message delivered back',
        );
      } finally {
        await client.close();
      }
      const log = readFileSync(logFile, 'utf8').split('\n');
      const scavenges = log.filter((line) => line.includes('Scavenge')).length;
      assert.ok(scavenges >= 10, `the traffic ran ${scavenges} scavenges (≥ 10)`);
      assert.deepEqual(
        log.filter((line) => line.includes('pretenuring:')),
        [],
        "V8's pretenuring feedback",
      );
    } finally {
      await cluster.stop();
    }
  });

  test("the launching process's own malloc setting wins (to try another one for a run)", async () => {
    assert.equal(await withEnv('MALLOC_ARENA_MAX', '1', () => daemonEnv().MALLOC_ARENA_MAX), '1');
    assert.equal(daemonEnv().MALLOC_TOP_PAD_, process.env.MALLOC_TOP_PAD_ ?? DAEMON_MALLOC_ENV.MALLOC_TOP_PAD_);
  });
});
