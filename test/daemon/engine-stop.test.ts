// A node engine that is stopping takes no more CPG requests: each is refused, none answered ok and then dropped
// (engine.stop() runs before the daemon's sockets close; its stack no longer sends anything).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkConfigText } from '../../src/config/check.ts';
import { NodeEngine } from '../../src/daemon/engine.ts';
import { findLocalNode } from '../../src/daemon/identity.ts';
import type { Logger } from '../../src/daemon/log.ts';

const CONFIG = `totem {
  version: 2
  cluster_name: stopping
  crypto_cipher: aes256
  crypto_hash: sha256
}
nodelist {
  node {
    ring0_addr: 127.0.77.1
    name: n1
    nodeid: 1
  }
}
quorum {
  provider: corosync_votequorum
}
`;
const FORMED_WAIT_MS = 10_000;

test('a stopping engine refuses CPG joins, leaves and multicasts instead of answering them ok', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'engine-stop-'));
  const checked = checkConfigText(CONFIG, 'corosync.conf');
  const identity = findLocalNode(checked.config.nodes, { nodeId: 1 });
  assert.ok(identity.ok);
  const logger = { log() {} } as unknown as Logger;
  const engine = await NodeEngine.start({
    checked,
    localNode: identity.node,
    authkey: randomBytes(128),
    stateDir: dir,
    logger,
  });
  try {
    const deadline = Date.now() + FORMED_WAIT_MS;
    while (engine.ringIdText === null) {
      assert.ok(Date.now() < deadline, `a ring of one within ${FORMED_WAIT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    engine.cpgJoin('kept', 42);
    const stopped = engine.stop();
    assert.throws(() => engine.cpgJoin('late', 42), /stopping/);
    assert.throws(() => engine.cpgLeave('kept', 42), /stopping/);
    assert.throws(() => engine.cpgMulticast('kept', 42, new Uint8Array(8)), /stopping/);
    await stopped;
  } finally {
    await engine.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
