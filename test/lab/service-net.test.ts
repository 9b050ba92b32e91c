// The lab's service network (198.18.100.0/24, a client host): a service on a node answers the client's poller
// with its node's name; a floating address moved from n1 to n2 by the HA ip and exec agents is answered by n2,
// and at no moment by both.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { haWatchdogPaths } from '../../src/config/paths.ts';
import { ResourceRunner } from '../../src/daemon/ha/resource-runner.ts';
import type { HaResourceSpec } from '../../src/ha/contract.ts';
import { BIN } from '../../src/lab/daemon-process.ts';
import { names } from '../../src/lab/lab-state.ts';
import { NetnsLab } from '../../src/lab/netns-lab.ts';
import { type PollSample, summarizePoll } from '../../src/lab/poller.ts';
import { waitUntil } from '../daemon/ha/helpers.ts';
import { skipReason } from './helpers.ts';

const PORT = 8080;
const VIP = '198.18.100.100';
/** Longest wait for a service to answer after its start, or after its address moved (a loaded machine). */
const ANSWER_WAIT_MS = 15_000;

describe('netns lab: the service network', { skip: skipReason }, () => {
  let lab: NetnsLab;
  const started: [ResourceRunner, HaResourceSpec][] = [];
  before(async () => {
    lab = await NetnsLab.up({ nodes: 2, links: 1, daemons: false, dir: mkdtempSync(join(tmpdir(), 'corolink-lab-')) });
  });
  after(async () => {
    for (const [runner, spec] of started.reverse()) await runner.run('stop', spec);
    if (lab && existsSync(lab.dir)) await lab.down();
  });

  /** An exec resource running `lab http-echo` on `address`, answering with `name`. */
  function echo(name: string, address: string): HaResourceSpec {
    const pidFile = join(lab.dir, `echo-${name}-${address}.pid`);
    return {
      type: 'exec',
      sid: `exec:echo-${name}`,
      start: `${process.execPath} ${BIN} lab http-echo --address ${address} --port ${PORT} --name ${name} >/dev/null 2>&1 & echo $! > ${pidFile}`,
      stop: `kill $(cat ${pidFile})`,
      monitor: `kill -0 $(cat ${pidFile}) || exit 7`,
      timeoutMs: 10_000,
    };
  }

  const vip: HaResourceSpec = {
    type: 'ip',
    sid: 'ip:vip',
    address: VIP,
    prefixLength: 24,
    interface: names.servicePort,
    timeoutMs: 10_000,
  };

  async function start(runner: ResourceRunner, spec: HaResourceSpec): Promise<void> {
    const result = await runner.run('start', spec);
    assert.equal(result.exitCode, 0, `${spec.sid}: ${result.output}`);
    started.push([runner, spec]);
  }

  async function stop(runner: ResourceRunner, spec: HaResourceSpec): Promise<void> {
    const result = await runner.run('stop', spec);
    assert.equal(result.exitCode, 0, `${spec.sid}: ${result.output}`);
    started.splice(
      started.findIndex(([r, s]) => r === runner && s === spec),
      1,
    );
  }

  /** Polls in rounds of 1 s until `node` answers; every sample of every round. */
  async function pollUntil(url: string, node: string): Promise<PollSample[]> {
    const samples: PollSample[] = [];
    const deadline = Date.now() + ANSWER_WAIT_MS;
    while (!samples.some((s) => s.node === node)) {
      assert.ok(Date.now() < deadline, `${node} answered ${url} within ${ANSWER_WAIT_MS} ms`);
      samples.push(...(await lab.poll(url, { intervalMs: 50, forMs: 1000 })));
    }
    return samples;
  }

  test("the client host reaches a node's own service address; the poller records the answering node", async () => {
    const runner = new ResourceRunner({ netns: lab.namespace(1) });
    const web = echo('n1', lab.serviceAddress(1));
    await start(runner, web);
    const url = `http://${lab.serviceAddress(1)}:${PORT}/`;
    await pollUntil(url, 'n1');
    const samples = await lab.poll(url, { intervalMs: 50, forMs: 1000 });
    assert.deepEqual(summarizePoll(samples).byNode, { n1: 20 });
    assert.equal(
      samples.every((s) => s.node === 'n1' && s.at > 0),
      true,
    );
    await stop(runner, web);
    const after = await lab.poll(url, { intervalMs: 50, forMs: 200 });
    assert.ok(
      after.every((s) => s.node === null && s.error),
      'nothing answers once the service stopped',
    );
  });

  test('a floating address moved from n1 to n2 (ip + exec resources stopped, started) is answered by n2', async () => {
    const n1 = new ResourceRunner({ netns: lab.namespace(1) });
    const n2 = new ResourceRunner({ netns: lab.namespace(2) });
    const url = `http://${VIP}:${PORT}/`;
    const web1 = echo('n1', VIP);
    const web2 = echo('n2', VIP);
    await start(n1, vip);
    await start(n1, web1);
    await pollUntil(url, 'n1');
    // The group's order: the service stops before its address, the address starts before the service.
    await stop(n1, web1);
    await stop(n1, vip);
    const moved = Date.now();
    await start(n2, vip);
    await start(n2, web2);
    const samples = await pollUntil(url, 'n2');
    const firstN2 = samples.find((s) => s.node === 'n2')!;
    console.log(`# n2 answered ${firstN2.at - moved} ms after the move started`);
    const steady = await lab.poll(url, { intervalMs: 50, forMs: 1000 });
    assert.deepEqual(summarizePoll(steady).byNode, { n2: 20 }, 'only n2 answers');
    assert.equal(samples.filter((s) => s.at > firstN2.at && s.node === 'n1').length, 0, 'n1 never again');
  });

  test('lab down ends the watchdog supervisor a crashed daemon left behind, by its pid', async () => {
    for (const [runner, spec] of started.reverse()) await runner.run('stop', spec);
    started.length = 0;
    const { socketPath, pidFile } = haWatchdogPaths(lab.socket(1));
    const supervisor = spawn(
      'ip',
      [
        'netns',
        'exec',
        lab.namespace(1),
        process.execPath,
        BIN,
        'ha-watchdog',
        '--socket',
        socketPath,
        '--pid-file',
        pidFile,
      ],
      { detached: true, stdio: 'ignore' },
    );
    supervisor.unref();
    const exited = new Promise((resolve) => supervisor.once('exit', resolve));
    await waitUntil(() => existsSync(pidFile), 10_000, 'the supervisor wrote its pid file');
    assert.equal(Number(readFileSync(pidFile, 'utf8')), supervisor.pid);
    await lab.down();
    await exited;
    assert.equal(existsSync(lab.dir), false);
  });
});
