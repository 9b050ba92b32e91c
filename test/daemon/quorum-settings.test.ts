// The quorum keys a real daemon passes to votequorum: a default config draws no warning about a key it never set.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { LocalCluster, type LocalClusterOptions } from '../../src/lab/local-cluster.ts';

const MEANINGLESS = '[QUORUM] auto_tie_breaker_node: is meaningless if auto_tie_breaker is set to 0';

/** The log of a one-node cluster's daemon once it is quorate. */
async function startupLog(quorumExtra: LocalClusterOptions['quorumExtra']): Promise<string> {
  const cluster = await LocalCluster.start({
    nodes: 1,
    links: 1,
    firstHost: 191,
    basePort: 46405,
    ...(quorumExtra ? { quorumExtra } : {}),
  });
  try {
    await cluster.waitForQuorateMembership(1);
    return readFileSync(cluster.node(1).logFile, 'utf8');
  } finally {
    await cluster.stop();
  }
}

describe('daemon quorum settings', () => {
  test('a default config: no auto_tie_breaker_node warning', async () => {
    const log = await startupLog(undefined);
    assert.match(log, /\[QUORUM\]/, 'the daemon logged its quorum start');
    assert.ok(!log.includes(MEANINGLESS), log);
  });

  test('auto_tie_breaker_node set with auto_tie_breaker: 0 → corosync’s warning', async () => {
    const log = await startupLog({ auto_tie_breaker: 0, auto_tie_breaker_node: 'highest' });
    assert.ok(log.includes(MEANINGLESS), log);
  });
});
