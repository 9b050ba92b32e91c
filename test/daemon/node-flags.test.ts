// The daemon's V8 heap limits (DAEMON_NODE_FLAGS) reach every way a daemon starts: the lab's command line and the
// systemd unit's NODE_OPTIONS; and node applies them when given at start (the young generation stays small).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { DAEMON_NODE_FLAGS } from '../../src/base/limits.ts';
import { daemonArgs } from '../../src/lab/daemon-process.ts';

const UNIT = new URL('../../packaging/corolink.service', import.meta.url);

describe('daemon node flags', () => {
  test('the lab and the systemd unit start the daemon with DAEMON_NODE_FLAGS', () => {
    const args = daemonArgs({ configPath: 'c', authkeyPath: 'k', nodeid: 1, socket: '/tmp/x.sock' });
    assert.deepEqual(args.slice(0, DAEMON_NODE_FLAGS.length), [...DAEMON_NODE_FLAGS]);
    assert.match(args[DAEMON_NODE_FLAGS.length]!, /bin\/corolink\.mjs$/);
    const unit = readFileSync(UNIT, 'utf8');
    const options = /^Environment="NODE_OPTIONS=([^"]*)"$/m.exec(unit)?.[1];
    assert.equal(options, DAEMON_NODE_FLAGS.join(' '), 'packaging/corolink.service NODE_OPTIONS');
  });

  test('given at start, the semi-space limit holds under allocation (set at run time it does not)', () => {
    const script = `
      const v8 = require('node:v8');
      if (process.argv[1] === 'runtime') v8.setFlagsFromString('--max-semi-space-size=1');
      let keep = [];
      for (let i = 0; i < 2e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 1000) keep = []; }
      const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
      console.log(space.space_size);`;
    const newSpace = (args: string[], mode: string) =>
      Number(execFileSync(process.execPath, [...args, '-e', script, mode], { encoding: 'utf8' }).trim());
    const MiB = 1024 * 1024;
    assert.ok(newSpace([...DAEMON_NODE_FLAGS], 'start') <= 2 * MiB, 'flags at start: new space ≤ 2 MiB');
    assert.ok(newSpace([], 'runtime') > 2 * MiB, 'set at run time: V8 kept its default semi-space');
  });
});
