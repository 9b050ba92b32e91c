/**
 * The qdevice-net client (corosync-qdevice's model net, `qdevices/qdevice-net-*.c`) as a pure state machine:
 * `step(event, now) → actions`, `nextDeadline()`. The driver (src/daemon/qdevice-net.ts) owns the socket, TLS and
 * clock; this core owns the protocol, its timers and the vote.
 *
 * Connection: TCP connect → preinit (cluster name) → preinit reply (TLS offer) → [starttls → TLS handshake] →
 * init (node id, decision algorithm, heartbeat interval, tie breaker, ring id, supported messages and options) →
 * init reply → [set option: keep-active-partition tie breaker, when the server knows it] → config node list →
 * membership node list (ring id) → quorum node list; then echo request/reply heartbeats and the votes.
 *
 * The vote is corosync-qdevice's cast-vote timer: ACK or NACK keep the timer running (votequorum is polled with
 * that vote), ask later and wait for reply stop it (no vote until qnetd answers). A reply for a ring id other than
 * the last one sent changes nothing. On a disconnect ffsplit and lms vote NACK (lms without wait_for_all), 2nodelms
 * and test keep the last vote; the client reconnects (after a random delay below 0.9 × the poll interval when the
 * connection had got past TCP, at once after a connect timeout).
 */
import { assert } from '../base/assert.ts';
import type { RingId } from '../quorum/types.ts';
import {
  DECODE_ERROR_TEXT,
  DecisionAlgorithm,
  decodeQnetdMessage,
  encodeQnetdMessage,
  MSG_TYPES_SUPPORTED,
  MsgType,
  NodeListType,
  type NodeListTypeCode,
  NodeState,
  QnetdFrameReader,
  type QnetdMessage,
  ReplyErrorCode,
  TieBreakerMode,
  TLV_OPTS_SUPPORTED,
  TlsSupported,
  type TlsSupportedCode,
  TlvOpt,
  type TlvRingId,
  Vote,
  type VoteCode,
} from './codec.ts';
import {
  MSG_RECEIVE_BYTES_INITIAL,
  MSG_RECEIVE_BYTES_MAX,
  MSG_SEND_BYTES_MIN,
  type QdeviceNetTimers,
  qdeviceNetTimers,
} from './settings.ts';

export type QdeviceAlgorithm = 'ffsplit' | 'lms' | '2nodelms' | 'test';

/** What the core needs of `quorum.device` (a subset of the daemon's QdeviceNetOptions). */
export interface QdeviceNetCoreOptions {
  clusterName: string;
  localNodeId: number;
  host: string;
  port: number;
  algorithm: QdeviceAlgorithm;
  tieBreaker: 'lowest' | 'highest' | number;
  tls: 'on' | 'off' | 'required';
  /** `quorum.device.timeout` (ms). */
  timeoutMs: number;
}

/** The cluster as votequorum sees it (same shape as the daemon's QdeviceClusterView). */
export interface QdeviceView {
  configVersion: number;
  nodeIds: readonly number[];
  members: readonly number[];
  ringId: RingId | null;
  quorate: boolean;
}

export type QdeviceNetState =
  | 'idle'
  | 'waitingConnect'
  | 'waitingPreinitReply'
  | 'waitingTls'
  | 'waitingInitReply'
  | 'connected'
  | 'reconnectWait'
  | 'stopped';

export type QdeviceNetEvent =
  | { type: 'start' }
  | { type: 'stop' }
  | { type: 'view'; view: QdeviceView }
  /** The TCP connection the last `connect` asked for is up. */
  | { type: 'connected' }
  /** The TLS handshake the last `startTls` asked for is done. */
  | { type: 'tlsStarted' }
  | { type: 'data'; bytes: Uint8Array }
  /** The connection failed or closed (with the socket's error, if any). */
  | { type: 'closed'; error?: string }
  | { type: 'tick' };

export type QdeviceLogLevel = 'debug' | 'info' | 'notice' | 'warning' | 'error';

export type QdeviceNetAction =
  | { type: 'connect'; host: string; port: number }
  | { type: 'send'; bytes: Uint8Array }
  /** Upgrade the live connection to TLS (client certificate, server CN `Qnetd Server`), then feed `tlsStarted`. */
  | { type: 'startTls' }
  /** Close the connection; events of that connection are no longer fed. */
  | { type: 'disconnect' }
  | { type: 'log'; level: QdeviceLogLevel; subsystem: 'QDEVICE'; message: string };

export type QdeviceLastVote = 'ack' | 'nack' | 'ask_later' | 'wait_for_reply' | 'none';

export interface QdeviceNetCounters {
  /** Messages from qnetd that did not decode or did not frame (each one dropped the connection). */
  badMessages: number;
  /** Connection attempts. */
  connects: number;
  /** Connections ended by this side or the server. */
  disconnects: number;
}

const VOTE_TEXT: Readonly<Record<VoteCode, string>> = {
  [Vote.undefined]: 'Undefined',
  [Vote.ack]: 'ACK',
  [Vote.nack]: 'NACK',
  [Vote.askLater]: 'Ask later',
  [Vote.waitForReply]: 'Wait for reply',
  [Vote.noChange]: 'No change',
};

const NODE_LIST_TEXT: Readonly<Record<NodeListTypeCode, string>> = {
  [NodeListType.initialConfig]: 'initial config',
  [NodeListType.changedConfig]: 'changed config',
  [NodeListType.membership]: 'membership',
  [NodeListType.quorum]: 'quorum',
};

const TLS_CODE: Readonly<Record<QdeviceNetCoreOptions['tls'], TlsSupportedCode>> = {
  off: TlsSupported.unsupported,
  on: TlsSupported.supported,
  required: TlsSupported.required,
};

/** corosync-qdevice's `qdevice_net_msg_received_check_tls_compatibility`: -1 incompatible, 0 plain, 1 TLS. */
function tlsDecision(server: TlsSupportedCode, client: TlsSupportedCode): -1 | 0 | 1 {
  if (server === TlsSupported.unsupported) return client === TlsSupported.required ? -1 : 0;
  if (client === TlsSupported.unsupported) return server === TlsSupported.required ? -1 : 0;
  return 1;
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function sameRing(a: RingId | null, b: RingId | null): boolean {
  return a === b || (a !== null && b !== null && a.rep === b.rep && a.seq === b.seq);
}

function tlvRing(ring: RingId | null): TlvRingId {
  return ring === null ? { nodeId: 0, seq: 0n } : { nodeId: ring.rep, seq: BigInt(ring.seq) };
}

/** `UTILS_PRI_RING_ID`: hex node id and hex seq. */
function ringText(ring: TlvRingId): string {
  return `${ring.nodeId.toString(16)}.${ring.seq.toString(16)}`;
}

const nextSeq = (seq: number): number => (seq + 1) >>> 0;

export class QdeviceNetCore {
  readonly timers: QdeviceNetTimers;
  private stateValue: QdeviceNetState = 'idle';
  private started = false;
  private view: QdeviceView | null = null;
  private reader = new QnetdFrameReader(MSG_RECEIVE_BYTES_INITIAL);
  private out: QdeviceNetAction[] = [];
  private now = 0;

  private lastMsgSeq = 1;
  private echoExpectedSeq = 0;
  private echoReceivedSeq = 0;
  private lastSentRing: TlvRingId = { nodeId: 0, seq: 0n };
  private lastSentRingView: RingId | null = null;
  private serverSupportsKap = false;
  private usingTls = false;

  private castVoteTimerVote: VoteCode = Vote.askLater;
  private castVoteTimerRunning = false;
  private lastServerVote: QdeviceLastVote = 'none';
  private lastHeartbeatAt: number | null = null;
  private connectedSince: number | null = null;

  private connectDeadline: number | null = null;
  private echoDeadline: number | null = null;
  private reconnectDeadline: number | null = null;

  readonly counters: QdeviceNetCounters = { badMessages: 0, connects: 0, disconnects: 0 };

  constructor(
    private readonly options: QdeviceNetCoreOptions,
    /** Uniform in [0, 1): the reconnect delay's randomness. */
    private readonly random: () => number,
  ) {
    this.timers = qdeviceNetTimers(options.timeoutMs);
  }

  step(event: QdeviceNetEvent, now: number): QdeviceNetAction[] {
    this.now = now;
    switch (event.type) {
      case 'start':
        this.onStart();
        break;
      case 'stop':
        this.onStop();
        break;
      case 'view':
        this.onView(event.view);
        break;
      case 'connected':
        this.onConnected();
        break;
      case 'tlsStarted':
        if (this.stateValue === 'waitingTls') {
          this.usingTls = true;
          this.sendInit();
        }
        break;
      case 'data':
        this.onData(event.bytes);
        break;
      case 'closed':
        this.onClosed(event.error);
        break;
      case 'tick':
        this.onTick();
        break;
    }
    const out = this.out;
    this.out = [];
    return out;
  }

  nextDeadline(): number | null {
    const deadlines = [this.connectDeadline, this.echoDeadline, this.reconnectDeadline].filter(
      (d): d is number => d !== null,
    );
    return deadlines.length === 0 ? null : Math.min(...deadlines);
  }

  /** Whether votequorum gets this device's vote now (the cast-vote timer runs voting ACK), for which ring. */
  vote(): { castVote: boolean; ringId: RingId | null } {
    return {
      castVote: this.castVoteTimerRunning && this.castVoteTimerVote === Vote.ack,
      ringId: this.lastSentRingView,
    };
  }

  /**
   * What corosync-qdevice's cast-vote timer would poll votequorum with now, or null while the timer is stopped
   * (ask later, wait for reply): corosync then does not poll at all and the last vote lasts until votequorum's
   * device timeout, where `vote()` says false at once.
   */
  poll(): { castVote: boolean; ringId: RingId | null } | null {
    return this.castVoteTimerRunning ? this.vote() : null;
  }

  status(): {
    connected: boolean;
    connecting: boolean;
    usingTls: boolean;
    lastVote: QdeviceLastVote;
    castVote: boolean;
    lastHeartbeatAt: number | null;
    connectedSince: number | null;
  } {
    const s = this.stateValue;
    return {
      connected: s === 'connected',
      connecting:
        s === 'waitingConnect' || s === 'waitingPreinitReply' || s === 'waitingTls' || s === 'waitingInitReply',
      usingTls: this.usingTls,
      lastVote: this.lastServerVote,
      castVote: this.vote().castVote,
      lastHeartbeatAt: this.lastHeartbeatAt,
      connectedSince: this.connectedSince,
    };
  }

  // -------------------------------------------------------------------------------------------------------------

  private log(level: QdeviceLogLevel, message: string): void {
    this.out.push({ type: 'log', level, subsystem: 'QDEVICE', message });
  }

  private send(msg: QnetdMessage): void {
    this.out.push({ type: 'send', bytes: encodeQnetdMessage(msg) });
  }

  private onStart(): void {
    if (this.started || this.stateValue === 'stopped') return;
    this.started = true;
    if (this.timers.warning !== null) this.log('warning', this.timers.warning);
    this.updateCastVote(Vote.askLater);
    if (this.view?.ringId) this.beginConnect();
  }

  private onStop(): void {
    if (this.stateValue === 'stopped') return;
    if (this.socketOpen()) {
      this.out.push({ type: 'disconnect' });
      this.counters.disconnects++;
    }
    this.stateValue = 'stopped';
    this.connectDeadline = this.echoDeadline = this.reconnectDeadline = null;
    this.castVoteTimerRunning = false;
    this.connectedSince = null;
  }

  private socketOpen(): boolean {
    const s = this.stateValue;
    return s !== 'idle' && s !== 'reconnectWait' && s !== 'stopped';
  }

  private beginConnect(): void {
    this.reconnectDeadline = null;
    if (!this.view?.ringId) {
      // Nothing to announce yet: the next view with a ring id starts the connection.
      this.stateValue = 'idle';
      return;
    }
    this.stateValue = 'waitingConnect';
    this.reader = new QnetdFrameReader(MSG_RECEIVE_BYTES_INITIAL);
    this.usingTls = false;
    this.counters.connects++;
    this.connectDeadline = this.now + this.timers.connectTimeoutMs;
    const { host, port } = this.options;
    this.log('debug', `Trying connect to qnetd server ${host}:${port} (timeout = ${this.timers.connectTimeoutMs}ms)`);
    this.out.push({ type: 'connect', host, port });
  }

  private onConnected(): void {
    if (this.stateValue !== 'waitingConnect') return;
    this.stateValue = 'waitingPreinitReply';
    this.log('debug', 'Sending preinit msg to qnetd');
    this.send({ type: MsgType.preinit, seqNumber: this.lastMsgSeq, clusterName: this.options.clusterName });
  }

  private onClosed(error: string | undefined): void {
    if (this.stateValue === 'waitingConnect') {
      // As corosync-qdevice: the attempt is over, the next one starts at the connect timeout.
      this.log('error', `Can't connect to qnetd host${error ? ` (${error})` : ''}`);
      return;
    }
    if (!this.socketOpen()) return;
    if (error === undefined) this.log('debug', 'Server closed connection');
    else this.log('error', `Unhandled error when reading from server. Disconnecting from server (${error})`);
    this.disconnect();
  }

  private onTick(): void {
    const now = this.now;
    if (this.connectDeadline !== null && now >= this.connectDeadline) {
      this.log('error', 'Connect timeout');
      this.disconnect();
    }
    if (this.echoDeadline !== null && now >= this.echoDeadline) this.onEchoTimer();
    if (this.reconnectDeadline !== null && now >= this.reconnectDeadline) this.beginConnect();
  }

  /**
   * `qdevice_model_net_post_poll_loop`: close, let the algorithm set the vote, reconnect — at once after a failed
   * connect (its timeout already spaced the attempts), after a random delay once the server had been reached.
   */
  private disconnect(): void {
    const wasWaitingConnect = this.stateValue === 'waitingConnect';
    this.out.push({ type: 'disconnect' });
    this.counters.disconnects++;
    this.connectDeadline = this.echoDeadline = null;
    this.connectedSince = null;
    this.lastHeartbeatAt = null;
    this.echoExpectedSeq = this.echoReceivedSeq;
    const vote = this.disconnectedVote();
    this.log('debug', `Algorithm result vote is ${VOTE_TEXT[vote]}`);
    this.updateCastVote(vote);
    this.stateValue = 'reconnectWait';
    if (wasWaitingConnect) {
      this.beginConnect();
      return;
    }
    const delay = Math.floor(this.random() * Math.trunc(this.timers.castVoteIntervalMs * 0.9));
    this.log('debug', `Sleeping for ${delay} ms before reconnect`);
    this.reconnectDeadline = this.now + delay;
  }

  private disconnectedVote(): VoteCode {
    switch (this.options.algorithm) {
      case 'ffsplit':
        // Keeping the vote could make two quorate halves (corosync-qdevice's comment in algo-ffsplit).
        return Vote.nack;
      case 'lms':
        // lms keeps the vote only with wait_for_all, which this client is not told: NACK.
        return Vote.nack;
      case '2nodelms':
      case 'test':
        return Vote.noChange;
    }
  }

  /** `qdevice_net_cast_vote_timer_update`. */
  private updateCastVote(vote: VoteCode): void {
    const every = this.timers.castVoteIntervalMs;
    switch (vote) {
      case Vote.undefined:
      case Vote.noChange:
        return;
      case Vote.ack:
      case Vote.nack:
        this.castVoteTimerVote = vote;
        this.log(
          'debug',
          `Cast vote timer ${this.castVoteTimerRunning ? 'remains' : 'is now'} scheduled every ${every}ms voting ${VOTE_TEXT[vote]}.`,
        );
        this.castVoteTimerRunning = true;
        return;
      case Vote.askLater:
      case Vote.waitForReply:
        this.castVoteTimerVote = vote;
        this.log('debug', `Cast vote timer ${this.castVoteTimerRunning ? 'is now stopped' : 'remains stopped'}.`);
        this.castVoteTimerRunning = false;
        return;
    }
  }

  private noteServerVote(vote: VoteCode): void {
    if (vote === Vote.ack) this.lastServerVote = 'ack';
    else if (vote === Vote.nack) this.lastServerVote = 'nack';
    else if (vote === Vote.askLater) this.lastServerVote = 'ask_later';
    else if (vote === Vote.waitForReply) this.lastServerVote = 'wait_for_reply';
  }

  // ---- cluster view (votequorum and cmap callbacks) --------------------------------------------------------------

  private onView(view: QdeviceView): void {
    if (this.stateValue === 'stopped') return;
    const prev = this.view;
    this.view = view;
    if (this.stateValue === 'idle' && this.started && view.ringId) {
      this.beginConnect();
      return;
    }
    if (prev === null) return;
    const connected = this.stateValue === 'connected';
    // Not connected: a running ACK turns to NACK (the vote was for a cluster that is no more).
    const offlineVote = (): VoteCode =>
      this.castVoteTimerRunning && this.castVoteTimerVote === Vote.ack ? Vote.nack : Vote.noChange;
    if (prev.configVersion !== view.configVersion || !sameList(prev.nodeIds, view.nodeIds)) {
      if (connected) this.sendConfigNodeList(false);
      else this.updateCastVote(offlineVote());
    }
    if (!sameRing(prev.ringId, view.ringId) || !sameList(prev.members, view.members)) {
      if (connected) {
        this.sendMembershipNodeList();
        this.updateCastVote(Vote.waitForReply);
      } else {
        this.updateCastVote(offlineVote());
      }
    }
    if (prev.quorate !== view.quorate || !sameList(prev.members, view.members)) {
      if (connected) this.sendQuorumNodeList();
      else this.updateCastVote(offlineVote());
    }
  }

  private currentView(): QdeviceView {
    assert(this.view !== null, 'qdevice-net: node lists are sent only after a view');
    return this.view;
  }

  private sendConfigNodeList(initial: boolean): void {
    const view = this.currentView();
    this.lastMsgSeq = nextSeq(this.lastMsgSeq);
    this.log('debug', `Sending config node list seq = ${this.lastMsgSeq}`);
    this.send({
      type: MsgType.nodeList,
      seqNumber: this.lastMsgSeq,
      nodeListType: initial ? NodeListType.initialConfig : NodeListType.changedConfig,
      configVersion: BigInt(view.configVersion),
      nodes: view.nodeIds.map((nodeId) => ({ nodeId, dataCenterId: 0, nodeState: NodeState.notSet })),
    });
  }

  private sendMembershipNodeList(): void {
    const view = this.currentView();
    const ring = tlvRing(view.ringId);
    this.lastMsgSeq = nextSeq(this.lastMsgSeq);
    this.log(
      'debug',
      `Sending membership node list seq = ${this.lastMsgSeq}, ringid = (${ringText(ring)}), heuristics = Undefined.`,
    );
    this.send({
      type: MsgType.nodeList,
      seqNumber: this.lastMsgSeq,
      nodeListType: NodeListType.membership,
      ringId: ring,
      nodes: view.members.map((nodeId) => ({ nodeId, dataCenterId: 0, nodeState: NodeState.notSet })),
    });
    this.lastSentRing = ring;
    this.lastSentRingView = view.ringId;
  }

  private sendQuorumNodeList(): void {
    const view = this.currentView();
    this.lastMsgSeq = nextSeq(this.lastMsgSeq);
    this.log('debug', `Sending quorum node list seq = ${this.lastMsgSeq}, quorate = ${view.quorate ? 1 : 0}`);
    this.send({
      type: MsgType.nodeList,
      seqNumber: this.lastMsgSeq,
      nodeListType: NodeListType.quorum,
      quorate: view.quorate,
      nodes: view.nodeIds.map((nodeId) => ({
        nodeId,
        dataCenterId: 0,
        nodeState: view.members.includes(nodeId) ? NodeState.member : NodeState.dead,
      })),
    });
  }

  // ---- connection handshake ---------------------------------------------------------------------------------------

  private sendInit(): void {
    const view = this.currentView();
    const { tieBreaker } = this.options;
    this.lastMsgSeq = nextSeq(this.lastMsgSeq);
    const ring = tlvRing(view.ringId);
    this.send({
      type: MsgType.init,
      seqNumber: this.lastMsgSeq,
      supportedMessages: [...MSG_TYPES_SUPPORTED],
      supportedOptions: [...TLV_OPTS_SUPPORTED],
      nodeId: this.options.localNodeId,
      decisionAlgorithm: DecisionAlgorithm[this.options.algorithm],
      heartbeatInterval: this.timers.heartbeatIntervalMs,
      tieBreaker:
        tieBreaker === 'lowest'
          ? { mode: TieBreakerMode.lowest, nodeId: 0 }
          : tieBreaker === 'highest'
            ? { mode: TieBreakerMode.highest, nodeId: 0 }
            : { mode: TieBreakerMode.nodeId, nodeId: tieBreaker },
      ringId: ring,
    });
    this.lastSentRing = ring;
    this.lastSentRingView = view.ringId;
    this.stateValue = 'waitingInitReply';
  }

  private onData(bytes: Uint8Array): void {
    if (!this.socketOpen() || this.stateValue === 'waitingConnect') return;
    for (const frame of this.reader.push(bytes)) {
      if (!frame.ok) {
        this.counters.badMessages++;
        if (frame.kind === 'unsupportedType') {
          this.log('warning', `Server sent unsupported msg type ${frame.type}. Disconnecting from server`);
        } else {
          this.log('warning', `Server wants to send too long message ${frame.bytes} bytes. Disconnecting from server`);
        }
        this.disconnect();
        return;
      }
      const decoded = decodeQnetdMessage(frame.bytes);
      if (!decoded.ok) {
        this.counters.badMessages++;
        this.log('warning', `${DECODE_ERROR_TEXT[decoded.error.kind]}: ${decoded.error.message}`);
        this.log('error', 'Disconnecting from server');
        this.disconnect();
        return;
      }
      if (!this.onMessage(decoded.message)) {
        this.disconnect();
        return;
      }
    }
  }

  /** `qdevice_net_msg_received`: false drops the connection. */
  private onMessage(msg: QnetdMessage): boolean {
    switch (msg.type) {
      case MsgType.preinitReply:
        return this.onPreinitReply(msg);
      case MsgType.initReply:
        return this.onInitReply(msg);
      case MsgType.serverError:
        if (msg.replyErrorCode === undefined) {
          this.log('error', 'Received server error without error code set. Disconnecting from server');
        } else {
          this.log('error', `Received server error ${msg.replyErrorCode}. Disconnecting from server`);
        }
        return false;
      case MsgType.setOptionReply:
        return this.onSetOptionReply(msg);
      case MsgType.echoReply:
        return this.onEchoReply(msg);
      case MsgType.nodeListReply:
      case MsgType.askForVoteReply:
      case MsgType.voteInfo:
      case MsgType.heuristicsChangeReply:
        return this.onVoteMessage(msg);
      default:
        return this.unexpected(msg.type);
    }
  }

  private unexpected(type: number): boolean {
    const name = Object.entries(MsgType).find(([, code]) => code === type)?.[0] ?? String(type);
    this.log('error', `Received unexpected ${messageName(name)} message. Disconnecting from server`);
    return false;
  }

  private checkSeq(msg: QnetdMessage): boolean {
    if (msg.seqNumber === undefined || msg.seqNumber !== this.lastMsgSeq) {
      this.log('error', "Received message doesn't contain seq_number or it's not expected one.");
      return false;
    }
    return true;
  }

  private onPreinitReply(msg: QnetdMessage): boolean {
    this.log('debug', 'Received preinit reply msg');
    if (this.stateValue !== 'waitingPreinitReply') return this.unexpected(msg.type);
    if (!this.checkSeq(msg)) return false;
    if (msg.tlsSupported === undefined || msg.tlsClientCertRequired === undefined) {
      this.log('error', 'Required tls_supported or tls_client_cert_required option is unset');
      return false;
    }
    const client = TLS_CODE[this.options.tls];
    const decision = tlsDecision(msg.tlsSupported, client);
    if (decision === -1) {
      this.log('error', `Incompatible tls configuration (server ${msg.tlsSupported} client ${client})`);
      return false;
    }
    if (decision === 0) {
      this.sendInit();
      return true;
    }
    this.lastMsgSeq = nextSeq(this.lastMsgSeq);
    this.send({ type: MsgType.starttls, seqNumber: this.lastMsgSeq });
    this.out.push({ type: 'startTls' });
    this.stateValue = 'waitingTls';
    return true;
  }

  private onInitReply(msg: QnetdMessage): boolean {
    this.log('debug', 'Received init reply msg');
    if (this.stateValue !== 'waitingInitReply') return this.unexpected(msg.type);
    if (!this.checkSeq(msg)) return false;
    if (msg.replyErrorCode === undefined) {
      this.log('error', 'Received init reply message without error code.Disconnecting from server');
      return false;
    }
    if (msg.replyErrorCode !== ReplyErrorCode.noError) {
      this.log('error', `Received init reply message with error code ${msg.replyErrorCode}. Disconnecting from server`);
      const retry = 'may be result of server not yet accepted this node disconnect. Retry again.';
      if (msg.replyErrorCode === ReplyErrorCode.duplicateNodeId) {
        this.log('error', `Duplicate node id ${retry}`);
      } else if (msg.replyErrorCode === ReplyErrorCode.tieBreakerDiffersFromOtherNodes) {
        this.log('error', `Configured tie-breaker differs in cluster. This ${retry}`);
      } else if (msg.replyErrorCode === ReplyErrorCode.algorithmDiffersFromOtherNodes) {
        this.log('error', `Configured algorithm differs in cluster. This ${retry}`);
      }
      return false;
    }
    if (msg.serverMaximumRequestSize === undefined || msg.serverMaximumReplySize === undefined) {
      this.log('error', 'Required maximum_request_size or maximum_reply_size option is unset');
      return false;
    }
    if (msg.supportedMessages === undefined || msg.supportedOptions === undefined) {
      this.log('error', 'Required supported messages or supported options option is unset');
      return false;
    }
    if (msg.supportedDecisionAlgorithms === undefined) {
      this.log('error', 'Required supported decision algorithms option is unset');
      return false;
    }
    if (msg.serverMaximumRequestSize < MSG_SEND_BYTES_MIN) {
      this.log(
        'error',
        `Server accepts maximum ${msg.serverMaximumRequestSize} bytes message but this client minimum is ${MSG_SEND_BYTES_MIN} bytes.`,
      );
      return false;
    }
    if (msg.serverMaximumReplySize > MSG_RECEIVE_BYTES_MAX) {
      this.log(
        'error',
        `Server may send message up to ${msg.serverMaximumReplySize} bytes message but this client maximum is ${MSG_RECEIVE_BYTES_MAX} bytes.`,
      );
      return false;
    }
    this.reader.setMaxMessageBytes(msg.serverMaximumReplySize);
    if (!msg.supportedDecisionAlgorithms.includes(DecisionAlgorithm[this.options.algorithm])) {
      this.log('error', "Server doesn't support required decision algorithm");
      return false;
    }
    this.serverSupportsKap = msg.supportedOptions.includes(TlvOpt.keepActivePartitionTieBreaker);
    this.connectDeadline = null;
    this.scheduleEcho();
    this.afterConnect();
    return true;
  }

  /** `qdevice_net_connect_heuristics_exec_result_callback` (heuristics disabled). */
  private afterConnect(): void {
    this.log(
      'debug',
      'Algorithm decided to send config node list, send membership node list, send quorum node list, ' +
        'heuristics is Undefined and result vote is Wait for reply',
    );
    if (this.serverSupportsKap) {
      this.lastMsgSeq = nextSeq(this.lastMsgSeq);
      this.log('debug', `Sending set option seq = ${this.lastMsgSeq}, HB(0) = 0ms, KAP Tie-breaker(1) = Enabled`);
      this.send({ type: MsgType.setOption, seqNumber: this.lastMsgSeq, keepActivePartitionTieBreaker: true });
    }
    this.sendConfigNodeList(true);
    this.sendMembershipNodeList();
    this.sendQuorumNodeList();
    this.updateCastVote(Vote.waitForReply);
    this.stateValue = 'connected';
    this.connectedSince = this.now;
  }

  private onSetOptionReply(msg: QnetdMessage): boolean {
    if (this.stateValue !== 'connected') return this.unexpected(msg.type);
    this.log(
      'debug',
      `Received set option reply seq(${msg.seqNumber === undefined ? 0 : 1}) = ${msg.seqNumber ?? 0}, ` +
        `HB(${msg.heartbeatInterval === undefined ? 0 : 1}) = ${msg.heartbeatInterval ?? 0}ms, ` +
        `KAP Tie-breaker(${msg.keepActivePartitionTieBreaker === undefined ? 0 : 1}) = ${msg.keepActivePartitionTieBreaker ? 'Enabled' : 'Disabled'}`,
    );
    if (msg.heartbeatInterval !== undefined) this.scheduleEcho();
    return true;
  }

  // ---- heartbeats -----------------------------------------------------------------------------------------------

  private scheduleEcho(): void {
    this.echoExpectedSeq = 0;
    this.echoReceivedSeq = 0;
    this.log('debug', `Scheduling send of heartbeat every ${this.timers.heartbeatIntervalMs}ms`);
    this.echoDeadline = this.now + this.timers.heartbeatIntervalMs;
  }

  private onEchoTimer(): void {
    if (this.echoReceivedSeq !== this.echoExpectedSeq) {
      this.log('error', "Server didn't send echo reply message on time");
      this.log('debug', 'Algorithm decided to disconnect');
      this.disconnect();
      return;
    }
    this.echoExpectedSeq = nextSeq(this.echoExpectedSeq);
    this.send({ type: MsgType.echoRequest, seqNumber: this.echoExpectedSeq });
    this.echoDeadline = this.now + this.timers.heartbeatIntervalMs;
  }

  private onEchoReply(msg: QnetdMessage): boolean {
    if (msg.seqNumber === undefined) {
      this.log('error', "Received echo reply message doesn't contain seq_number.");
      return false;
    }
    if (msg.seqNumber !== this.echoExpectedSeq) {
      this.log('warning', 'Received echo reply message seq_number is not expected one.');
      this.log('debug', 'Algorithm returned error. Disconnecting');
      return false;
    }
    this.echoReceivedSeq = msg.seqNumber;
    this.lastHeartbeatAt = this.now;
    return true;
  }

  // ---- votes ----------------------------------------------------------------------------------------------------

  /** Node list reply, ask for vote reply, vote info, heuristics change reply: a vote for a ring. */
  private onVoteMessage(msg: QnetdMessage): boolean {
    const isVoteInfo = msg.type === MsgType.voteInfo;
    const isNodeListReply = msg.type === MsgType.nodeListReply;
    const what = isVoteInfo
      ? 'vote info'
      : isNodeListReply
        ? 'node list reply'
        : msg.type === MsgType.askForVoteReply
          ? 'ask for vote reply'
          : 'heuristics change reply';
    if (this.stateValue !== 'connected') {
      this.log('error', `Received unexpected ${what} message. Disconnecting from server`);
      return false;
    }
    if (
      msg.vote === undefined ||
      msg.seqNumber === undefined ||
      msg.ringId === undefined ||
      (isNodeListReply && msg.nodeListType === undefined)
    ) {
      this.log('error', `Received ${what} message without required options. Disconnecting from server`);
      return false;
    }
    const ring = msg.ringId;
    const title =
      isNodeListReply && msg.nodeListType !== undefined ? `${NODE_LIST_TEXT[msg.nodeListType]} node list reply` : what;
    this.log('debug', `Received ${title}`);
    this.log('debug', `  seq = ${msg.seqNumber}`);
    this.log('debug', `  vote = ${VOTE_TEXT[msg.vote]}`);
    this.log('debug', `  ring id = (${ringText(ring)})`);
    this.noteServerVote(msg.vote);
    let vote: VoteCode = msg.vote;
    if (ring.nodeId !== this.lastSentRing.nodeId || ring.seq !== this.lastSentRing.seq) {
      this.log('debug', `Received ${what} with old ring id.`);
      vote = Vote.noChange;
    }
    this.log('debug', `Algorithm result vote is ${VOTE_TEXT[vote]}`);
    this.updateCastVote(vote);
    if (isVoteInfo) this.send({ type: MsgType.voteInfoReply, seqNumber: msg.seqNumber });
    return true;
  }
}

/** `preinitReply` → `preinit reply`, as corosync-qdevice names messages in its logs. */
function messageName(name: string): string {
  return name.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`);
}
