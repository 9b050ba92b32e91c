// HA end to end on loopback: a 3-node cluster with `corolink { ha: yes }` (real resource agents, a watchdog
// supervisor per node), an exec service added with `corolink ha add`; SIGKILL of the daemon that runs it: its
// supervisor stops the service, and the manager starts it on another node — on loopback both would bind the same
// address, so a service still running on the dead node makes the new start fail: "started elsewhere" proves it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { HaStatusV1 } from '../../src/ipc/schema.ts';
import { LocalCluster } from '../../src/lab/local-cluster.ts';
import { waitUntil } from '../wait-until.ts';

const run = promisify(execFile);
const SERVICE_ADDRESS = '127.0.100.1';
const SERVICE_PORT = 18_480;
/** The recovery wait at these timings is 6.65 s (docs/ha.md "Fencing"); a bound with room for a loaded machine. */
const RECOVERY_BOUND_MS = 60_000;
/** The probes ask three daemons and the service address: not more often than this. */
const PROBE_INTERVAL_MS = 200;

async function cli(cluster: LocalCluster, nodeid: number, ...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [
    'bin/corolink.mjs',
    ...args,
    '--socket',
    cluster.node(nodeid).socket,
  ]);
  return stdout;
}

async function haStatus(cluster: LocalCluster, nodeid: number): Promise<HaStatusV1> {
  return JSON.parse(await cli(cluster, nodeid, 'ha', 'status', '--json')) as HaStatusV1;
}

async function answer(): Promise<string | undefined> {
  try {
    const response = await fetch(`http://${SERVICE_ADDRESS}:${SERVICE_PORT}/`, { signal: AbortSignal.timeout(1000) });
    return (await response.text()).trim();
  } catch {
    return undefined;
  }
}

describe('HA on a 3-node loopback cluster (corolink { ha: yes })', () => {
  let cluster: LocalCluster;
  let work: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'corolink-ha-'));
    cluster = await LocalCluster.start({ firstHost: 171, basePort: 36405, corolinkExtra: { ha: 'yes' } });
    await cluster.waitForQuorateMembership(3);
  });
  after(async () => {
    await cluster?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('an exec service starts on one node; SIGKILL of that daemon: fenced by its supervisor, started elsewhere', async (t) => {
    const bin = resolve('bin/corolink.mjs');
    const pidFile = join(work, 'web.pid');
    const start = `${process.execPath} ${bin} lab http-echo --address ${SERVICE_ADDRESS} --port ${SERVICE_PORT} --name web >/dev/null 2>&1 & echo $! > ${pidFile}`;
    await cli(
      cluster,
      1,
      'ha',
      'add',
      'exec:web',
      '--start',
      start,
      '--stop',
      `kill $(cat ${pidFile})`,
      '--monitor',
      'true',
    );
    const first = await waitUntil(
      async () => {
        const web = (await haStatus(cluster, 1)).services.find((s) => s.sid === 'exec:web');
        return web?.state === 'started' && web.nodeid !== null && (await answer()) === 'web' ? web.nodeid : undefined;
      },
      RECOVERY_BOUND_MS,
      'the service started',
      PROBE_INTERVAL_MS,
    );
    const killedAt = Date.now();
    await cluster.kill(first);
    // Its supervisor stops the service within the fence timeout: the address stops answering.
    await waitUntil(
      async () => (await answer()) === undefined,
      10_000,
      'the lost node’s service stopped by its watchdog supervisor',
      PROBE_INTERVAL_MS,
    );
    const fencedMs = Date.now() - killedAt;
    const survivor = first === 1 ? 2 : 1;
    const second = await waitUntil(
      async () => {
        const web = (await haStatus(cluster, survivor)).services.find((s) => s.sid === 'exec:web');
        return web?.state === 'started' && web.nodeid !== null && web.nodeid !== first && (await answer()) === 'web'
          ? web.nodeid
          : undefined;
      },
      RECOVERY_BOUND_MS,
      'the service started on another node',
      PROBE_INTERVAL_MS,
    );
    assert.notEqual(second, first);
    // A measurement, not a bound (benchmarks hold timings): the note and docs/ha.md quote it.
    t.diagnostic(
      `SIGKILL → service gone after ${fencedMs} ms, answering from n${second} after ${Date.now() - killedAt} ms`,
    );
    const log = await cli(cluster, survivor, 'logs', '-n', '400');
    assert.match(log, /\[HA {4}\]/, 'HA events are logged under [HA    ]');
    await cluster.restart(first);
  });

  test('monitor: a service killed behind the managers’ back is found dead and restarted on its node', async () => {
    const port = SERVICE_PORT + 1;
    const pidFile = join(work, 'mon.pid');
    const bin = resolve('bin/corolink.mjs');
    const start = `${process.execPath} ${bin} lab http-echo --address ${SERVICE_ADDRESS} --port ${port} --name mon >/dev/null 2>&1 & echo $! > ${pidFile}`;
    const monitor = `kill -0 $(cat ${pidFile}) 2>/dev/null || exit 7`;
    // The previous test's restarted node rejoins: the store stays read-only until that membership's sync ends.
    await cluster.waitForQuorateMembership(3);
    const add = (...args: string[]) =>
      waitUntil(
        () =>
          cli(cluster, 1, ...args).then(
            () => true,
            (error: Error) => {
              if (/the store is read-only/.test(error.message)) return false;
              throw error;
            },
          ),
        RECOVERY_BOUND_MS,
        'a writable store for ha add',
        PROBE_INTERVAL_MS,
      );
    await add(
      'ha',
      'add',
      'exec:mon',
      '--start',
      start,
      '--stop',
      // LSB: stopping a stopped service succeeds (a failed stop after a failed monitor is an error).
      `kill $(cat ${pidFile}) 2>/dev/null || true`,
      '--monitor',
      monitor,
      '--monitor-interval',
      '1',
    );
    const answers = async () => {
      try {
        const response = await fetch(`http://${SERVICE_ADDRESS}:${port}/`, { signal: AbortSignal.timeout(1000) });
        return (await response.text()).trim() === 'mon';
      } catch {
        return false;
      }
    };
    const mon = async () => (await haStatus(cluster, 1)).services.find((s) => s.sid === 'exec:mon');
    const node = await waitUntil(
      async () => {
        const service = await mon();
        return service?.state === 'started' && (await answers()) ? service.nodeid : undefined;
      },
      RECOVERY_BOUND_MS,
      'mon started',
      PROBE_INTERVAL_MS,
    );
    process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
    const restarted = await waitUntil(
      async () => {
        const service = await mon();
        return service?.state === 'started' && service.restarts === 1 && (await answers()) ? service : undefined;
      },
      RECOVERY_BOUND_MS,
      'found dead and restarted',
      PROBE_INTERVAL_MS,
    );
    assert.equal(restarted.nodeid, node, 'restarted on its node');
    const log = await cli(cluster, 1, 'logs', '-n', '400');
    assert.match(log, /service exec:mon: monitor failed \(monitor exec:mon exited 7\): restart 1 of 1/);
    await cli(cluster, 1, 'ha', 'remove', 'exec:mon');
  });

  test('a clean stop of its node (policy conditional, the host stays up: freeze): stopped, frozen, back with it', async () => {
    const web = await waitUntil(
      async () => {
        const service = (await haStatus(cluster, 1)).services.find((s) => s.sid === 'exec:web');
        return service?.state === 'started' && (await answer()) === 'web' ? service : undefined;
      },
      RECOVERY_BOUND_MS,
      'the service runs',
      PROBE_INTERVAL_MS,
    );
    const node = web.nodeid!;
    const other = node === 1 ? 2 : 1;
    await cluster.kill(node, 'SIGTERM');
    assert.equal(await answer(), undefined, 'stopped before its daemon exited');
    // Past the node's fence deadline (its state turns `fence`) the service is still frozen there, not recovered.
    const frozen = await waitUntil(
      async () => {
        const status = await haStatus(cluster, other);
        const fenced = status.nodes.find((n) => n.nodeid === node)?.state === 'fence';
        return fenced ? status.services.find((s) => s.sid === 'exec:web') : undefined;
      },
      RECOVERY_BOUND_MS,
      'the stopped node fenced',
      PROBE_INTERVAL_MS,
    );
    assert.deepEqual([frozen.state, frozen.nodeid], ['freeze', node]);
    assert.equal(await answer(), undefined, 'nowhere else');
    await cluster.restart(node);
    const back = await waitUntil(
      async () => {
        const service = (await haStatus(cluster, other)).services.find((s) => s.sid === 'exec:web');
        return service?.state === 'started' && (await answer()) === 'web' ? service.nodeid : undefined;
      },
      RECOVERY_BOUND_MS,
      'started again on its node',
      PROBE_INTERVAL_MS,
    );
    assert.equal(back, node);
    const log = await cli(cluster, other, 'logs', '-n', '400');
    assert.match(log, new RegExp(`service exec:web: freeze \\(n${node} shuts down\\)`));
  });
});
