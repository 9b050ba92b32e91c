import assert from 'node:assert/strict';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { CorolinkClient, DEFAULT_MAX_UNSENT_BYTES, resolveSocketPath } from '../../src/client/client.ts';
import {
  CPG_SEND_BYTES_IN_FLIGHT_MAX,
  CPG_SENDS_IN_FLIGHT_MAX,
  CPG_SENDS_WAITING_MAX,
  type CpgConfchg,
  type CpgGroup,
  type CpgMessage,
} from '../../src/client/cpg-group.ts';
import {
  BackpressureError,
  CallTimeoutError,
  ClientClosedError,
  DaemonRequestError,
  DaemonUnavailableError,
  EventOverflowError,
  InvalidArgumentError,
} from '../../src/client/errors.ts';
import { LineDecoder } from '../../src/ipc/json-lines.ts';
import type { QuorumEvent } from '../../src/ipc/schema.ts';
import { quorateLinks, quorateStatus } from '../cli/fixtures.ts';
import { waitUntil } from '../wait-until.ts';
import { FakeDaemon, FakeDaemonError, NO_ANSWER, tempDir } from './fake-daemon.ts';

const quorumEvent = (quorate: boolean): QuorumEvent => ({ ...quorateStatus.quorum, quorate });

describe('LineDecoder', () => {
  it('reassembles lines split anywhere, including inside a multi-byte character', () => {
    const decoder = new LineDecoder();
    const bytes = Buffer.from('{"a":"é✓"}\n\n{"b":2}\n{"c"', 'utf8');
    const lines: string[] = [];
    for (let i = 0; i < bytes.length; i++) lines.push(...decoder.push(bytes.subarray(i, i + 1)));
    assert.deepEqual(lines, ['{"a":"é✓"}', '{"b":2}']);
    assert.deepEqual(decoder.push(Buffer.from(':3}\n')), ['{"c":3}']);
  });

  it('refuses a line longer than its bound', () => {
    const decoder = new LineDecoder(8);
    assert.throws(() => decoder.push(Buffer.from('0123456789')), RangeError);
  });
});

describe('resolveSocketPath', () => {
  it('prefers the explicit path, then COROLINK_SOCKET, then the default', () => {
    assert.equal(resolveSocketPath('/x.sock', { COROLINK_SOCKET: '/y.sock' }), '/x.sock');
    assert.equal(resolveSocketPath(undefined, { COROLINK_SOCKET: '/y.sock' }), '/y.sock');
    assert.equal(
      resolveSocketPath(undefined, {}, () => true),
      '/run/corolink/corolink.sock',
    );
  });
  it('takes the application socket when this user may not enter the admin socket folder; never over an explicit path', () => {
    const deny = () => false;
    assert.equal(resolveSocketPath(undefined, {}, deny), '/run/corolink-app/corolink.sock');
    assert.equal(resolveSocketPath(undefined, { COROLINK_SOCKET: '/tmp/c/n1.sock' }, deny), '/tmp/c-app/n1.sock');
    assert.equal(resolveSocketPath('/x/y.sock', {}, deny), '/x/y.sock');
  });
});

describe('CorolinkClient', () => {
  let dir: ReturnType<typeof tempDir>;
  let daemon: FakeDaemon;
  let client: CorolinkClient | undefined;

  before(() => {
    dir = tempDir();
  });
  after(() => dir.cleanup());
  beforeEach(async () => {
    daemon = await FakeDaemon.start(join(dir.path, 'corolink.sock'));
    daemon.handlers.status = () => quorateStatus;
    daemon.handlers.links = () => quorateLinks;
  });
  afterEach(async () => {
    client?.close();
    client = undefined;
    await daemon.stop();
  });

  const connect = async (options: Parameters<typeof CorolinkClient.connect>[0] = {}) => {
    client = await CorolinkClient.connect({ socket: daemon.path, ...options });
    return client;
  };

  it('rejects connect with DaemonUnavailableError when nothing listens', async () => {
    await assert.rejects(CorolinkClient.connect({ socket: join(dir.path, 'missing.sock') }), (error) => {
      assert.ok(error instanceof DaemonUnavailableError);
      assert.equal(error.code, 'unavailable');
      assert.match(error.reason, /ENOENT/);
      return true;
    });
  });

  it('calls the typed methods and sends the documented params', async () => {
    const c = await connect();
    daemon.handlers.setExpected = (params) => ({ ...quorateStatus.quorum, expected_votes: params.votes, members: [] });
    daemon.handlers.setLinkEnabled = (params) => params;
    daemon.handlers.logs = (params) => ({
      lines: [{ time: 't', level: 'info', subsystem: 'KNET', message: `n=${params.lines}`, text: 'x' }],
    });
    assert.deepEqual(await c.status(), quorateStatus);
    assert.deepEqual(await c.links(), quorateLinks);
    assert.equal((await c.setExpected(1)).expected_votes, 1);
    assert.deepEqual(await c.setLinkEnabled(1, false), { link: 1, enabled: false });
    assert.equal((await c.logs({ lines: 5 }))[0]?.message, 'n=5');
    assert.deepEqual(daemon.requestsOf('setLinkEnabled'), [{ link: 1, enabled: false }]);
  });

  it('rejects bad arguments with InvalidArgumentError before sending anything', async () => {
    const c = await connect();
    await assert.rejects(c.setLinkEnabled(8, true), InvalidArgumentError);
    await assert.rejects(c.setExpected(0), InvalidArgumentError);
    await assert.rejects(c.logs({ lines: -1 }), InvalidArgumentError);
    await assert.rejects(c.cpgJoin(''), InvalidArgumentError);
    await assert.rejects(c.cpgJoin('x'.repeat(129)), InvalidArgumentError);
    assert.equal(daemon.requests.length, 0);
  });

  it('matches 500 concurrent calls to their answers, even answered out of order', async () => {
    const c = await connect();
    daemon.handlers.echo = async (params) => {
      await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 20)));
      return params;
    };
    const results = await Promise.all(Array.from({ length: 500 }, (_, n) => c.call('echo', { n })));
    assert.deepEqual(
      results,
      Array.from({ length: 500 }, (_, n) => ({ n })),
    );
  });

  it('reads answers and events split across chunk boundaries', async () => {
    const c = await connect();
    daemon.writeChunkBytes = 7;
    const events: QuorumEvent[] = [];
    await c.onQuorum((event) => events.push(event));
    daemon.broadcast('quorum', 'quorum', quorumEvent(false));
    assert.deepEqual(await c.status(), quorateStatus);
    await waitUntil(() => events.length === 1, 2000, 'the quorum event');
    assert.equal(events[0]?.quorate, false);
  });

  it('maps daemon errors to DaemonRequestError with the daemon code and the method', async () => {
    const c = await connect();
    daemon.handlers.setExpected = () => {
      throw new FakeDaemonError('not_quorate', 'expected votes cannot be changed now');
    };
    await assert.rejects(c.setExpected(2), (error) => {
      assert.ok(error instanceof DaemonRequestError);
      assert.equal(error.code, 'not_quorate');
      assert.equal(error.method, 'setExpected');
      assert.equal(error.message, 'expected votes cannot be changed now');
      return true;
    });
    await assert.rejects(c.call('noSuchMethod'), { name: 'DaemonRequestError', code: 'not_found' });
  });

  it('rejects a call with CallTimeoutError when no answer comes in time, and ignores the late answer', async () => {
    const c = await connect({ callTimeoutMs: 50 });
    daemon.handlers.status = () => NO_ANSWER;
    const started = Date.now();
    await assert.rejects(c.status(), (error) => error instanceof CallTimeoutError && error.code === 'timeout');
    assert.ok(Date.now() - started < 1000);
    daemon.handlers.status = () => quorateStatus;
    assert.deepEqual(await c.status(), quorateStatus);
  });

  it('joins a group, receives confchg and its own messages, leaves', async () => {
    const c = await connect();
    const group = await c.cpgJoin('demo');
    const messages: CpgMessage[] = [];
    const changes: CpgConfchg[] = [];
    group.on('message', (message) => messages.push(message));
    group.on('confchg', (change) => changes.push(change));
    await group.send('hello');
    await group.send(new Uint8Array([0, 255]));
    await waitUntil(() => messages.length === 2, 2000, 'two messages');
    assert.equal(Buffer.from(messages[0]!.data).toString('utf8'), 'hello');
    assert.deepEqual([...messages[1]!.data], [0, 255]);
    assert.equal(messages[0]!.nodeid, 1);
    assert.deepEqual(daemon.requestsOf('subscribe').at(-1), { topics: ['cpg'] });
    await assert.rejects(c.cpgJoin('demo'), InvalidArgumentError);
    const second = await CorolinkClient.connect({ socket: daemon.path });
    await second.cpgJoin('demo');
    await waitUntil(() => changes.length === 2, 2000, 'the confchg of the second join');
    assert.equal(changes[0]!.members.length, 1, 'the confchg of the own join comes first');
    assert.equal(changes[1]!.members.length, 2);
    second.close();
    await group.leave();
    assert.equal(group.closed, true);
    await assert.rejects(group.send('late'), ClientClosedError);
    assert.deepEqual(daemon.requestsOf('cpgLeave'), [{ group: 'demo' }]);
  });

  // CPG's queue for the end of a sync is full (libcpg's CS_ERR_TRY_AGAIN): the daemon answers `refused` / backpressure.
  const busy = () => new FakeDaemonError('refused', 'backpressure: CPG cannot take a join or leave now; retry later');

  it('a join or leave the daemon refuses as busy is asked again; busy beyond callTimeoutMs: BackpressureError', async () => {
    const c = await connect({ callTimeoutMs: 1000 });
    daemon.cpgRefusals.set('sync', [busy(), busy(), busy()]);
    const group = await c.cpgJoin('sync');
    assert.equal(daemon.requestsOf('cpgJoin').length, 4, 'three refusals, then the join');
    daemon.cpgRefusals.set('sync', [busy()]);
    await group.leave();
    assert.deepEqual(daemon.requestsOf('cpgLeave'), [{ group: 'sync' }, { group: 'sync' }]);

    daemon.cpgRefusals.set('always-busy', Array.from({ length: 100 }, busy));
    await assert.rejects(c.cpgJoin('always-busy'), (error) => {
      assert.ok(error instanceof BackpressureError);
      assert.equal(error.group, 'always-busy');
      assert.ok(error.cause instanceof DaemonRequestError && error.cause.code === 'refused');
      return true;
    });
    // Delays of at least 5, 10, 20, 40, 80, 160, 250, 250 ms (half of 10 ms doubling up to 500): within 1000 ms
    // at most 8 retries start. Fewer on a slow machine, never none.
    const attempts = daemon.requestsOf('cpgJoin').filter((params) => params.group === 'always-busy').length;
    assert.ok(attempts >= 2 && attempts <= 9, `${attempts} attempts`);
    await assert.rejects(c.cpgJoin('always-busy'), BackpressureError, 'the failed join left no group behind');
  });

  it('a join refused for another reason than backpressure (the daemon is stopping) is final, not asked again', async () => {
    const c = await connect({ callTimeoutMs: 1000 });
    const stopping = new FakeDaemonError('refused', 'the daemon is stopping: it takes no more CPG requests');
    daemon.cpgRefusals.set('late', [stopping, busy()]);
    await assert.rejects(c.cpgJoin('late'), (error) => {
      assert.ok(error instanceof DaemonRequestError && !(error instanceof BackpressureError));
      assert.match(error.message, /stopping/);
      return true;
    });
    assert.equal(daemon.requestsOf('cpgJoin').filter((params) => params.group === 'late').length, 1, 'asked once');
  });

  it('a re-join refused after a reconnect closes that group with an error event; busy ones are asked again', async () => {
    const c = await connect({ reconnectInitialDelayMs: 10, reconnectMaxDelayMs: 50 });
    const kept = await c.cpgJoin('kept');
    const lost = await c.cpgJoin('lost');
    const messages: CpgMessage[] = [];
    kept.on('message', (message) => messages.push(message));
    await daemon.stop();
    const requestsBefore = daemon.requests.length;
    daemon.cpgRefusals.set('kept', [busy()]);
    daemon.cpgRefusals.set('lost', [new FakeDaemonError('exists', 'already a member of group lost')]);
    const failed = once(lost, 'error', { signal: AbortSignal.timeout(5000) });
    const reconnected = once(c, 'reconnected', { signal: AbortSignal.timeout(5000) });
    await daemon.listen();
    await reconnected;
    const [error] = await failed;
    assert.ok(error instanceof DaemonRequestError);
    assert.equal(error.code, 'exists');
    assert.equal(error.method, 'cpgJoin');
    assert.deepEqual(
      daemon.requests.slice(requestsBefore).map((request) => request.params.group ?? request.method),
      ['subscribe', 'kept', 'kept', 'lost'],
    );
    assert.equal(lost.closed, true);
    await assert.rejects(lost.send('into the void'), ClientClosedError);
    assert.equal(kept.closed, false);
    await kept.send('still in');
    await waitUntil(() => messages.length === 1, 2000, 'the message in the re-joined group');
    // The lost group is forgotten: it can be joined again.
    const again = await c.cpgJoin('lost');
    assert.equal(again.closed, false);
  });

  it('a join that timed out is undone with a leave (the daemon may have joined late); a new join waits for it', async () => {
    const c = await connect({ callTimeoutMs: 100 });
    // The daemon makes the join but its answer never comes (as a join queued behind a long sync would be late).
    daemon.handlers.cpgJoin = (params, connection) => {
      connection.groups.add(params.group as string);
      return NO_ANSWER;
    };
    await assert.rejects(c.cpgJoin('late'), CallTimeoutError);
    delete daemon.handlers.cpgJoin;
    const again = await c.cpgJoin('late');
    assert.deepEqual(
      daemon.requests.filter((request) => request.params.group === 'late').map((request) => request.method),
      ['cpgJoin', 'cpgLeave', 'cpgJoin'],
      'the undoing leave went before the new join',
    );
    assert.deepEqual(
      (await c.cpgGroups()).map(({ group, members }) => [group, members.length]),
      [['late', 1]],
      'one membership, the new join',
    );
    assert.equal(again.closed, false);
    // A refused join was not made: nothing to undo.
    daemon.cpgRefusals.set('refused', [new FakeDaemonError('refused', 'the daemon is stopping')]);
    await assert.rejects(c.cpgJoin('refused'), DaemonRequestError);
    assert.deepEqual(daemon.requestsOf('cpgLeave'), [{ group: 'late' }]);
  });

  it('of two joins of one group started together, one joins and the other is refused without a request', async () => {
    const c = await connect();
    const results = await Promise.allSettled([c.cpgJoin('twice'), c.cpgJoin('twice')]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const refused = results.find((r) => r.status === 'rejected');
    assert.ok(refused?.status === 'rejected' && refused.reason instanceof InvalidArgumentError);
    assert.equal(daemon.requestsOf('cpgJoin').length, 1);
  });

  it('a subscription renewal refused after a reconnect: that connection is dropped and the next one renews', async () => {
    const c = await connect({ reconnectInitialDelayMs: 10, reconnectMaxDelayMs: 50 });
    const quorumEvents: QuorumEvent[] = [];
    await c.onQuorum((event) => quorumEvents.push(event));
    const attempts: number[] = [];
    c.on('reconnecting', ({ attempt }) => attempts.push(attempt));
    await daemon.stop();
    let refusals = 1;
    daemon.handlers.subscribe = (params, connection) => {
      if (refusals-- > 0) throw new FakeDaemonError('refused', 'the daemon is starting');
      for (const topic of params.topics as string[]) connection.topics.add(topic);
      return { ok: true };
    };
    const reconnected = once(c, 'reconnected', { signal: AbortSignal.timeout(5000) });
    await daemon.listen();
    await reconnected;
    assert.equal(daemon.requestsOf('subscribe').length, 3, 'the first subscribe, the refused renewal, the renewal');
    assert.deepEqual(attempts.slice(-2), [1, 2], 'the refused renewal backs off as a failed attempt');
    daemon.broadcast('quorum', 'quorum', quorumEvent(false));
    await waitUntil(() => quorumEvents.length === 1, 2000, 'a quorum event on the renewed subscription');
  });

  it('a full daemon queue: sends wait in order (writable false), go through once there is room, then drain', async () => {
    const c = await connect();
    const group = await c.cpgJoin('busy');
    const messages: string[] = [];
    group.on('message', (message) => messages.push(Buffer.from(message.data).toString()));
    daemon.cpgQueueFull = true;
    const count = CPG_SENDS_IN_FLIGHT_MAX + 16;
    const sent = Array.from({ length: count }, (_, i) => group.send(`m${i}`));
    assert.equal(group.writable, false, 'sends beyond the in-flight window wait in the group');
    await waitUntil(() => daemon.requestsOf('cpgMcast').length >= 2, 2000, 'the refused sends being retried');
    const drained = once(group, 'drain');
    daemon.cpgQueueFull = false;
    await Promise.all(sent);
    await drained;
    assert.equal(group.writable, true);
    await waitUntil(() => messages.length === count, 2000, 'every message');
    assert.deepEqual(
      messages,
      Array.from({ length: count }, (_, i) => `m${i}`),
      'in the order sent',
    );
    const seqs = daemon.requestsOf('cpgMcast').map((p) => p.seq as number);
    assert.equal(seqs[0], 0, 'sends are numbered from 0 per group');
  });

  it('a burst of large sends: at most CPG_SEND_BYTES_IN_FLIGHT_MAX with the daemon, none meets the socket bound', async () => {
    const c = await connect();
    const group = await c.cpgJoin('large');
    let answer!: () => void;
    const answers = new Promise<void>((resolve) => (answer = resolve));
    daemon.handlers.cpgMcast = async () => {
      await answers;
      return { ok: true };
    };
    const payload = Buffer.alloc(64 * 1024, 0x5a);
    const count = Math.ceil((2 * DEFAULT_MAX_UNSENT_BYTES) / payload.length); // all at once would be twice the bound
    const sent = Array.from({ length: count }, () => group.send(payload));
    const window = CPG_SEND_BYTES_IN_FLIGHT_MAX / payload.length;
    await waitUntil(() => daemon.requestsOf('cpgMcast').length >= window, 5000, 'the first window of sends');
    await c.cpgGroups(); // answered after the daemon read every request written before it
    assert.equal(daemon.requestsOf('cpgMcast').length, window, 'no send beyond the bytes in flight');
    assert.equal(group.writable, false);
    answer();
    await Promise.all(sent);
    assert.equal(daemon.requestsOf('cpgMcast').length, count);
  });

  it('refuses a send with BackpressureError only when CPG_SENDS_WAITING_MAX wait already', async () => {
    const c = await connect();
    const group = await c.cpgJoin('full');
    daemon.cpgQueueFull = true;
    const waiting = Array.from({ length: CPG_SENDS_WAITING_MAX + CPG_SENDS_IN_FLIGHT_MAX }, () =>
      group.send('x').catch((error) => error),
    );
    await assert.rejects(group.send('one too many'), (error) => {
      assert.ok(error instanceof BackpressureError);
      assert.equal(error.code, 'backpressure');
      assert.equal(error.group, 'full');
      return true;
    });
    await group.leave();
    const outcomes = await Promise.all(waiting);
    assert.ok(
      outcomes.every((o) => o instanceof ClientClosedError),
      'leave() rejects the sends still waiting',
    );
  });

  it('an aborted send that still waits is never sent; messages() iterates until its signal aborts', async () => {
    const c = await connect();
    const group = await c.cpgJoin('abort');
    const controller = new AbortController();
    const iterator = group.messages({ signal: controller.signal });
    daemon.cpgQueueFull = true;
    const first = group.send('kept');
    const sends = Array.from({ length: CPG_SENDS_IN_FLIGHT_MAX }, () => group.send('filler'));
    const aborter = new AbortController();
    const dropped = group.send('dropped', { signal: aborter.signal });
    aborter.abort();
    await assert.rejects(dropped, { name: 'AbortError' });
    daemon.cpgQueueFull = false;
    await Promise.all([first, ...sends]);
    const seen: string[] = [];
    for await (const message of iterator) {
      seen.push(Buffer.from(message.data).toString());
      if (seen.length === 1 + CPG_SENDS_IN_FLIGHT_MAX) controller.abort();
    }
    assert.equal(seen[0], 'kept');
    assert.ok(!seen.includes('dropped'));
    assert.equal(group.listenerCount('message'), 0, 'the aborted iterator detached');
    await assert.rejects(group.send('late', { signal: AbortSignal.abort() }), { name: 'AbortError' });
  });

  it('knows its own address (cpg_local_get), the members (cpg_membership_get) and the groups (cpg_iteration)', async () => {
    const c = await connect();
    const group = await c.cpgJoin('me');
    const own: CpgMessage[] = [];
    group.on('message', (message) => own.push(message));
    await group.send('mine');
    await waitUntil(() => own.length === 1, 2000, 'the own message');
    assert.equal(group.isOwn(own[0]!), true);
    assert.deepEqual({ nodeid: own[0]!.nodeid, pid: own[0]!.pid }, group.local);
    const other = await CorolinkClient.connect({ socket: daemon.path });
    const otherGroup = await other.cpgJoin('me');
    await other.cpgJoin('else');
    assert.notDeepEqual(otherGroup.local, group.local);
    assert.deepEqual(await group.members(), [group.local, otherGroup.local]);
    assert.deepEqual(
      (await c.cpgGroups()).map((g) => [g.group, g.members.length]),
      [
        ['else', 1],
        ['me', 2],
      ],
    );
    await other.close();
  });

  it('`await using`: a group leaves and a client closes at the end of the block', async () => {
    let left: CpgGroup | undefined;
    {
      await using c = await CorolinkClient.connect({ socket: daemon.path });
      await using group = await c.cpgJoin('scoped');
      left = group;
    }
    assert.equal(left?.closed, true);
    assert.deepEqual(daemon.requestsOf('cpgLeave'), [{ group: 'scoped' }]);
  });

  it('stops writing when the socket is full and refuses calls beyond maxUnsentBytes', async () => {
    const c = await connect({ maxUnsentBytes: 1024 * 1024, callTimeoutMs: 20_000 });
    daemon.handlers.big = () => ({ ok: true });
    for (const connection of daemon.connections) connection.socket.pause();
    const payload = 'x'.repeat(256 * 1024);
    const outcomes = Array.from({ length: 64 }, () =>
      c.call('big', { payload }).then(
        () => 'answered',
        (error) => (error instanceof BackpressureError ? 'refused' : `unexpected ${error}`),
      ),
    );
    for (const connection of daemon.connections) connection.socket.resume();
    const results = await Promise.all(outcomes);
    assert.ok(results.includes('refused'), 'some calls must be refused');
    assert.ok(results.includes('answered'), 'the calls taken must be answered');
    assert.deepEqual(
      results.filter((r) => r !== 'refused' && r !== 'answered'),
      [],
    );
    assert.equal(daemon.requestsOf('big').length, results.filter((r) => r === 'answered').length);
  });

  it('delivers events through watch() and detaches when the loop ends', async () => {
    const c = await connect();
    const iterator = await c.watch('quorum');
    daemon.broadcast('quorum', 'quorum', quorumEvent(false));
    daemon.broadcast('quorum', 'quorum', quorumEvent(true));
    const seen: boolean[] = [];
    for await (const event of iterator) {
      seen.push(event.quorate);
      if (seen.length === 2) break;
    }
    assert.deepEqual(seen, [false, true]);
    assert.equal(c.listenerCount('quorum'), 0);
  });

  it('ends a watch() iterator that falls too far behind with EventOverflowError', async () => {
    const c = await connect({ maxQueuedEvents: 2 });
    const iterator = await c.watch('link');
    const linkEvent = { nodeid: 2, link: 0, state: 'DOWN', reason: 'no pong' };
    for (let i = 0; i < 3; i++) daemon.broadcast('link', 'link', linkEvent);
    await waitUntil(() => c.listenerCount('link') === 0, 2000, 'the overflow');
    assert.deepEqual(await iterator.next(), { value: linkEvent, done: false });
    assert.deepEqual(await iterator.next(), { value: linkEvent, done: false });
    await assert.rejects(iterator.next(), EventOverflowError);
  });

  it('treats a line that is not JSON as a broken connection', async () => {
    const c = await connect({ reconnect: false, framing: 'json-lines' });
    daemon.handlers.status = () => NO_ANSWER;
    const pending = c.status();
    await waitUntil(() => daemon.requestsOf('status').length === 1, 2000, 'the status request');
    daemon.sendRaw('this is not json\n');
    await assert.rejects(pending, (error) => error instanceof DaemonUnavailableError && /not JSON/.test(error.reason));
    assert.equal(c.connected, false);
  });

  it('after a daemon restart: rejects pending calls, reconnects, re-subscribes and re-joins its groups', async () => {
    const c = await connect({ reconnectInitialDelayMs: 10, reconnectMaxDelayMs: 50 });
    const quorumEvents: QuorumEvent[] = [];
    await c.onQuorum((event) => quorumEvents.push(event));
    const group = await c.cpgJoin('survivors');
    const messages: CpgMessage[] = [];
    group.on('message', (message) => messages.push(message));
    daemon.handlers.status = () => NO_ANSWER;
    const pending = c.status();
    await waitUntil(() => daemon.requestsOf('status').length === 1, 2000, 'the status request');
    const disconnected = once(c, 'disconnected');
    await daemon.stop();
    await assert.rejects(pending, DaemonUnavailableError);
    await disconnected;
    await assert.rejects(c.status(), DaemonUnavailableError);
    const requestsBefore = daemon.requests.length;
    daemon.handlers.status = () => quorateStatus;
    const reconnected = once(c, 'reconnected');
    await daemon.listen();
    const addressBefore = group.local;
    await reconnected;
    assert.notDeepEqual(group.local, addressBefore, 'the new connection is a new CPG process');
    const renewed = daemon.requests.slice(requestsBefore);
    assert.deepEqual(renewed, [
      { method: 'subscribe', params: { topics: ['quorum', 'cpg'] } },
      { method: 'cpgJoin', params: { group: 'survivors' } },
    ]);
    daemon.broadcast('quorum', 'quorum', quorumEvent(false));
    await group.send('after restart');
    await waitUntil(() => quorumEvents.length === 1 && messages.length === 1, 2000, 'events after the restart');
    assert.equal(Buffer.from(messages[0]!.data).toString(), 'after restart');
    assert.deepEqual(await c.status(), quorateStatus);
  });

  it('backs off with doubling, bounded, jittered delays and gives up after maxReconnectAttempts', async () => {
    const c = await connect({ reconnectInitialDelayMs: 5, reconnectMaxDelayMs: 20, maxReconnectAttempts: 4 });
    const delays: number[] = [];
    c.on('reconnecting', ({ delayMs }) => delays.push(delayMs));
    const closed = once(c, 'closed');
    await daemon.stop();
    const [error] = await closed;
    const ceilings = [5, 10, 20, 20];
    assert.equal(delays.length, ceilings.length);
    for (const [i, delay] of delays.entries()) {
      assert.ok(delay >= ceilings[i]! / 2 && delay <= ceilings[i]!, `delay ${i}: ${delay}`);
    }
    assert.ok(error instanceof DaemonUnavailableError);
    assert.match(error.reason, /gave up after 4 reconnect attempts/);
    await assert.rejects(c.status(), ClientClosedError);
  });

  it('close() rejects pending calls with ClientClosedError and closes groups', async () => {
    const c = await connect();
    const group = await c.cpgJoin('g');
    daemon.handlers.status = () => NO_ANSWER;
    const pending = c.status();
    const closed = c.close();
    await assert.rejects(pending, ClientClosedError);
    await closed;
    assert.equal(group.closed, true);
    assert.equal(c.connected, false);
  });
});
