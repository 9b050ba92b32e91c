// Agreed vs safe delivery per CPG group, on three real daemons: a process that joined with `delivery: 'safe'`
// has its messages multicast with Totem's safe flag (counted where Totem delivers them, at every node:
// corolink_totem_safe_messages_delivered_total), one that joined agreed does not. Totem's holding of a safe
// message until every member has it is covered by test/totem (core.test.ts, the safe-delivery checker).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isBackpressure } from '../../src/client/busy-retry.ts';
import { CorolinkClient } from '../../src/client/client.ts';
import type { CpgGroup } from '../../src/client/cpg-group.ts';
import { DaemonRequestError, InvalidArgumentError } from '../../src/client/errors.ts';
import { LocalCluster } from '../../src/lab/local-cluster.ts';
import { membersReach, nextMessage } from '../cpg-events.ts';
import { fetchMetricSamples, sampleValue } from '../metrics-samples.ts';

const FIRST_HOST = 201;
const BASE_PORT = 38405;
const HTTP_BASE_PORT = 38480;
/** Messages sent per group, one at a time (each waits for its delivery, so Totem packs none together). */
const MESSAGES = 5;
const DELIVERY_WAIT_MS = 10_000;
/**
 * The flood: more multicasts at once than Totem's queue (2 MiB pending) and the wait behind it (1,024 multicasts or
 * 16 MiB, src/daemon/engine.ts) hold, even with the ring sending some meanwhile.
 */
const FLOOD_MESSAGES = 3000;
const FLOOD_MESSAGE_BYTES = 16 * 1024;
/** Room in the flooding client for all of it unsent (its default bound, 8 MiB, would refuse it before the daemon). */
const FLOOD_UNSENT_BYTES_MAX = 2 * FLOOD_MESSAGES * FLOOD_MESSAGE_BYTES;

/** The node's count of safe messages Totem delivered, from its /metrics. */
async function safeDelivered(cluster: LocalCluster, nodeid: number): Promise<number> {
  const samples = await fetchMetricSamples(cluster.node(nodeid).httpUrl!);
  const delivered = sampleValue(samples, 'corolink_totem_safe_messages_delivered_total');
  assert.ok(delivered !== undefined, 'the safe-delivery counter is exported');
  return delivered;
}

/** The node's count of CPG requests refused for `reason` (corolink_admin_refused_total), from its /metrics. */
async function cpgRefused(cluster: LocalCluster, nodeid: number, reason: string): Promise<number> {
  const samples = await fetchMetricSamples(cluster.node(nodeid).httpUrl!);
  const refused = sampleValue(samples, 'corolink_admin_refused_total', { reason });
  assert.ok(refused !== undefined, `corolink_admin_refused_total{reason="${reason}"} is exported`);
  return refused;
}

describe('CPG delivery chosen per group (libcpg CPG_TYPE_AGREED / CPG_TYPE_SAFE)', () => {
  let cluster: LocalCluster;
  const clients: CorolinkClient[] = [];

  before(async () => {
    cluster = await LocalCluster.start({
      nodes: 3,
      links: 1,
      firstHost: FIRST_HOST,
      basePort: BASE_PORT,
      httpBasePort: HTTP_BASE_PORT,
    });
    await cluster.waitForQuorateMembership(3);
    for (const nodeid of [1, 2]) clients.push(await cluster.client(nodeid));
  });
  after(async () => {
    for (const client of clients) await client.close();
    await cluster?.stop();
  });

  // Beyond Totem's queue, WAITING_MULTICASTS_MAX multicasts (or WAITING_BYTES_MAX) wait for room; the daemon answers
  // the ones beyond with backpressure. Each such refusal is counted; a refused multicast is delivered nowhere.
  test('multicasts beyond the queue and the wait behind it are refused backpressure, each counted, none delivered', async () => {
    const flooder = await CorolinkClient.connect({
      socket: cluster.node(1).socket,
      reconnect: false,
      maxUnsentBytes: FLOOD_UNSENT_BYTES_MAX,
    });
    try {
      const group = await flooder.cpgJoin('flood');
      let delivered = 0;
      group.on('message', () => delivered++);
      const before = await cpgRefused(cluster, 1, 'totem_queue_full');
      const payload = Buffer.alloc(FLOOD_MESSAGE_BYTES, 0x66);
      const answers = await Promise.allSettled(
        Array.from({ length: FLOOD_MESSAGES }, () => flooder.call('cpgMcast', { group: group.name, data: payload })),
      );
      const refused = answers.filter((a) => a.status === 'rejected' && isBackpressure(a.reason)).length;
      const otherwise = answers.flatMap((a) =>
        a.status === 'rejected' && !isBackpressure(a.reason) ? [a.reason] : [],
      );
      assert.deepEqual(otherwise, [], 'no refusal but backpressure');
      assert.ok(refused > 0, `some of ${FLOOD_MESSAGES} multicasts found no room (${refused} refused)`);
      assert.equal(await cpgRefused(cluster, 1, 'totem_queue_full'), before + refused, 'every refusal counted');
      // One sender's messages are delivered in order: once a last one is, every accepted one was, and no refused one.
      const last = nextMessage(
        group,
        (message) => Buffer.from(message.data).toString() === 'after the flood',
        DELIVERY_WAIT_MS,
      );
      await group.send('after the flood');
      await last;
      assert.equal(delivered, FLOOD_MESSAGES - refused + 1, 'the accepted multicasts and the last one delivered');
    } finally {
      await flooder.close();
    }
  });

  test('a bad delivery is refused, naming it, by cpgJoin and by the cpgMcast schema', async () => {
    await assert.rejects(
      clients[0]!.cpgJoin('bad-delivery', { delivery: 'fast' as 'safe' }),
      (error: Error) =>
        error instanceof InvalidArgumentError && /delivery is 'agreed' or 'safe', got fast/.test(error.message),
    );
    // The method schema the daemon checks every request against (src/ipc/methods.ts), here checked by the client.
    const group = await clients[0]!.cpgJoin('bad-delivery-raw');
    await assert.rejects(
      clients[0]!.call('cpgMcast', { group: group.name, data: 'aGk=', delivery: 'fast' }),
      (error: Error) =>
        error instanceof InvalidArgumentError && error.message === 'cpgMcast: delivery must be one of agreed, safe',
    );
    await group.leave();
  });

  // The CPG core refuses it (CS_ERR_NOT_EXIST, as libcpg's cpg_mcast_joined); the daemon used to answer ok anyway.
  test('a multicast from a process not in the group is refused not_found, and delivered nowhere', async () => {
    const [outsider, member] = clients as [CorolinkClient, CorolinkClient];
    const group = await member.cpgJoin('members-only');
    const delivered: string[] = [];
    group.on('message', (message) => delivered.push(Buffer.from(message.data).toString()));
    await assert.rejects(
      outsider.call('cpgMcast', { group: group.name, data: Buffer.from('from outside') }),
      (error: Error) => error instanceof DaemonRequestError && error.code === 'not_found',
    );
    const fromMember = nextMessage(
      group,
      (message) => Buffer.from(message.data).toString() === 'from the member',
      DELIVERY_WAIT_MS,
    );
    await group.send('from the member');
    await fromMember;
    assert.deepEqual(delivered, ['from the member']);
    await group.leave();
  });

  // The CPG core refuses them (libcpg's cpg_join CS_ERR_EXIST, cpg_leave CS_ERR_NOT_EXIST); the daemon used to answer
  // ok anyway. Through `call`: the client library refuses a second join of a name itself.
  test('a second join is refused exists, a leave of a group not joined not_found: counted, the membership unchanged', async () => {
    const [client] = clients as [CorolinkClient];
    const group = await client.cpgJoin('joined-once');
    await membersReach(group, 1, DELIVERY_WAIT_MS);
    const before = {
      exists: await cpgRefused(cluster, 1, 'cpg_already_member'),
      notMember: await cpgRefused(cluster, 1, 'cpg_not_member'),
    };
    await assert.rejects(
      client.call('cpgJoin', { group: group.name }),
      (error: Error) =>
        error instanceof DaemonRequestError &&
        error.code === 'exists' &&
        /already a member of group joined-once/.test(error.message),
    );
    await assert.rejects(
      client.call('cpgLeave', { group: 'never-joined' }),
      (error: Error) => error instanceof DaemonRequestError && error.code === 'not_found',
    );
    assert.equal(await cpgRefused(cluster, 1, 'cpg_already_member'), before.exists + 1);
    assert.equal(await cpgRefused(cluster, 1, 'cpg_not_member'), before.notMember + 1);
    // Still the one member, and its messages are delivered.
    assert.deepEqual(await group.members(), [{ nodeid: group.local.nodeid, pid: group.local.pid }]);
    // Listening before the send: a delivery is often emitted before its send() resolves (115 of 200 sends in a row on
    // a 3-node LocalCluster, 2026-12-05): a listener attached after `await send()` may miss it.
    const delivered = nextMessage(
      group,
      (message) => Buffer.from(message.data).toString() === 'still a member',
      DELIVERY_WAIT_MS,
    );
    await group.send('still a member');
    await delivered;
    await group.leave();
    await assert.rejects(
      client.call('cpgLeave', { group: group.name }),
      (error: Error) => error instanceof DaemonRequestError && error.code === 'not_found',
      'a second leave',
    );
  });

  test('messages of a safe group are multicast safe at every node; those of an agreed group are not', async () => {
    const [sender, receiver] = clients as [CorolinkClient, CorolinkClient];
    const agreed = await sender.cpgJoin('agreed-group');
    const safe = await sender.cpgJoin('safe-group', { delivery: 'safe' });
    assert.equal(agreed.delivery, 'agreed');
    assert.equal(safe.delivery, 'safe');
    const joined = Promise.all([membersReach(agreed, 2, DELIVERY_WAIT_MS), membersReach(safe, 2, DELIVERY_WAIT_MS)]);
    const agreedAt2 = await receiver.cpgJoin('agreed-group');
    const safeAt2 = await receiver.cpgJoin('safe-group');
    await joined;

    const sendAll = async (group: CpgGroup, there: CpgGroup) => {
      for (let i = 0; i < MESSAGES; i++) {
        const text = `${group.name} ${i}`;
        const own = nextMessage(
          group,
          (m) => group.isOwn(m) && Buffer.from(m.data).toString() === text,
          DELIVERY_WAIT_MS,
        );
        const remote = nextMessage(there, (m) => Buffer.from(m.data).toString() === text, DELIVERY_WAIT_MS);
        await group.send(text);
        await Promise.all([own, remote]);
      }
    };
    const before = await Promise.all([1, 2, 3].map((n) => safeDelivered(cluster, n)));
    await sendAll(agreed, agreedAt2);
    const afterAgreed = await Promise.all([1, 2, 3].map((n) => safeDelivered(cluster, n)));
    assert.deepEqual(afterAgreed, before, 'agreed messages are not delivered as safe');
    await sendAll(safe, safeAt2);
    // Every node delivered the safe messages as safe, node 3 too (it has no member: Totem delivers to the stack).
    for (const nodeid of [1, 2, 3]) {
      const deadline = Date.now() + DELIVERY_WAIT_MS;
      while ((await safeDelivered(cluster, nodeid)) < afterAgreed[nodeid - 1]! + MESSAGES) {
        assert.ok(Date.now() < deadline, `node ${nodeid} delivered ${MESSAGES} safe messages`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(await safeDelivered(cluster, nodeid), afterAgreed[nodeid - 1]! + MESSAGES);
    }
  });
});
