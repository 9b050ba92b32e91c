// The daemon's V8 heap limits (DAEMON_NODE_FLAGS) and malloc settings (DAEMON_MALLOC_ENV) reach every way a daemon
// starts: the lab's command line and environment and the systemd unit's; and node applies the flags when given at
// start (the young generation stays small). Starts one daemon: run under the test lock.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { DAEMON_MALLOC_ENV, DAEMON_NODE_FLAGS } from '../../src/base/limits.ts';
import { daemonArgs, daemonEnv } from '../../src/lab/daemon-process.ts';
import { LocalCluster } from '../../src/lab/local-cluster.ts';
import { waitUntil } from '../wait-until.ts';

const UNIT = new URL('../../packaging/corolink.service', import.meta.url);

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

  test("the launching process's own malloc setting wins (to try another one for a run)", async () => {
    assert.equal(await withEnv('MALLOC_ARENA_MAX', '1', () => daemonEnv().MALLOC_ARENA_MAX), '1');
    assert.equal(daemonEnv().MALLOC_TOP_PAD_, process.env.MALLOC_TOP_PAD_ ?? DAEMON_MALLOC_ENV.MALLOC_TOP_PAD_);
  });
});
