// A cluster whose nodes run different engines for their packets (docs/crypto.md "The AEAD engine", docs/transport.md
// "The link sockets"): the native addon's AES-GCM and batched link sockets on n1 and n2, node:crypto and node:dgram
// on n3 (COROLINK_AEAD=node-crypto COROLINK_UDP=node-dgram, as a machine without the addon). Each logs which engines
// it runs, the three form one ring, and CPG messages cross between the engines both ways.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { CpgMessage } from '../../src/client/cpg-group.ts';
import { LocalCluster } from '../../src/lab/local-cluster.ts';
import { membersReach, nextMessage } from '../cpg-events.ts';

const FIRST_HOST = 111;
const BASE_PORT = 39105;
const MESSAGE_TIMEOUT_MS = 10_000;
const NATIVE_LINE = '[KNET  ] crypto: aes256 (AES-256-GCM) sealed by OpenSSL, one context per key (native addon)';
const NODE_CRYPTO_LINE = '[KNET  ] crypto: aes256 (AES-256-GCM) sealed by node:crypto';
const NATIVE_SOCKETS_LINE =
  '[KNET  ] link sockets: recvmmsg, up to 32 datagrams per read; sendmmsg with UDP GSO (native addon)';
const NODE_DGRAM_LINE = '[KNET  ] link sockets: node:dgram';

describe('nodes on different packet engines', () => {
  let cluster: LocalCluster;

  before(async () => {
    cluster = await LocalCluster.start({ nodes: 3, links: 2, firstHost: FIRST_HOST, basePort: BASE_PORT });
    await cluster.waitForQuorateMembership(3);
    await cluster.kill(3, 'SIGTERM');
    process.env.COROLINK_AEAD = 'node-crypto';
    process.env.COROLINK_UDP = 'node-dgram';
    try {
      await cluster.restart(3);
    } finally {
      delete process.env.COROLINK_AEAD;
      delete process.env.COROLINK_UDP;
    }
    await cluster.waitForQuorateMembership(3);
  });
  after(() => cluster?.stop());

  test('each logs its engines at start', () => {
    const log = (nodeid: number) => readFileSync(cluster.node(nodeid).logFile, 'utf8');
    const n1 = log(1);
    assert.ok(n1.includes(NATIVE_LINE), 'n1 seals with the addon');
    assert.ok(n1.includes(NATIVE_SOCKETS_LINE), 'n1 reads with the addon');
    const n3 = log(3);
    assert.ok(n3.includes(NODE_CRYPTO_LINE), 'n3, restarted with COROLINK_AEAD=node-crypto, runs node:crypto');
    assert.ok(n3.lastIndexOf(NODE_CRYPTO_LINE) > n3.lastIndexOf(NATIVE_LINE), 'the restart is the node:crypto one');
    assert.ok(n3.includes(NODE_DGRAM_LINE), 'n3, restarted with COROLINK_UDP=node-dgram, runs node:dgram');
    assert.ok(n3.lastIndexOf(NODE_DGRAM_LINE) > n3.lastIndexOf(NATIVE_SOCKETS_LINE), 'the restart is the dgram one');
  });

  test('one ring, and messages cross between the engines both ways', async () => {
    const ids = (await Promise.all([1, 2, 3].map((n) => cluster.status(n)))).map((s) => s.ring_id);
    assert.equal(new Set(ids).size, 1, `one ring id everywhere: ${ids.join(', ')}`);
    const [c1, c3] = await Promise.all([cluster.client(1), cluster.client(3)]);
    try {
      // cpgJoin resolves once the daemon queued the join, as libcpg's cpg_join: a message sent before the other
      // process's join is agreed is not that process's to receive. So both wait for the confchg that has both —
      // listening from the code right after their own join's await: a group emits the events held until then on
      // the next turn of the event loop, which may come before the other client's join resolved.
      const join = async (client: typeof c1) => {
        const group = await client.cpgJoin('engines');
        return { group, whole: membersReach(group, 2, MESSAGE_TIMEOUT_MS) };
      };
      const [j1, j3] = await Promise.all([join(c1), join(c3)]);
      await Promise.all([j1.whole, j3.whole]);
      const [g1, g3] = [j1.group, j3.group];
      const text = (message: CpgMessage) => Buffer.from(message.data).toString();
      const atN3 = nextMessage(g3, (message) => message.nodeid === 1, MESSAGE_TIMEOUT_MS);
      const atN1 = nextMessage(g1, (message) => message.nodeid === 3, MESSAGE_TIMEOUT_MS);
      await g1.send('sealed and sent by the addon');
      await g3.send('sealed by node:crypto, sent by node:dgram');
      assert.equal(text(await atN3), 'sealed and sent by the addon');
      assert.equal(text(await atN1), 'sealed by node:crypto, sent by node:dgram');
    } finally {
      c1.close();
      c3.close();
    }
  });
});
