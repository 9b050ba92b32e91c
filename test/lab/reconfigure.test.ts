// Issue 7's headline on real (namespaced) hosts: a running 3-node cluster with link0 only gets link1 with one
// command — every host opens it live, the membership never changes, the stream stays intact — and then survives
// a pulled link0 cable.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import {
  assertNoConfigurationChange,
  assertStreamIntact,
  linkState,
  STREAM_INTERVAL_MS,
  skipReason,
  useLab,
} from './helpers.ts';

const execFileAsync = promisify(execFile);
const ALL = [1, 2, 3];

describe('netns lab: add link1 to a running cluster', { skip: skipReason }, () => {
  const suite = useLab({ nodes: 3, links: 2, linksConfigured: 1 });

  test('link add 1 → link0 and link1 UP everywhere at config_version 2, no membership change; cut n3 link0 → quorate', async () => {
    suite.stream.clearMemberships();
    suite.stream.start(ALL, STREAM_INTERVAL_MS);
    assert.ok(await suite.stream.progress(ALL, 50, 10_000), 'stream flowing before the change');
    const addrs = ALL.flatMap((n) => ['--addr', `n${n}=198.18.20.${n}`]);
    const linkAdd = () =>
      execFileAsync(process.execPath, [
        'bin/corolink.mjs',
        'link',
        'add',
        '1',
        ...addrs,
        '--yes',
        '--socket',
        suite.lab.socket(1),
      ]);
    // Pre-flight: with n3's link1 cable pulled, the probe finds n3 unreachable and nothing is committed.
    await suite.lab.cut(3, 1);
    await assert.rejects(linkAdd(), (error: { code: number; stderr: string }) => {
      assert.equal(error.code, 1);
      assert.match(error.stderr, /link 1: nodes 1 \(198\.18\.20\.1\) and 3 \(198\.18\.20\.3\) cannot reach each other/);
      return true;
    });
    assert.equal((await suite.lab.status(1)).cluster.config_version, 1, 'nothing committed');
    await suite.lab.restore(3, 1);
    const { stdout } = await linkAdd();
    assert.match(stdout, /config_version 1 → 2: applied/);
    await suite.lab.waitFor(
      (s) =>
        s.cluster.config_version === 2 && ALL.every((n) => linkState(s, n, 0) === 'UP' && linkState(s, n, 1) === 'UP'),
      { timeoutMs: 20_000 },
    );
    await assertNoConfigurationChange(suite.lab, suite.stream, suite.ringId);

    await suite.lab.cut(3, 0);
    await suite.lab.waitFor((s) => s.quorum.quorate && linkState(s, 3, 0) === 'DOWN' && linkState(s, 3, 1) === 'UP', {
      nodes: [1, 2],
      timeoutMs: 15_000,
    });
    assert.ok(await suite.stream.progress(ALL, 100, 20_000), 'stream flowing over link1');
    await suite.lab.restore(3, 0);
    await assertNoConfigurationChange(suite.lab, suite.stream, suite.ringId);
    await assertStreamIntact(suite.stream, { senders: ALL, on: ALL });
  });
});
