// The qdevice-net client core against a scripted qnetd: every message it sends is decoded and checked, every
// answer is what corosync-qnetd would send.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type QdeviceNetAction,
  QdeviceNetCore,
  type QdeviceNetCoreOptions,
  type QdeviceNetEvent,
  type QdeviceView,
} from '../../src/qdevice/client.ts';
import {
  DecisionAlgorithm,
  decodeQnetdMessage,
  encodeQnetdMessage,
  MSG_TYPES_SUPPORTED,
  MsgType,
  NodeListType,
  NodeState,
  type QnetdMessage,
  TieBreakerMode,
  TLV_OPTS_SUPPORTED,
  TlsSupported,
  Vote,
  type VoteCode,
} from '../../src/qdevice/codec.ts';

const OPTIONS: QdeviceNetCoreOptions = {
  clusterName: 'alpha',
  localNodeId: 1,
  host: '198.18.10.9',
  port: 5403,
  algorithm: 'ffsplit',
  tieBreaker: 'lowest',
  tls: 'off',
  timeoutMs: 10_000,
};
const HEARTBEAT_MS = 8000;
const VIEW: QdeviceView = {
  configVersion: 3,
  nodeIds: [1, 2],
  members: [1, 2],
  ringId: { rep: 1, seq: 8 },
  quorate: true,
};
const RING = { nodeId: 1, seq: 8n };

/** A core plus its clock; `sent` collects the decoded messages, `log` the log lines. */
class Harness {
  readonly core: QdeviceNetCore;
  now = 1000;
  sent: QnetdMessage[] = [];
  actions: QdeviceNetAction[] = [];
  log: string[] = [];

  constructor(options: Partial<QdeviceNetCoreOptions> = {}, random = 0.5) {
    this.core = new QdeviceNetCore({ ...OPTIONS, ...options }, () => random);
  }

  step(event: QdeviceNetEvent): QdeviceNetAction[] {
    const out = this.core.step(event, this.now);
    for (const action of out) {
      if (action.type === 'send') {
        const decoded = decodeQnetdMessage(action.bytes);
        assert.ok(decoded.ok, 'the client sends decodable messages');
        this.sent.push(decoded.message);
      } else if (action.type === 'log') {
        this.log.push(action.message);
      } else {
        this.actions.push(action);
      }
    }
    return out;
  }

  reply(msg: QnetdMessage): void {
    this.step({ type: 'data', bytes: encodeQnetdMessage(msg) });
  }

  /** Moves the clock to the next deadline and ticks. */
  advance(): void {
    const deadline = this.core.nextDeadline();
    assert.ok(deadline !== null, 'a deadline is pending');
    this.now = deadline;
    this.step({ type: 'tick' });
  }

  take(): QnetdMessage[] {
    const out = this.sent;
    this.sent = [];
    return out;
  }

  takeActions(): string[] {
    const out = this.actions.map((a) => a.type);
    this.actions = [];
    return out;
  }

  /** Drives start → preinit → init → init reply; returns the messages sent after the init reply. */
  connect(server: Partial<QnetdMessage> = {}): QnetdMessage[] {
    this.step({ type: 'view', view: VIEW });
    this.step({ type: 'start' });
    this.step({ type: 'connected' });
    const [preinit] = this.take();
    this.reply({
      type: MsgType.preinitReply,
      seqNumber: preinit?.seqNumber,
      tlsSupported: 0,
      tlsClientCertRequired: 0,
    });
    const [init] = this.take();
    assert.equal(init?.type, MsgType.init);
    this.reply(initReply(init?.seqNumber ?? 0, server));
    this.takeActions();
    return this.take();
  }
}

function initReply(seqNumber: number, server: Partial<QnetdMessage> = {}): QnetdMessage {
  return {
    type: MsgType.initReply,
    seqNumber,
    replyErrorCode: 0,
    supportedMessages: [...MSG_TYPES_SUPPORTED],
    supportedOptions: [...TLV_OPTS_SUPPORTED],
    serverMaximumRequestSize: 1 << 15,
    serverMaximumReplySize: 1 << 15,
    supportedDecisionAlgorithms: [0, 1, 2, 3],
    ...server,
  };
}

function listReply(seqNumber: number, nodeListType: number, vote: VoteCode, ringId = RING): QnetdMessage {
  return { type: MsgType.nodeListReply, seqNumber, nodeListType: nodeListType as 0, ringId, vote };
}

describe('qdevice-net client core', () => {
  test('waits for a ring id before it connects, then sends preinit with its cluster name', () => {
    const h = new Harness();
    h.step({ type: 'start' });
    assert.deepEqual(h.takeActions(), []);
    assert.equal(h.core.nextDeadline(), null);
    h.step({ type: 'view', view: VIEW });
    assert.deepEqual(h.actions, [{ type: 'connect', host: '198.18.10.9', port: 5403 }]);
    assert.equal(h.core.nextDeadline(), h.now + HEARTBEAT_MS, 'connect timeout = heartbeat interval');
    h.step({ type: 'connected' });
    assert.deepEqual(h.take(), [{ type: MsgType.preinit, seqNumber: 1, clusterName: 'alpha' }]);
    assert.equal(h.core.status().connecting, true);
  });

  test('init carries node id, algorithm, heartbeat, tie breaker, ring id and what this side supports', () => {
    const h = new Harness({ tieBreaker: 7, algorithm: 'lms' });
    h.step({ type: 'view', view: VIEW });
    h.step({ type: 'start' });
    h.step({ type: 'connected' });
    h.take();
    h.reply({ type: MsgType.preinitReply, seqNumber: 1, tlsSupported: 1, tlsClientCertRequired: 1 });
    assert.deepEqual(h.take(), [
      {
        type: MsgType.init,
        seqNumber: 2,
        supportedMessages: [...MSG_TYPES_SUPPORTED],
        supportedOptions: [...TLV_OPTS_SUPPORTED],
        nodeId: 1,
        decisionAlgorithm: DecisionAlgorithm.lms,
        heartbeatInterval: HEARTBEAT_MS,
        ringId: RING,
        tieBreaker: { mode: TieBreakerMode.nodeId, nodeId: 7 },
      },
    ]);
  });

  test('after the init reply: KAP set option, the three node lists, and no vote until qnetd answers', () => {
    const h = new Harness();
    const sent = h.connect();
    assert.deepEqual(
      sent.map((m) => [m.type, m.nodeListType]),
      [
        [MsgType.setOption, undefined],
        [MsgType.nodeList, NodeListType.initialConfig],
        [MsgType.nodeList, NodeListType.membership],
        [MsgType.nodeList, NodeListType.quorum],
      ],
    );
    assert.equal(sent[0]?.keepActivePartitionTieBreaker, true);
    assert.deepEqual(sent[1]?.configVersion, 3n);
    assert.deepEqual(
      sent[1]?.nodes?.map((n) => n.nodeId),
      [1, 2],
    );
    assert.deepEqual(sent[2]?.ringId, RING);
    assert.deepEqual(
      sent[3]?.nodes?.map((n) => n.nodeState),
      [NodeState.member, NodeState.member],
    );
    assert.equal(sent[3]?.quorate, true);
    assert.equal(h.core.status().connected, true);
    assert.deepEqual(h.core.vote(), { castVote: false, ringId: VIEW.ringId });

    h.reply(listReply(sent[2]?.seqNumber ?? 0, NodeListType.membership, Vote.ack));
    assert.deepEqual(h.core.vote(), { castVote: true, ringId: VIEW.ringId });
    assert.equal(h.core.status().lastVote, 'ack');
  });

  test('a server without the KAP option gets no set option', () => {
    const h = new Harness();
    const sent = h.connect({ supportedOptions: [0, 1, 2] });
    assert.equal(sent[0]?.type, MsgType.nodeList);
  });

  test('a vote for an old ring changes nothing; vote info is acknowledged with its seq', () => {
    const h = new Harness();
    const sent = h.connect();
    h.reply(listReply(sent[2]?.seqNumber ?? 0, NodeListType.membership, Vote.ack, { nodeId: 1, seq: 4n }));
    assert.equal(h.core.vote().castVote, false);
    h.reply({ type: MsgType.voteInfo, seqNumber: 77, vote: Vote.ack, ringId: RING });
    assert.equal(h.core.vote().castVote, true);
    assert.deepEqual(h.take(), [{ type: MsgType.voteInfoReply, seqNumber: 77 }]);
    h.reply({ type: MsgType.voteInfo, seqNumber: 78, vote: Vote.nack, ringId: RING });
    assert.equal(h.core.vote().castVote, false);
    assert.equal(h.core.status().lastVote, 'nack');
  });

  test('a membership change sends the membership and quorum lists and waits for the reply', () => {
    const h = new Harness();
    const sent = h.connect();
    h.reply(listReply(sent[2]?.seqNumber ?? 0, NodeListType.membership, Vote.ack));
    h.step({ type: 'view', view: { ...VIEW, members: [1], ringId: { rep: 1, seq: 12 }, quorate: false } });
    const [membership, quorum] = h.take();
    assert.equal(membership?.nodeListType, NodeListType.membership);
    assert.deepEqual(membership?.ringId, { nodeId: 1, seq: 12n });
    assert.deepEqual(
      quorum?.nodes?.map((n) => n.nodeState),
      [NodeState.member, NodeState.dead],
    );
    assert.equal(h.core.vote().castVote, false, 'wait for reply stops the vote');
    assert.equal(h.core.poll(), null, 'and corosync-qdevice would not poll at all');
    h.reply(listReply(membership?.seqNumber ?? 0, NodeListType.membership, Vote.ack, { nodeId: 1, seq: 12n }));
    assert.deepEqual(h.core.vote(), { castVote: true, ringId: { rep: 1, seq: 12 } });
    assert.deepEqual(h.core.poll(), { castVote: true, ringId: { rep: 1, seq: 12 } });
  });

  test('a config change sends the changed config node list', () => {
    const h = new Harness();
    h.connect();
    h.step({ type: 'view', view: { ...VIEW, configVersion: 4, nodeIds: [1, 2, 3] } });
    const [changed] = h.take();
    assert.equal(changed?.nodeListType, NodeListType.changedConfig);
    assert.equal(changed?.configVersion, 4n);
  });

  test('heartbeats: an echo request every interval; a missing reply disconnects, NACKs, reconnects later', () => {
    const h = new Harness({}, 0.5);
    const sent = h.connect();
    h.reply(listReply(sent[2]?.seqNumber ?? 0, NodeListType.membership, Vote.ack));
    h.advance();
    assert.deepEqual(h.take(), [{ type: MsgType.echoRequest, seqNumber: 1 }]);
    h.reply({ type: MsgType.echoReply, seqNumber: 1 });
    assert.equal(h.core.status().lastHeartbeatAt, h.now);
    h.advance();
    assert.deepEqual(h.take(), [{ type: MsgType.echoRequest, seqNumber: 2 }]);
    h.advance();
    assert.ok(h.log.includes("Server didn't send echo reply message on time"));
    assert.deepEqual(h.takeActions(), ['disconnect']);
    assert.equal(h.core.vote().castVote, false, 'ffsplit votes NACK when disconnected');
    assert.equal(h.core.status().connected, false);
    const reconnectAt = h.core.nextDeadline();
    assert.equal(reconnectAt, h.now + Math.floor(0.5 * 4500), 'random delay below 0.9 × the 5000 ms poll interval');
    h.advance();
    assert.deepEqual(h.takeActions(), ['connect']);
  });

  test('2nodelms keeps its vote across a disconnect', () => {
    const h = new Harness({ algorithm: '2nodelms' });
    const sent = h.connect();
    h.reply(listReply(sent[2]?.seqNumber ?? 0, NodeListType.membership, Vote.ack));
    h.step({ type: 'closed' });
    assert.deepEqual(h.takeActions(), ['disconnect']);
    assert.equal(h.core.vote().castVote, true);
  });

  test('a connect timeout retries at once; a refused connect waits for the timeout', () => {
    const h = new Harness();
    h.step({ type: 'view', view: VIEW });
    h.step({ type: 'start' });
    h.takeActions();
    h.step({ type: 'closed', error: 'connect ECONNREFUSED' });
    assert.deepEqual(h.takeActions(), []);
    assert.ok(h.log.includes("Can't connect to qnetd host (connect ECONNREFUSED)"));
    h.advance();
    assert.ok(h.log.includes('Connect timeout'));
    assert.deepEqual(h.takeActions(), ['disconnect', 'connect']);
    assert.equal(h.core.counters.connects, 2);
  });

  test('a socket error is logged with its text; without a ring id to announce the client waits for one', () => {
    const h = new Harness();
    h.connect();
    h.step({ type: 'view', view: { ...VIEW, ringId: null } });
    h.step({ type: 'closed', error: 'read ECONNRESET' });
    assert.ok(h.log.includes('Unhandled error when reading from server. Disconnecting from server (read ECONNRESET)'));
    h.takeActions();
    h.advance();
    assert.deepEqual(h.takeActions(), [], 'no ring id: no connection attempt');
    assert.equal(h.core.nextDeadline(), null);
    h.step({ type: 'view', view: VIEW });
    assert.deepEqual(h.takeActions(), ['connect']);
  });

  test('bad input from qnetd is counted and drops the connection', () => {
    const h = new Harness();
    const sent = h.connect();
    h.reply(listReply(sent[2]?.seqNumber ?? 0, NodeListType.membership, Vote.ack));
    h.step({ type: 'data', bytes: Uint8Array.of(0, MsgType.voteInfo, 0, 0, 0, 5, 0, 19, 0, 1, 9) });
    assert.equal(h.core.counters.badMessages, 1);
    assert.ok(h.log.some((l) => l.startsWith('Received message with option with invalid value')));
    assert.deepEqual(h.takeActions(), ['disconnect']);
    assert.equal(h.core.vote().castVote, false);
  });

  test('unexpected messages, server errors and init errors disconnect with corosync-qdevice’s words', () => {
    const unexpected = new Harness();
    unexpected.connect();
    unexpected.reply({ type: MsgType.preinit, seqNumber: 1 });
    assert.ok(unexpected.log.includes('Received unexpected preinit message. Disconnecting from server'));

    const duplicate = new Harness();
    duplicate.step({ type: 'view', view: VIEW });
    duplicate.step({ type: 'start' });
    duplicate.step({ type: 'connected' });
    duplicate.reply({ type: MsgType.preinitReply, seqNumber: 1, tlsSupported: 0, tlsClientCertRequired: 0 });
    duplicate.reply(initReply(2, { replyErrorCode: 17 }));
    assert.ok(duplicate.log.includes('Received init reply message with error code 17. Disconnecting from server'));
    assert.deepEqual(duplicate.takeActions().slice(-1), ['disconnect']);

    const wrongSeq = new Harness();
    wrongSeq.step({ type: 'view', view: VIEW });
    wrongSeq.step({ type: 'start' });
    wrongSeq.step({ type: 'connected' });
    wrongSeq.reply({ type: MsgType.preinitReply, seqNumber: 9, tlsSupported: 0, tlsClientCertRequired: 0 });
    assert.ok(wrongSeq.log.includes("Received message doesn't contain seq_number or it's not expected one."));
  });

  test('TLS: starttls then the upgrade, init only once the handshake is done', () => {
    const h = new Harness({ tls: 'on' });
    h.step({ type: 'view', view: VIEW });
    h.step({ type: 'start' });
    h.step({ type: 'connected' });
    h.take();
    h.takeActions();
    h.reply({
      type: MsgType.preinitReply,
      seqNumber: 1,
      tlsSupported: TlsSupported.supported,
      tlsClientCertRequired: 1,
    });
    assert.deepEqual(h.take(), [{ type: MsgType.starttls, seqNumber: 2 }]);
    assert.deepEqual(h.takeActions(), ['startTls']);
    h.step({ type: 'tlsStarted' });
    const [init] = h.take();
    assert.equal(init?.type, MsgType.init);
    assert.equal(init?.seqNumber, 3);
    h.reply(initReply(3));
    assert.equal(h.core.status().usingTls, true);
  });

  test('TLS required against a server without TLS: incompatible, disconnect', () => {
    const h = new Harness({ tls: 'required' });
    h.step({ type: 'view', view: VIEW });
    h.step({ type: 'start' });
    h.step({ type: 'connected' });
    h.reply({
      type: MsgType.preinitReply,
      seqNumber: 1,
      tlsSupported: TlsSupported.unsupported,
      tlsClientCertRequired: 0,
    });
    assert.ok(h.log.includes('Incompatible tls configuration (server 0 client 2)'));
    assert.deepEqual(h.takeActions().slice(-1), ['disconnect']);
  });

  test('stop closes the connection, withdraws the vote and leaves no deadline', () => {
    const h = new Harness();
    const sent = h.connect();
    h.reply(listReply(sent[2]?.seqNumber ?? 0, NodeListType.membership, Vote.ack));
    h.step({ type: 'stop' });
    assert.deepEqual(h.takeActions(), ['disconnect']);
    assert.equal(h.core.vote().castVote, false);
    assert.equal(h.core.nextDeadline(), null);
    h.step({ type: 'view', view: VIEW });
    assert.deepEqual(h.take(), []);
  });

  test('the heartbeat interval is clamped as corosync-qdevice clamps it, with its warning', () => {
    const h = new Harness({ timeoutMs: 500 });
    h.step({ type: 'start' });
    assert.equal(h.core.timers.heartbeatIntervalMs, 1000);
    assert.ok(h.log.includes('Heartbeat interval too small 400. Adjusting to 1000.'));
  });
});
