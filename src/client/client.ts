/**
 * `CorolinkClient`: an application's connection to the local corolink daemon over the admin socket
 * (docs/contracts.md "Admin socket"; binary framing by default, JSON lines on request). Typed calls, event
 * subscriptions, CPG groups, bounded call timeouts, write backpressure, and reconnection with re-subscription and
 * re-join (docs/client.md).
 */
import { EventEmitter } from 'node:events';
import { accessSync, constants } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { GROUP_NAME_BYTES_MAX } from '../base/limits.ts';
import { STAGE_TRACE_ON, stamp } from '../base/stage-trace.ts';
import { appSocketPath, DEFAULT_SOCKET_PATH } from '../config/paths.ts';
import { binary } from '../ipc/binary.ts';
import { DAEMON_FRAME_BYTES_MAX, type FrameCodec, type FrameDecoder, type Message } from '../ipc/framing.ts';
import { jsonLines } from '../ipc/json-lines.ts';
import { bytesOf, isMethod, paramsProblem } from '../ipc/methods.ts';
import { BINARY_HELLO } from '../ipc/negotiate.ts';
import type {
  ClusterLinksV1,
  CmapV1,
  HaEventV1,
  LinkEvent,
  LinksV1,
  LogRecord,
  MembershipEvent,
  QdeviceStatusV1,
  QuorumEvent,
  QuorumV1,
  StatusV1,
} from '../ipc/schema.ts';
import { retryWhileBusy } from './busy-retry.ts';
import { type CfsFile, type CfsFileInfo, type CfsWriteResult, cfsGet, cfsLs, cfsPut, cfsRm } from './cfs.ts';
import type { ConfigProposal, ConfigText, ConfigVersionInfo, JoinTokenInfo } from './config.ts';
import {
  type CallAnswer,
  type CpgAddress,
  type CpgConfchg,
  CpgGroup,
  type CpgGroupHost,
  type CpgJoinOptions,
} from './cpg-group.ts';
import {
  BackpressureError,
  CallTimeoutError,
  ClientClosedError,
  type CorolinkError,
  DaemonRequestError,
  DaemonUnavailableError,
  InvalidArgumentError,
  ProtocolError,
} from './errors.ts';
import { HaClient } from './ha.ts';
import { QueuedIterator } from './queued-iterator.ts';

/** Where the daemon listens when neither an option nor COROLINK_SOCKET says otherwise. */
export { DEFAULT_SOCKET_PATH };
/** Default time a call waits for its answer. */
export const DEFAULT_CALL_TIMEOUT_MS = 10_000;
/** Default time a connection attempt may take. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** First reconnect delay; it doubles per failed attempt up to `reconnectMaxDelayMs`. */
export const DEFAULT_RECONNECT_INITIAL_DELAY_MS = 100;
/** Longest delay between two reconnect attempts. */
export const DEFAULT_RECONNECT_MAX_DELAY_MS = 5_000;
/** Unread events an iterator from `watch()` may hold before it fails with `EventOverflowError`. */
export const DEFAULT_MAX_QUEUED_EVENTS = 10_000;
/** Bytes the client may hold unsent (the socket said "wait") before new calls reject with `BackpressureError`. */
export const DEFAULT_MAX_UNSENT_BYTES = 8 * 1024 * 1024;

/** The admin socket's framings (docs/contracts.md "Framing"). */
export type Framing = 'binary' | 'json-lines';
const CODECS: Record<Framing, FrameCodec> = { binary, 'json-lines': jsonLines };

/** Event topics of the `subscribe` method. */
export type Topic = 'log' | 'link' | 'membership' | 'quorum' | 'ha';

/** Options of `CorolinkClient.connect()`. */
export interface ClientOptions {
  /**
   * The daemon's socket; always used when given. Default: the admin socket (`$COROLINK_SOCKET`, else
   * /run/corolink/corolink.sock) when this process may enter its folder (root, the daemon's user), else the
   * application socket beside it (/run/corolink-app/corolink.sock).
   */
  socket?: string;
  /** A call rejects with `CallTimeoutError` after this long (default 10 000 ms). */
  callTimeoutMs?: number;
  /** A connection attempt fails after this long (default 5 000 ms). */
  connectTimeoutMs?: number;
  /** Reconnect after the connection breaks (default true). The first `connect()` never retries. */
  reconnect?: boolean;
  /** First delay before a reconnect attempt (default 100 ms); doubles per failure, each delay jittered down to half. */
  reconnectInitialDelayMs?: number;
  /** Upper bound of the reconnect delay (default 5 000 ms). */
  reconnectMaxDelayMs?: number;
  /** Give up (emit `closed`) after this many failed attempts in a row (default: never give up). */
  maxReconnectAttempts?: number;
  /** Bound of each `watch()` iterator's queue (default 10 000). */
  maxQueuedEvents?: number;
  /** Bound of unsent bytes while the socket applies backpressure (default 8 MiB). */
  maxUnsentBytes?: number;
  /** The framing: `binary` (default; CPG and cfs data go raw) or `json-lines` (what the CLI and `socat` speak). */
  framing?: Framing;
}

/** Events of a `CorolinkClient`. */
export interface ClientEvents {
  /** The connection broke; pending calls were rejected with `DaemonUnavailableError`. */
  disconnected: [DaemonUnavailableError];
  /** A reconnect attempt is scheduled. */
  reconnecting: [{ attempt: number; delayMs: number }];
  /** Connected again; subscriptions were renewed and groups re-joined. */
  reconnected: [];
  /** The client is closed for good: `close()` was called (no argument) or reconnecting gave up. */
  closed: [CorolinkError | undefined];
  log: [LogRecord];
  link: [LinkEvent];
  membership: [MembershipEvent];
  quorum: [QuorumEvent];
  /** An HA state change (service or node), with the line the daemon's log shows after `[HA    ]`. */
  ha: [HaEventV1];
}

/**
 * The socket to connect to: the explicit one; else the admin socket (`$COROLINK_SOCKET`, else the default) when
 * `canEnter` its folder, else its application socket (docs/client.md, "Which socket").
 */
export function resolveSocketPath(
  explicit?: string,
  env: NodeJS.ProcessEnv = process.env,
  canEnter: (dir: string) => boolean = mayEnter,
): string {
  if (explicit) return explicit;
  const admin = env.COROLINK_SOCKET || DEFAULT_SOCKET_PATH;
  return canEnter(dirname(admin)) ? admin : appSocketPath(admin);
}

/** Whether this process may enter `dir`; a missing folder counts as yes (the error then names the admin socket). */
function mayEnter(dir: string): boolean {
  try {
    accessSync(dir, constants.X_OK);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'EACCES';
  }
}

interface PendingCall {
  method: string;
  answer: CallAnswer;
  /** performance.now() after which the call rejects with CallTimeoutError. */
  deadline: number;
}

type ConnectionState = 'open' | 'reconnecting' | 'closed';

/**
 * Tells `answer` of a request refused before it was sent, on the microtask queue as a rejected promise would:
 * the requester (a group's pump) is not re-entered.
 */
function refuse(answer: CallAnswer, error: Error): void {
  queueMicrotask(() => answer.reject(error));
}

const TOPICS: ReadonlySet<string> = new Set<Topic>(['log', 'link', 'membership', 'quorum', 'ha']);

/** Why a connection closed before the hello; on the application socket, what that usually means. */
const CLOSED_AT_HELLO =
  'the daemon closed the connection at the hello (the application socket does so for a user in no uidgid section)';

function describeSocketError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'no such socket (ENOENT)';
  if (code === 'ECONNREFUSED') return 'connection refused (ECONNREFUSED)';
  if (code === 'EACCES') return 'permission denied (EACCES)';
  if (code) return code;
  return error instanceof Error ? error.message : String(error);
}

/** The own address a `cpgJoin` answer carries (an older daemon answers `{ ok: true }` only: pid 0 then). */
function localAddressOf(result: unknown): CpgAddress {
  const { nodeid, pid } = (result ?? {}) as { nodeid?: unknown; pid?: unknown };
  return { nodeid: typeof nodeid === 'number' ? nodeid : 0, pid: typeof pid === 'number' ? pid : 0 };
}

/** A connection in its framing; `rest` is what the daemon sent after the hello. */
interface Opened {
  socket: Socket;
  rest: Buffer;
}

/**
 * Opens one Unix socket connection in the given framing, failing after `timeoutMs`. The binary framing is asked
 * for with the hello, and in use once the daemon sent the hello back.
 */
function openSocket(path: string, timeoutMs: number, framing: Framing): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let received = Buffer.alloc(0);
    const fail = (error: DaemonUnavailableError) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    const timer = setTimeout(() => {
      fail(new DaemonUnavailableError(path, `no connection within ${timeoutMs} ms`));
    }, timeoutMs);
    const opened = () => {
      clearTimeout(timer);
      socket.pause(); // until attach() listens: nothing the daemon sends may be lost in between
      socket.removeAllListeners('error');
      socket.removeAllListeners('data');
      socket.removeAllListeners('close');
      resolve({ socket, rest: received.subarray(BINARY_HELLO.length) });
    };
    let connected = false;
    socket.once('connect', () => {
      connected = true;
      if (framing === 'json-lines') return opened();
      socket.write(BINARY_HELLO);
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        const hello = received.subarray(0, BINARY_HELLO.length);
        if (!hello.equals(BINARY_HELLO.subarray(0, hello.length))) {
          fail(
            new DaemonUnavailableError(
              path,
              `the daemon does not speak the binary framing (it sent ${hello.toString('hex')})`,
            ),
          );
        } else if (hello.length === BINARY_HELLO.length) opened();
      });
      socket.once('close', () => fail(new DaemonUnavailableError(path, CLOSED_AT_HELLO)));
    });
    socket.once('error', (error) => {
      // Connected, then reset before the hello: the application socket closes on a user it does not admit.
      const reason = connected ? `${CLOSED_AT_HELLO} (${describeSocketError(error)})` : describeSocketError(error);
      fail(new DaemonUnavailableError(path, reason, { cause: error }));
    });
  });
}

/** A connection to the local corolink daemon. Create it with `CorolinkClient.connect()`. */
export class CorolinkClient extends EventEmitter<ClientEvents> {
  /** The admin socket path in use. */
  readonly socketPath: string;
  /** The HA managers: status, resource and group edits, migrate/relocate, maintenance, events (./ha.ts). */
  readonly ha: HaClient = new HaClient(
    (method, params) => this.call(method, params),
    (listener) => this.listen('ha', listener),
  );
  private readonly options: Required<Omit<ClientOptions, 'socket'>>;
  private readonly codec: FrameCodec;
  private socket: Socket | null = null;
  private state: ConnectionState = 'open';
  private decoder: FrameDecoder;
  /** Calls awaiting their answer, by id; in the order they were made, so the oldest deadline comes first. */
  private readonly pending = new Map<number, PendingCall>();
  /**
   * The one timer of every pending call's deadline, armed for the oldest (not a timer per call: a sender of 25k
   * messages/s made and cleared 25k timers a second, ≈ 5 % of its CPU per message in a profile).
   */
  private deadlineTimer: NodeJS.Timeout | null = null;
  private nextId = 1;
  private readonly unsent: Uint8Array[] = [];
  private unsentBytes = 0;
  private socketBlocked = false;
  private flushScheduled = false;
  private readonly topics = new Set<Topic | 'cpg'>();
  private readonly groups = new Map<string, CpgGroup>();
  /** Leaves sent after a join timed out (the daemon may have joined late), by group; a new join waits for them. */
  private readonly undoingJoins = new Map<string, Promise<void>>();
  private reconnectTimer: NodeJS.Timeout | null = null;
  private readonly groupHost: CpgGroupHost = {
    call: (method, params) => this.call(method, params),
    request: (method, params, answer) => this.request(method, params, answer),
    callRetryingBusy: (method, group) => this.callRetryingBusy(method, group),
    forgetGroup: (name) => this.groups.delete(name),
    maxQueuedEvents: 0, // set in the constructor, from the options
  };

  private constructor(socketPath: string, options: ClientOptions) {
    super();
    this.socketPath = socketPath;
    this.options = {
      callTimeoutMs: options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS,
      connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      reconnect: options.reconnect ?? true,
      reconnectInitialDelayMs: options.reconnectInitialDelayMs ?? DEFAULT_RECONNECT_INITIAL_DELAY_MS,
      reconnectMaxDelayMs: options.reconnectMaxDelayMs ?? DEFAULT_RECONNECT_MAX_DELAY_MS,
      maxReconnectAttempts: options.maxReconnectAttempts ?? Number.POSITIVE_INFINITY,
      maxQueuedEvents: options.maxQueuedEvents ?? DEFAULT_MAX_QUEUED_EVENTS,
      maxUnsentBytes: options.maxUnsentBytes ?? DEFAULT_MAX_UNSENT_BYTES,
      framing: options.framing ?? 'binary',
    };
    this.codec = CODECS[this.options.framing];
    this.decoder = this.codec.decoder(DAEMON_FRAME_BYTES_MAX);
    this.groupHost.maxQueuedEvents = this.options.maxQueuedEvents;
  }

  /** Connects to the daemon. Rejects with `DaemonUnavailableError` when it cannot be reached (no retry). */
  static async connect(options: ClientOptions = {}): Promise<CorolinkClient> {
    const client = new CorolinkClient(resolveSocketPath(options.socket), options);
    client.attach(await client.open());
    return client;
  }

  /** True while connected (false while reconnecting and after `close()`). */
  get connected(): boolean {
    return this.state === 'open';
  }

  /** The cluster state (`corolink status --json`). */
  status(): Promise<StatusV1> {
    return this.call('status', {}) as Promise<StatusV1>;
  }

  /** Every local link and every peer × link with its statistics. */
  links(): Promise<LinksV1> {
    return this.call('links', {}) as Promise<LinksV1>;
  }

  /** Every member's view of every peer × link, gathered through the ring (`corolink status --cluster`). */
  clusterLinks(): Promise<ClusterLinksV1> {
    return this.call('clusterLinks', {}) as Promise<ClusterLinksV1>;
  }

  /** votequorum's state and the members. */
  quorum(): Promise<QuorumV1> {
    return this.call('quorum', {}) as Promise<QuorumV1>;
  }

  /** The quorum device's state (`corosync-qdevice-tool -s`, `corolink qdevice status --json`). */
  qdeviceStatus(): Promise<QdeviceStatusV1> {
    return this.call('qdeviceStatus', {}) as Promise<QdeviceStatusV1>;
  }

  /** Sets expected votes (like `pvecm expected N`); resolves with the new quorum state. */
  async setExpected(votes: number): Promise<QuorumV1> {
    return (await this.call('setExpected', { votes })) as QuorumV1;
  }

  /** Sets a node's votes (default: this node's), like `corosync-quorumtool -v votes -n nodeid`. */
  async setVotes(votes: number, nodeid?: number): Promise<QuorumV1> {
    return (await this.call('setVotes', nodeid === undefined ? { votes } : { votes, nodeid })) as QuorumV1;
  }

  /** Asks the daemon to leave the cluster cleanly and exit (`corosync-cfgtool -H`); resolves once it accepted. */
  async shutdown(): Promise<void> {
    await this.call('shutdown', {});
  }

  /** Runtime keys as corosync-cmapctl shows them: every key under `prefix`, or exactly `key` (docs/cli.md). */
  cmap(options: { prefix?: string; key?: string } = {}): Promise<CmapV1> {
    return this.call('cmap', options) as Promise<CmapV1>;
  }

  /** Asks node `nodeid`, through the ring, to leave the cluster and exit (`corosync-cfgtool -k`). */
  async killNode(nodeid: number): Promise<void> {
    await this.call('killNode', { nodeid });
  }

  /** Enables or disables one of the local node's links (administrative, this node only). */
  async setLinkEnabled(link: number, enabled: boolean): Promise<{ link: number; enabled: boolean }> {
    return (await this.call('setLinkEnabled', { link, enabled })) as { link: number; enabled: boolean };
  }

  /** The last log lines held by the daemon, oldest first. */
  async logs(options: { lines?: number } = {}): Promise<LogRecord[]> {
    const result = (await this.call('logs', options.lines === undefined ? {} : { lines: options.lines })) as {
      lines: LogRecord[];
    };
    return result.lines;
  }

  /** The cluster config the daemon runs (or an earlier `version` from the history): its text and config_version. */
  configGet(version?: number): Promise<ConfigText> {
    return this.call('configGet', version === undefined ? {} : { version }) as Promise<ConfigText>;
  }

  /** Every stored version of the cluster config, oldest first (the running one marked `current`). */
  async configHistory(): Promise<ConfigVersionInfo[]> {
    return ((await this.call('configHistory', {})) as { versions: ConfigVersionInfo[] }).versions;
  }

  /**
   * Proposes a new cluster corosync.conf: the daemon plans it against the running config (what applies live, what
   * needs a restart, what is refused) and, unless refused or `dryRun`, commits it to the store, from which every
   * node applies it. Resolves with the plan; `applied` says whether it was committed.
   */
  configPropose(text: string, options: { force?: boolean; dryRun?: boolean } = {}): Promise<ConfigProposal> {
    return this.call('configPropose', {
      text,
      ...(options.force === undefined ? {} : { force: options.force }),
      ...(options.dryRun === undefined ? {} : { dry_run: options.dryRun }),
    }) as Promise<ConfigProposal>;
  }

  /** Makes a one-time join token valid for `ttlMs` (default: one hour), stored cluster-wide. */
  joinTokenCreate(ttlMs?: number): Promise<JoinTokenInfo> {
    return this.call('joinTokenCreate', ttlMs === undefined ? {} : { ttl_ms: ttlMs }) as Promise<JoinTokenInfo>;
  }

  /** The replicated store's files whose path starts with `prefix` (docs/cfs.md). */
  cfsLs(prefix?: string): Promise<CfsFileInfo[]> {
    return cfsLs((m, p) => this.call(m, p), prefix);
  }

  /** One file of the replicated store; rejects with code `not_found` when there is none. */
  cfsGet(path: string): Promise<CfsFile> {
    return cfsGet((m, p) => this.call(m, p), path);
  }

  /** Writes a file cluster-wide; resolves once committed on this node after ordering (`not_quorate` when read-only). */
  cfsPut(path: string, data: Uint8Array | string): Promise<CfsWriteResult> {
    return cfsPut((m, p) => this.call(m, p), path, data);
  }

  /** Removes a file cluster-wide; resolves once committed on this node after ordering. */
  cfsRm(path: string): Promise<CfsWriteResult> {
    return cfsRm((m, p) => this.call(m, p), path);
  }

  /** Calls `listener` for every quorum change; resolves, once subscribed, to a function that stops it. */
  onQuorum(listener: (event: QuorumEvent) => void): Promise<() => void> {
    return this.listen('quorum', listener);
  }

  /** Calls `listener` for every link state change of a peer. */
  onLink(listener: (event: LinkEvent) => void): Promise<() => void> {
    return this.listen('link', listener);
  }

  /** Calls `listener` for every Totem configuration change. */
  onMembership(listener: (event: MembershipEvent) => void): Promise<() => void> {
    return this.listen('membership', listener);
  }

  /** Calls `listener` for every log line of the daemon. */
  onLog(listener: (event: LogRecord) => void): Promise<() => void> {
    return this.listen('log', listener);
  }

  /**
   * The events of one topic as an async iterator (`for await (const q of await client.watch('quorum'))`).
   * Breaking out of the loop detaches it. A reader more than `maxQueuedEvents` behind gets `EventOverflowError`.
   */
  async watch<K extends Topic>(topic: K): Promise<AsyncIterableIterator<ClientEvents[K][0]>> {
    const listener = (event: ClientEvents[K][0]) => iterator.push(event);
    const onClosed = () => iterator.end();
    const iterator: QueuedIterator<ClientEvents[K][0]> = new QueuedIterator(topic, this.options.maxQueuedEvents, () => {
      this.off(topic, listener as never);
      this.off('closed', onClosed);
    });
    this.on(topic, listener as never);
    this.on('closed', onClosed);
    try {
      await this.subscribe(topic);
    } catch (error) {
      await iterator.return();
      throw error;
    }
    return iterator;
  }

  /**
   * Joins a CPG group (one `CpgGroup` per name per client). The group receives `message` and `confchg`
   * events from the moment of the join; it is re-joined automatically after a reconnect (a failed re-join closes
   * it with an `error` event). `delivery` chooses agreed (default) or safe delivery for the messages this process
   * sends to the group. A daemon busy with a sync is asked again for up to `callTimeoutMs`, then `BackpressureError`.
   */
  async cpgJoin(name: string, options: CpgJoinOptions = {}): Promise<CpgGroup> {
    const { delivery = 'agreed' } = options;
    if (delivery !== 'agreed' && delivery !== 'safe') {
      throw new InvalidArgumentError(`delivery is 'agreed' or 'safe', got ${String(delivery)}`);
    }
    const bytes = Buffer.byteLength(name, 'utf8');
    if (bytes === 0 || bytes > GROUP_NAME_BYTES_MAX) {
      throw new InvalidArgumentError(`a group name is 1 to ${GROUP_NAME_BYTES_MAX} bytes, got ${bytes}`);
    }
    await this.undoingJoins.get(name);
    await this.subscribe('cpg');
    // After the waits: of two joins of one name started together, the one that gets here second is refused.
    if (this.groups.has(name)) throw new InvalidArgumentError(`this client already joined group ${name}`);
    // Registered before the answer: the confchg of the own join may come first; its events are held till then.
    const group = new CpgGroup(name, this.groupHost, { nodeid: 0, pid: 0 }, delivery);
    this.groups.set(name, group);
    try {
      group.rejoined(localAddressOf(await this.callRetryingBusy('cpgJoin', name)));
    } catch (error) {
      this.groups.delete(name);
      group.markClosed();
      this.undoJoinAfterTimeout(name, error);
      throw error;
    }
    group.release();
    return group;
  }

  /** Every CPG group with members on the cluster as the daemon sees it (libcpg's cpg_iteration, corosync-cpgtool). */
  async cpgGroups(): Promise<{ group: string; members: CpgAddress[] }[]> {
    return ((await this.call('cpgGroups', {})) as { groups: { group: string; members: CpgAddress[] }[] }).groups;
  }

  /**
   * Closes the connection for good: pending calls reject with `ClientClosedError`, groups are closed. Resolves
   * once the socket is closed.
   */
  close(): Promise<void> {
    const socket = this.socket;
    if (this.state !== 'closed') this.shutDown(undefined);
    if (!socket || socket.closed) return Promise.resolve();
    return new Promise((resolve) => socket.once('close', () => resolve()));
  }

  /** `await using client = await CorolinkClient.connect()`: closes at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Sends one request and resolves with its result. Rejects with `DaemonRequestError` (the daemon's code),
   * `CallTimeoutError`, `DaemonUnavailableError`, `BackpressureError` (unsent bytes over the bound) or
   * `ClientClosedError`. The typed methods above are the usual way in; this one reaches any contract method.
   */
  call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    return new Promise((resolve, reject) => this.request(method, params, { resolve, reject }));
  }

  /**
   * `call` without a promise: `answer` is told the result or the error, never before `request` returned. The CPG
   * data path's way in: a group's send is its own answer, no promise and closures per message between the group
   * and the socket.
   */
  private request(method: string, params: Record<string, unknown>, answer: CallAnswer): void {
    const refusal = this.refusalOf(method, params);
    if (refusal !== undefined) {
      refuse(answer, refusal);
      return;
    }
    const id = this.nextId++;
    const frame = this.codec.encode([{ id, method, params }]);
    let bytes = 0;
    for (const piece of frame) bytes += piece.byteLength;
    if (this.unsentBytes + bytes > this.options.maxUnsentBytes) {
      refuse(answer, new BackpressureError(`${this.unsentBytes} bytes wait for the socket to drain; retry later`));
      return;
    }
    this.pending.set(id, { method, answer, deadline: performance.now() + this.options.callTimeoutMs });
    this.armDeadline();
    this.write(frame, bytes);
  }

  /** Why a request cannot be sent now (the connection's state, or params the daemon would refuse), if it cannot. */
  private refusalOf(method: string, params: Record<string, unknown>): Error | undefined {
    if (this.state === 'closed') return new ClientClosedError();
    if (this.state !== 'open') return new DaemonUnavailableError(this.socketPath, 'not connected (reconnecting)');
    // The contract's own check (src/ipc): what the daemon would refuse is refused here, before anything is sent.
    const problem = isMethod(method) ? paramsProblem(method, params) : undefined;
    return problem === undefined ? undefined : new InvalidArgumentError(`${method}: ${problem}`);
  }

  /** Arms the deadline timer for the oldest pending call, unless it is armed (it re-arms itself when it fires). */
  private armDeadline(): void {
    if (this.deadlineTimer !== null) return;
    const oldest = this.pending.values().next();
    if (oldest.done) return;
    this.deadlineTimer = setTimeout(this.expireCalls, Math.max(0, oldest.value.deadline - performance.now()));
  }

  /** Rejects every call past its deadline (the oldest first: ids and deadlines grow together), then re-arms. */
  private readonly expireCalls = (): void => {
    this.deadlineTimer = null;
    const now = performance.now();
    for (const [id, call] of this.pending) {
      if (call.deadline > now) break;
      this.pending.delete(id);
      call.answer.reject(new CallTimeoutError(call.method, this.options.callTimeoutMs));
    }
    this.armDeadline();
  };

  /**
   * A CPG join or leave, sent again while the daemon answers it is busy (CPG's queue for the end of a sync is full),
   * for up to `callTimeoutMs` (./busy-retry.ts). Only on the connection it started on: one that outlived its
   * connection (a re-join of the previous one) must not act on the next.
   */
  private callRetryingBusy(method: 'cpgJoin' | 'cpgLeave', group: string): Promise<unknown> {
    const socket = this.socket;
    const attempt = () =>
      this.socket === socket
        ? this.call(method, { group })
        : Promise.reject(new DaemonUnavailableError(this.socketPath, 'the connection changed while retrying'));
    return retryWhileBusy(attempt, this.options.callTimeoutMs, `${method} of group ${group}`, group);
  }

  private async listen<K extends Topic>(topic: K, listener: (event: ClientEvents[K][0]) => void): Promise<() => void> {
    this.on(topic, listener as never);
    try {
      await this.subscribe(topic);
    } catch (error) {
      this.off(topic, listener as never);
      throw error;
    }
    return () => {
      this.off(topic, listener as never);
    };
  }

  /**
   * A join that got no answer in time may still have been made by the daemon (it was queued behind a sync, say):
   * this process would then be a member it does not know of — counted in every confchg, and its next join of the
   * group refused as existing. So it leaves the group, on the same connection (after the join), ignoring the
   * refusal that says it was not a member. Any other failure means the daemon did not join it: a refusal, or a
   * lost connection (the daemon drops the connection's groups with it).
   */
  private undoJoinAfterTimeout(name: string, error: unknown): void {
    if (!(error instanceof CallTimeoutError) || this.undoingJoins.has(name)) return;
    const undone = this.callRetryingBusy('cpgLeave', name).then(
      () => undefined,
      () => undefined,
    );
    this.undoingJoins.set(name, undone);
    void undone.then(() => this.undoingJoins.delete(name));
  }

  /** Adds a topic to the daemon-side subscription (the whole set is sent, so the call is idempotent). */
  private async subscribe(topic: Topic | 'cpg'): Promise<void> {
    if (this.topics.has(topic)) return;
    this.topics.add(topic);
    try {
      await this.call('subscribe', { topics: [...this.topics] });
    } catch (error) {
      this.topics.delete(topic);
      throw error;
    }
  }

  private open(): Promise<Opened> {
    return openSocket(this.socketPath, this.options.connectTimeoutMs, this.options.framing);
  }

  private attach({ socket, rest }: Opened): void {
    this.socket = socket;
    this.state = 'open';
    this.socketBlocked = false;
    this.decoder = this.codec.decoder(DAEMON_FRAME_BYTES_MAX);
    socket.on('data', (chunk: Buffer) => {
      if (STAGE_TRACE_ON) stamp(`client.data ${this.socketPath}`);
      this.receive(chunk);
    });
    socket.on('drain', () => {
      this.socketBlocked = false;
      this.flush();
    });
    socket.on('error', () => {
      // The 'close' event that follows reports the loss; the error itself needs no other handling.
    });
    socket.on('close', () => {
      if (this.socket === socket) this.connectionLost('connection closed');
    });
    if (rest.length > 0) this.receive(rest);
    socket.resume();
  }

  /**
   * Queues a frame; the frames of this turn are written together once it ends (process.nextTick: a group's burst
   * of sends is one socket write, not one per send).
   */
  private write(frame: Uint8Array[], bytes: number): void {
    this.unsent.push(...frame);
    this.unsentBytes += bytes;
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(this.flush);
  }

  /** Writes as much as the socket accepts, in one write; stops when `write()` returns false until 'drain'. */
  private readonly flush = (): void => {
    this.flushScheduled = false;
    const socket = this.socket;
    if (!socket || this.socketBlocked || this.unsent.length === 0) return;
    if (STAGE_TRACE_ON) stamp(`client.flush ${this.socketPath}`);
    socket.cork();
    while (!this.socketBlocked && this.unsent.length > 0) {
      const piece = this.unsent.shift()!;
      this.unsentBytes -= piece.byteLength;
      this.socketBlocked = !socket.write(piece);
    }
    socket.uncork();
  };

  private receive(chunk: Buffer): void {
    let decoded: ReturnType<FrameDecoder['push']>;
    try {
      decoded = this.decoder.push(chunk);
    } catch (error) {
      this.dropConnection(new ProtocolError(`the daemon sent ${(error as Error).message}`).message);
      return;
    }
    for (const item of decoded) {
      if ('problem' in item) {
        this.dropConnection(new ProtocolError(`the daemon sent ${item.problem}`).message);
        return;
      }
      this.handleMessage(item.message);
    }
  }

  private handleMessage(message: Message): void {
    const record = message as { id?: unknown; event?: unknown; data?: unknown; result?: unknown; error?: unknown };
    if (typeof record.event === 'string') {
      this.dispatchEvent(record.event, record.data);
      return;
    }
    if (typeof record.id !== 'number') return; // `{"id": null, "error": …}`: the daemon could not read a line of ours
    const call = this.pending.get(record.id);
    if (!call) return; // answer to a call that already timed out
    this.pending.delete(record.id);
    if (record.error !== undefined) {
      const error = record.error as { code?: unknown; message?: unknown };
      call.answer.reject(
        new DaemonRequestError(
          typeof error.code === 'string' ? error.code : 'internal',
          typeof error.message === 'string' ? error.message : `${call.method} failed`,
          call.method,
        ),
      );
    } else call.answer.resolve(record.result);
  }

  private dispatchEvent(event: string, data: unknown): void {
    if (TOPICS.has(event)) {
      this.emit(event as Topic, data as never);
      return;
    }
    const payload = data as { group?: string; nodeid: number; pid: number; data: Uint8Array | string } & CpgConfchg;
    const group = typeof payload?.group === 'string' ? this.groups.get(payload.group) : undefined;
    if (!group) return;
    if (event === 'cpgDeliver') {
      group.deliver({ nodeid: payload.nodeid, pid: payload.pid, data: bytesOf(payload.data ?? '') });
    } else if (event === 'cpgConfchg') {
      group.confchg({ members: payload.members ?? [], left: payload.left ?? [], joined: payload.joined ?? [] });
    }
  }

  /**
   * Ends a connection we can no longer trust (garbage from the daemon, a renewal it refused); the loss is handled
   * as a disconnect, the next reconnect attempt being `nextAttempt`.
   */
  private dropConnection(reason: string, nextAttempt = 1): void {
    const socket = this.socket;
    if (!socket) return;
    this.connectionLost(reason, nextAttempt);
    socket.destroy();
  }

  /** `nextAttempt`: the reconnect attempt to schedule (1 unless a renewal after a reconnect failed). */
  private connectionLost(reason: string, nextAttempt = 1): void {
    if (this.state !== 'open') return;
    this.socket = null;
    this.unsent.length = 0;
    this.unsentBytes = 0;
    const error = new DaemonUnavailableError(this.socketPath, reason);
    this.rejectPending(error);
    if (!this.options.reconnect) {
      this.emit('disconnected', error);
      this.shutDown(error);
      return;
    }
    this.state = 'reconnecting';
    this.emit('disconnected', error);
    this.scheduleReconnect(nextAttempt);
  }

  private scheduleReconnect(attempt: number): void {
    if (this.state !== 'reconnecting') return;
    if (attempt > this.options.maxReconnectAttempts) {
      this.shutDown(new DaemonUnavailableError(this.socketPath, `gave up after ${attempt - 1} reconnect attempts`));
      return;
    }
    const ceilingMs = Math.min(
      this.options.reconnectInitialDelayMs * 2 ** (attempt - 1),
      this.options.reconnectMaxDelayMs,
    );
    // Jittered (between half and all of the back-off): clients of one restarted daemon do not come back in step.
    const delayMs = Math.round(ceilingMs * (0.5 + Math.random() / 2));
    this.emit('reconnecting', { attempt, delayMs });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.reconnect(attempt);
    }, delayMs);
  }

  private async reconnect(attempt: number): Promise<void> {
    let opened: Opened;
    try {
      opened = await this.open();
    } catch {
      this.scheduleReconnect(attempt + 1);
      return;
    }
    if (this.state !== 'reconnecting') {
      opened.socket.destroy();
      return;
    }
    this.attach(opened);
    const socket = opened.socket;
    try {
      if (this.topics.size > 0) await this.call('subscribe', { topics: [...this.topics] });
    } catch (error) {
      // Broken again during the renewal: connectionLost() already scheduled the next attempt. Refused or unanswered
      // on a live connection: it would carry none of the events subscribed to, so it is dropped and renewed later.
      if (this.socket === socket)
        this.dropConnection(`re-subscribing failed: ${(error as Error).message}`, attempt + 1);
      return;
    }
    const failed: [CpgGroup, CorolinkError][] = [];
    for (const [name, group] of [...this.groups]) {
      if (group.closed) continue; // left meanwhile
      try {
        group.rejoined(localAddressOf(await this.callRetryingBusy('cpgJoin', name)));
      } catch (error) {
        if (this.socket !== socket) break; // broke again: the next attempt re-joins the groups still here
        // Refused, busy beyond the retries, or unanswered: this process is not in the group, and must know it.
        this.groups.delete(name);
        this.undoJoinAfterTimeout(name, error);
        failed.push([group, error as CorolinkError]);
      }
    }
    if (this.socket === socket) this.emit('reconnected');
    // Last: a group nobody listens to for `error` throws here (Node's rule), after the others were renewed.
    for (const [group, error] of failed) group.rejoinFailed(error);
  }

  private rejectPending(error: Error): void {
    if (this.deadlineTimer !== null) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = null;
    const calls = [...this.pending.values()];
    this.pending.clear();
    // After the caller (connectionLost, shutDown) set the new state, as rejected promises would: a group told of
    // its failed send hands over the next one, which must meet that state, not the connection just lost.
    queueMicrotask(() => {
      for (const call of calls) call.answer.reject(error);
    });
  }

  private shutDown(error: CorolinkError | undefined): void {
    this.state = 'closed';
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.rejectPending(new ClientClosedError());
    for (const group of this.groups.values()) group.markClosed();
    this.groups.clear();
    const socket = this.socket;
    this.socket = null;
    socket?.destroy();
    this.emit('closed', error);
  }
}
