/**
 * Joining a new node to the running cluster (the seed's `pvecm add`), the member side (docs/reconfiguration.md
 * § Adding and removing nodes):
 * - `createToken` stores a one-time join token in the replicated store (`join-tokens/<id>.json`), so any member
 *   can redeem it and only one redemption wins (its removal is a write in agreed order).
 * - While a token exists (an expired one is kept an hour, then removed), every member listens for joiners (./join-protocol.ts) on its address of the
 *   lowest link, at that link's port over TCP; with no token, nothing listens.
 * - A joiner's request is checked (name, addresses, networks) and planned before the token is used, so a wrong
 *   request changes nothing; then the token is removed, the node is added to the nodelist with config_version
 *   bumped, and the committed config and the authkey go back over the encrypted channel.
 */
import {
  addNode,
  bumpConfigVersion,
  canonicalAddress,
  linkNetwork,
  parseConfig,
  printConfig,
} from '../config/index.ts';
import type { JoinTokenInfo } from '../ipc/methods.ts';
import type { CfsService } from './cfs-service.ts';
import type { ClusterConfigService } from './cluster-config.ts';
import type { NodeEngine } from './engine.ts';
import {
  createJoinToken,
  fingerprintOf,
  formatJoinToken,
  type JoinAnswer,
  type JoinErrorCode,
  type JoinRequest,
  JoinServer,
  type StoredJoinToken,
  storedTokenOf,
} from './join-protocol.ts';
import type { Logger } from './log.ts';
import { LogSummary } from './log-summary.ts';

const TOKEN_PREFIX = 'join-tokens/';
/** An expired token is kept this long (a late joiner is told "expired", not "unknown"), then removed. */
const EXPIRED_TOKEN_KEPT_MS = 3600 * 1000;
/** How long closing the join service waits for a join under way to be answered. */
const JOIN_ANSWER_GRACE_MS = 30_000;

/** Why a member refuses a join (the `reason` label of corolink_join_refused_total; docs/metrics.md). */
export const JOIN_REFUSALS = [
  'auth_failed',
  'expired',
  'unknown_token',
  'refused',
  'protocol',
  'timeout',
  'rate_limited',
  'connection_limit',
  'accept_failed',
] as const satisfies readonly JoinErrorCode[];

/** A refusal of `createToken`, with the admin-socket error code. */
export class JoinServiceError extends Error {
  constructor(
    readonly code: 'not_quorate' | 'refused' | 'bad_request',
    message: string,
  ) {
    super(message);
  }
}

const refuse = (code: JoinErrorCode, message: string): JoinAnswer => ({ ok: false, code, message });

export class JoinService {
  readonly counters = { tokensCreated: 0, joined: 0, refused: {} as Record<string, number> };
  private server: JoinServer | undefined;
  /** Opening or closing the listener, one at a time. */
  private listening: Promise<void> = Promise.resolve();
  /** Joins are handled one at a time: two joiners must not be given the same nodeid. */
  private joining: Promise<unknown> = Promise.resolve();
  private expiryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Unreadable token files being removed (one removal each, not one per store change). */
  private readonly purging = new Set<string>();
  /** Refusals are logged once per kind and source, then summed up (a flood of wrong secrets is one line per 10 s). */
  private readonly refusalLog = new LogSummary((message) => this.log('warning', message));

  constructor(
    private readonly engine: NodeEngine,
    private readonly cfs: CfsService,
    private readonly clusterConfig: ClusterConfigService,
    private readonly logger: Logger,
  ) {
    cfs.onChange(() => this.refresh());
    this.refresh();
  }

  /** Makes a one-time join token valid for `ttlMs`, stored cluster-wide. */
  async createToken(ttlMs: number): Promise<JoinTokenInfo> {
    const { address, port } = this.joinEndpoint();
    const expires = Date.now() + ttlMs;
    const token = createJoinToken({
      cluster: this.engine.checked.effective.totem.clusterName ?? '',
      fingerprint: fingerprintOf(this.authkey()),
      port,
      expires,
    });
    const stored = storedTokenOf(token, this.engine.localNodeId, Date.now());
    const result = await this.cfs.write({
      type: 'put',
      path: tokenPath(token.id),
      data: Buffer.from(JSON.stringify(stored)),
    });
    if (!result.ok)
      throw new JoinServiceError(result.code === 'not_quorate' ? 'not_quorate' : 'refused', result.message);
    this.counters.tokensCreated++;
    this.log('notice', `join token ${token.id} created, valid until ${new Date(expires).toISOString()}`);
    return {
      token: formatJoinToken(token),
      id: token.id,
      expires: new Date(expires).toISOString(),
      fingerprint: token.fingerprint,
      address,
      port,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.expiryTimer);
    this.refusalLog.close();
    await this.listening;
    await this.server?.close();
    this.server = undefined;
  }

  private authkey(): Uint8Array {
    return this.engine.options.authkey ?? new Uint8Array(0);
  }

  /** This node's address on its lowest link and that link's port. */
  private joinEndpoint(): { address: string; port: number } {
    const checked = this.engine.checked;
    const me = checked.config.nodes.find((n) => n.nodeid === this.engine.localNodeId);
    const [link] = [...checked.effective.links].sort((a, b) => a.link - b.link);
    const address = me?.addresses.find((a) => a.link === link?.link)?.address;
    if (link === undefined || address === undefined) {
      throw new JoinServiceError('refused', 'this node has no address on a configured link');
    }
    return { address, port: link.mcastport };
  }

  private tokens(): StoredJoinToken[] {
    return this.cfs.list(TOKEN_PREFIX).flatMap((entry) => {
      const stored = parseStored(this.cfs.get(entry.path)?.data);
      return stored === undefined ? [] : [stored];
    });
  }

  private lookup(id: string): StoredJoinToken | undefined {
    return parseStored(this.cfs.get(tokenPath(id))?.data);
  }

  /** Listens while a token exists (expired ones for EXPIRED_TOKEN_KEPT_MS); re-checks when the next one goes. */
  private refresh(): void {
    if (this.closed) return;
    const now = Date.now();
    const tokens = this.tokens();
    const kept = tokens.filter((t) => t.expires + EXPIRED_TOKEN_KEPT_MS > now);
    this.purgeExpired(tokens.filter((t) => !kept.includes(t)));
    this.purgeUnreadable();
    clearTimeout(this.expiryTimer);
    if (kept.length > 0) {
      const next = Math.min(...kept.map((t) => t.expires + EXPIRED_TOKEN_KEPT_MS)) - now;
      this.expiryTimer = setTimeout(() => this.refresh(), next + 10).unref();
    }
    this.listening = this.listening
      .then(() => (kept.length > 0 ? this.listen() : this.stopListening()))
      .catch((error: Error) => this.log('warning', `join service: ${error.message}`));
  }

  /** The node that made a token removes it once expired (writes need quorum; a later refresh retries). */
  private purgeExpired(expired: StoredJoinToken[]): void {
    for (const token of expired) {
      if (token.createdBy !== this.engine.localNodeId || !this.engine.stackSnapshot().quorum.quorate) continue;
      void this.cfs.write({ type: 'rm', path: tokenPath(token.id) }).then((result) => {
        if (result.ok) this.log('notice', `join token ${token.id} expired and was removed`);
      });
    }
  }

  /**
   * Token files in no format this version reads (an older one kept the secret itself, issue 15) can never be
   * used: the lowest node of the store's view removes them, so no node's copy keeps a secret.
   */
  private purgeUnreadable(): void {
    const view = this.cfs.core.view;
    if (view[0] !== this.engine.localNodeId || !this.engine.stackSnapshot().quorum.quorate) return;
    for (const { path } of this.cfs.list(TOKEN_PREFIX)) {
      if (parseStored(this.cfs.get(path)?.data) !== undefined || this.purging.has(path)) continue;
      this.purging.add(path);
      void this.cfs.write({ type: 'rm', path }).then((result) => {
        this.purging.delete(path);
        if (result.ok) this.log('notice', `removed ${path}: a join token in an old or unknown format, never usable`);
      });
    }
  }

  private async listen(): Promise<void> {
    if (this.server !== undefined || this.closed) return;
    const { address, port } = this.joinEndpoint();
    this.server = await JoinServer.listen({
      host: address,
      port,
      lookup: (id) => this.lookup(id),
      now: () => Date.now(),
      handle: async (request, tokenId) => {
        const answer = await this.serialized(() => this.handle(request, tokenId));
        // The protocol reports its own refusals (onRefused); the service's answers are counted here.
        if (!answer.ok) this.onRefused(answer.code, answer.message, `node ${request.name}`, request.name);
        return answer;
      },
      onRefused: (code, message, remote, source) => this.onRefused(code, message, remote, source),
    });
    this.log('notice', `join service listening on ${address}:${port}/tcp while a join token exists`);
  }

  private async stopListening(): Promise<void> {
    if (this.server === undefined) return;
    // Using up the last token closes the service while that join is still being answered: let it finish.
    await this.server.close({ graceMs: JOIN_ANSWER_GRACE_MS });
    this.server = undefined;
    this.log('notice', 'join service closed: no join token left');
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.joining.then(work, work);
    this.joining = run.catch(() => undefined);
    return run;
  }

  private onRefused(code: JoinErrorCode, message: string, remote: string, source: string): void {
    this.counters.refused[code] = (this.counters.refused[code] ?? 0) + 1;
    this.refusalLog.note(
      `${code} ${source}`,
      `join from ${remote} refused (${code}): ${message}`,
      (count, seconds) => `${count} more joins from ${source} refused (${code}) in the last ${seconds} s`,
    );
  }

  /** Checks the request, adds the node, uses the token up; nothing changes unless all of it succeeds. */
  private async handle(request: JoinRequest, tokenId: string): Promise<JoinAnswer> {
    if (!this.engine.stackSnapshot().quorum.quorate) {
      return refuse('refused', 'this member is not quorate: the cluster config cannot change now; try another member');
    }
    const problem = this.requestProblem(request);
    if (problem !== undefined) return refuse('refused', problem);
    // The joiner refuses an authkey that is not the one its token names: find that out before the node is added.
    const promised = this.lookup(tokenId)?.fingerprint;
    if (promised !== fingerprintOf(this.authkey())) {
      return refuse(
        'refused',
        `the cluster authkey changed since join token ${tokenId} was made (fingerprint ${promised} → ${fingerprintOf(this.authkey())}): make a new token`,
      );
    }
    const nodeId = Math.max(0, ...this.engine.checked.config.nodes.map((n) => n.nodeid ?? 0)) + 1;
    const { tree } = parseConfig(this.clusterConfig.text, 'corosync.conf');
    addNode(tree, {
      nodeid: nodeId,
      name: request.name,
      addresses: request.addresses,
      ...(request.votes === undefined ? {} : { quorumVotes: request.votes }),
    });
    bumpConfigVersion(tree);
    const text = printConfig(tree);
    const preview = await this.clusterConfig.propose(text, { dryRun: true });
    if (!preview.plan.ok) return refuse('refused', preview.plan.errors.join('; '));
    const used = await this.cfs.write({ type: 'rm', path: tokenPath(tokenId) });
    if (!used.ok) {
      return used.code === 'not_found'
        ? refuse('unknown_token', `join token ${tokenId} was used meanwhile`)
        : refuse('refused', used.message);
    }
    const { plan, committed } = await this.clusterConfig.propose(text);
    if (committed === null || !committed.ok) {
      return refuse('refused', committed?.message ?? plan.errors.join('; '));
    }
    this.counters.joined++;
    this.log(
      'notice',
      `node ${request.name} (nodeid ${nodeId}) added to the cluster with join token ${tokenId}: config_version ${this.engine.checked.effective.totem.configVersion}`,
    );
    return { ok: true, nodeId, configText: this.clusterConfig.text, authkey: this.authkey() };
  }

  /** Why the request cannot be admitted: a name or address in use, a missing or extra link, a wrong network. */
  private requestProblem(request: JoinRequest): string | undefined {
    const { config, effective } = this.engine.checked;
    if (config.nodes.some((n) => n.name === request.name))
      return `a node named '${request.name}' is already in the cluster`;
    const links = effective.links.map((l) => l.link);
    for (const link of Object.keys(request.addresses).map(Number)) {
      if (!links.includes(link)) return `the cluster has no link ${link} (its links: ${links.join(', ')})`;
    }
    for (const link of links) {
      const address = request.addresses[link];
      if (address === undefined)
        return `the cluster has link ${link}: give the new node an address on it (--link${link})`;
      const holder = config.nodes.find((n) =>
        n.addresses.some((a) => canonicalAddress(a.address) === canonicalAddress(address)),
      );
      if (holder !== undefined) return `address ${address} is already used by node ${holder.name ?? holder.nodeid}`;
      const peer = config.nodes.flatMap((n) => n.addresses.filter((a) => a.link === link))[0]?.address;
      const network = peer === undefined ? null : linkNetwork(peer);
      if (network !== null && linkNetwork(address) !== network) {
        return `address ${address} is not on link ${link}'s network ${network}`;
      }
    }
    return undefined;
  }

  private log(level: 'notice' | 'warning', message: string): void {
    this.logger.log(level, 'MAIN', message);
  }
}

function tokenPath(id: string): string {
  return `${TOKEN_PREFIX}${id}.json`;
}

/** A stored token, or undefined when the entry is missing or not one. */
function parseStored(data: Uint8Array | undefined): StoredJoinToken | undefined {
  if (data === undefined) return undefined;
  try {
    const value = JSON.parse(Buffer.from(data).toString('utf8')) as Partial<StoredJoinToken>;
    const { id, verifierHex, fingerprint, expires } = value;
    const complete =
      typeof id === 'string' &&
      typeof verifierHex === 'string' &&
      typeof fingerprint === 'string' &&
      typeof expires === 'number';
    return complete ? (value as StoredJoinToken) : undefined;
  } catch {
    return undefined;
  }
}
