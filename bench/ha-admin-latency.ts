/**
 * `npm run bench:ha-admin`: the round trip of an HA admin request on a 3-node loopback cluster (`corolink { ha:
 * yes }`, default timings): node 2's client asks `ha node maintenance 3 on|off` (alternating) ADMIN_ROUNDS times, one at
 * a time; each is answered once node 2's own delivery of it was applied (docs/ha.md "What is acknowledged when").
 * Bounded: at most ADMIN_BUDGET_MS in all. Prints one JSON object (p50, p90, max in ms). Run it under the test lock.
 */
import { LocalCluster } from '../src/lab/local-cluster.ts';
import { percentile } from './stats.ts';

const ADMIN_ROUNDS = 200;
const ADMIN_BUDGET_MS = 60_000;
const MANAGER_POLL_MS = 50;

const cluster = await LocalCluster.start({ firstHost: 191, basePort: 36905, corolinkExtra: { ha: 'yes' } });
try {
  await cluster.waitForQuorateMembership(3);
  const client = await cluster.client(2);
  const deadline = Date.now() + ADMIN_BUDGET_MS;
  while (!(await client.ha.status()).manager) {
    if (Date.now() > deadline) throw new Error('no HA manager elected');
    await new Promise((resolve) => setTimeout(resolve, MANAGER_POLL_MS));
  }
  const ms: number[] = [];
  for (let i = 0; i < ADMIN_ROUNDS && Date.now() < deadline; i++) {
    const start = process.hrtime.bigint();
    await client.ha.nodeMaintenance(3, i % 2 === 0);
    ms.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  await client.close();
  ms.sort((a, b) => a - b);
  const at = (p: number) => Number(percentile(ms, p).toFixed(2));
  const figures = { requests: ms.length, p50Ms: at(50), p90Ms: at(90), maxMs: at(100) };
  console.log('| admin requests | p50 (ms) | p90 (ms) | max (ms) |\n|---|---|---|---|');
  console.log(`| ${figures.requests} | ${figures.p50Ms} | ${figures.p90Ms} | ${figures.maxMs} |`);
  console.log(JSON.stringify(figures));
} finally {
  await cluster.stop();
}
