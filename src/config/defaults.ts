/**
 * Every default and derived value, in one place, computed as corosync 3 computes it
 * (exec/totemconfig.h constants; exec/totemconfig.c `totem_volatile_config_read()` and
 * `totem_calc_knet_ping_timers()`; exec/votequorum.c for quorum), plus corolink's documented deviations:
 * corolink's link-timer profiles (lean, fast), a failback hold-down and an early token hold. docs/config.md has the same table.
 */
import { MESSAGE_BYTES_MAX, NICE_MAX, NICE_MIN } from '../base/limits.ts';
import type { ClusterConfig, InterfaceConfig } from './model.ts';
import type { KnetTransport, LinkMode, PingProfile, Transport } from './schema.ts';

/** totemconfig.h TOKEN_TIMEOUT: base token-loss timeout. */
export const DEFAULT_TOKEN_MS = 3000;
/** totemconfig.h TOKEN_COEFFICIENT: added per node above 2 (Proxmox ≥ 9.2 writes 125). */
export const DEFAULT_TOKEN_COEFFICIENT_MS = 650;
/** totemconfig.h TOKEN_RETRANSMITS_BEFORE_LOSS_CONST. */
export const DEFAULT_TOKEN_RETRANSMITS_BEFORE_LOSS = 4;
/** token_retransmit = token / (retransmits + 0.2) (totemconfig.c). */
const TOKEN_RETRANSMIT_DIVISOR_EXTRA = 0.2;
/** hold = token_retransmit × 0.8 − 1000/HZ with HZ = 100 (totemconfig.c). */
const HOLD_FACTOR = 0.8;
/** 1000/HZ subtracted from the hold timeout (HZ = 100). */
const HOLD_TICK_MS = 10;
/** consensus = 1.2 × token (totemconfig.c). */
const CONSENSUS_FACTOR = 1.2;
/** totemconfig.h JOIN_TIMEOUT. */
export const DEFAULT_JOIN_MS = 50;
/**
 * corolink: the default join interval (how often a gathering node re-sends its JOIN to every peer) is sized for
 * this many nodes and grows with the ring: join = 50 ms × ⌈nodes / 8⌉ (docs/totem.md § JOIN at scale).
 */
export const JOIN_NODES_PER_DEFAULT_INTERVAL = 8;
/** totemconfig.h MERGE_TIMEOUT. */
export const DEFAULT_MERGE_MS = 200;
/** totemconfig.h DOWNCHECK_TIMEOUT. */
export const DEFAULT_DOWNCHECK_MS = 1000;
/** totemconfig.h FAIL_TO_RECV_CONST. */
export const DEFAULT_FAIL_TO_RECV_CONST = 2500;
/**
 * corolink: idle token rotations before the representative holds the token (totemconfig.h SEQNO_UNCHANGED_CONST
 * is 30): 0 holds it at the first idle arrival (one more after a safe message). Spinning empty tokens cost each
 * node CPU that clients needed (docs/totem.md § Token hold).
 */
export const DEFAULT_SEQNO_UNCHANGED_CONST = 0;
/** totemconfig.h MAX_NETWORK_DELAY. */
export const DEFAULT_MAX_NETWORK_DELAY_MS = 50;
/** totemconfig.h WINDOW_SIZE. */
export const DEFAULT_WINDOW_SIZE = 50;
/** totemconfig.h MAX_MESSAGES. */
export const DEFAULT_MAX_MESSAGES = 17;
/** totemconfig.h MISS_COUNT_CONST. */
export const DEFAULT_MISS_COUNT_CONST = 5;
/** totemconfig.h TOKEN_WARNING (% of the token timeout). */
export const DEFAULT_TOKEN_WARNING_PCT = 75;
/** totemconfig.c: netmtu for knet. */
export const DEFAULT_KNET_NETMTU = 65_536;
/**
 * corolink: the link MTU (transport frame budget) when knet_mtu is 0, where knet discovers the path MTU (corolink
 * does not yet): a 1500-byte Ethernet MTU minus IPv4/UDP and crypto overhead, rounded down.
 */
export const DEFAULT_LINK_MTU = 1400;
/** totemconfig.h MINIMUM_TIMEOUT: (1000/HZ) × 3. token, token_retransmit, join, consensus, merge, downcheck, max_network_delay. */
export const TIMEOUT_MS_MIN = 30;
/** totemconfig.h MINIMUM_TIMEOUT_HOLD. */
export const HOLD_MS_MIN = 14;
/** totemconfig.c: knet_pong_count default (libknet's own is 5). */
export const DEFAULT_PONG_COUNT = 2;
/** knet ping_precision default (latency samples). */
export const DEFAULT_PING_PRECISION = 2048;
/** totemconfig.c: knet_link_priority default; 0 is treated as 1. */
export const DEFAULT_LINK_PRIORITY = 1;
/** totemconfig.h DEFAULT_PORT: link N listens on 5405 + N. */
export const DEFAULT_MCASTPORT = 5405;
/** votequorum.c: default votes of a node. */
export const DEFAULT_QUORUM_VOTES = 1;
/** votequorum.c DEFAULT_LMS_WIN: last_man_standing_window default. */
export const DEFAULT_LAST_MAN_STANDING_WINDOW_MS = 10_000;
/** votequorum.h VOTEQUORUM_QDEVICE_DEFAULT_TIMEOUT: quorum.device.timeout. */
export const DEFAULT_QDEVICE_TIMEOUT_MS = 10_000;
/** votequorum.h VOTEQUORUM_QDEVICE_DEFAULT_SYNC_TIMEOUT: quorum.device.sync_timeout. */
export const DEFAULT_QDEVICE_SYNC_TIMEOUT_MS = 30_000;
/** corosync-qdevice: quorum.device.net.port (corosync-qnetd's port). */
export const DEFAULT_QDEVICE_NET_PORT = 5403;
/** corosync-qdevice: quorum.device.net.algorithm. */
export const DEFAULT_QDEVICE_NET_ALGORITHM = 'ffsplit';
/** corosync-qdevice: quorum.device.net.tie_breaker. */
export const DEFAULT_QDEVICE_NET_TIE_BREAKER = 'lowest' as const;
/** corosync-qdevice: quorum.device.net.tls. */
export const DEFAULT_QDEVICE_NET_TLS = 'on';
/**
 * corosync-qdevice.8: the qnetd heartbeat and quorum.device.net.connect_timeout default to 0.8 × quorum.device.timeout
 * (qdevice_net_instance_init_from_cmap) …
 */
export const QDEVICE_NET_CONNECT_TIMEOUT_FACTOR = 0.8;
/** … and the device polls votequorum every 0.5 × quorum.device.timeout (cast_vote_timer_interval). */
export const QDEVICE_CAST_VOTE_INTERVAL_FACTOR = 0.5;
/** The name corosync-qdevice registers its device under in votequorum (QDEVICE_VOTEQUORUM_DEVICE_NAME). */
export const QDEVICE_NAME = 'Qdevice';
/** corolink { ping_profile }: lean by default (docs/transport.md § Ping timers that follow the cluster size). */
export const DEFAULT_PING_PROFILE: PingProfile = 'lean';
/**
 * corolink fast profile (`ping_profile: fast`: detection of silent faults in a quarter second, at about four times
 * an idle corosync's CPU). The ping timeout follows the effective token timeout as corosync's does (so it grows by
 * token_coefficient per node), at 1/16 of it instead of 1/pong_count …
 */
export const FAST_PING_TIMEOUT_TOKEN_DIVISOR = 16;
/** … never below 250 ms: a small cluster notices a pulled cable in ≤ 0.3 s … */
export const FAST_PING_TIMEOUT_MS = 250;
/**
 * … a quiet link is pinged 5 times per timeout (corosync: 2), a link carrying our data 3 times as often
 * (src/transport/limits.ts BUSY_PING_RATE_MULTIPLIER). 5, not 4: a quiet link's round trips are echoes, dated back by
 * up to an interval, so it takes one more ping per timeout to survive as many lost heartbeats as pongs did at 4
 * (docs/transport.md § Echo pings) …
 */
export const FAST_PINGS_PER_TIMEOUT = 5;
/** … (the small-cluster interval: 50 ms) … */
export const FAST_PING_INTERVAL_MS = Math.trunc(FAST_PING_TIMEOUT_MS / FAST_PINGS_PER_TIMEOUT);
/** … and up again after 2 pongs (both corolink profiles). */
export const PROFILE_PONG_COUNT = 2;
/**
 * corolink lean profile (the default): corosync's ping timeout, token / pong_count with pong_count 2, so a silent
 * fault (a switch port that stops forwarding, a crashed host) is noticed when corosync notices it, while a pulled cable
 * or a dead NIC is noticed at once from the carrier (docs/transport.md § Carrier) …
 */
export const LEAN_PING_TIMEOUT_TOKEN_DIVISOR = 2;
/**
 * … a quiet link pinged 4 times per timeout with echo pings (one datagram per peer × link per interval each way):
 * an idle daemon sends and receives about as many datagrams as corosync's, and uses no more CPU (bench:idle,
 * docs/benchmarks.md § Idle cost: 0.14 s per 30 s against corosync's 0.16, where 5 per timeout cost 0.18).
 */
export const LEAN_PINGS_PER_TIMEOUT = 4;
/** corosync.conf(5) `system.sched_rr`: try real-time round robin scheduling at the highest priority. */
export const DEFAULT_SCHED_RR = true;
/** corosync.conf(5): "When setting of scheduler fails, fallback to set maximal priority" (`system.priority` unset). */
export const SCHED_RR_FALLBACK_NICE = NICE_MIN;
/** corolink: passive mode waits this long before returning traffic to a recovered better link. */
export const DEFAULT_FAILBACK_HOLD_MS = 2000;
/**
 * corolink: a node keeps an arriving token up to this long while its own clients' burst fills a pack (Totem's
 * `burstHoldMs`, docs/totem.md "Burst hold"); the daemon's timers fire on whole ms, so a hold lasts up to ≈ 2 ms.
 */
export const DEFAULT_BURST_HOLD_MS = 1;
/**
 * corolink: the largest corosync.conf read or proposed. A nodelist of hundreds of nodes is tens of KiB; the file must
 * also fit a join answer (256 KiB) and a store file. Checked before parsing, so a huge file costs no time or memory.
 */
export const CONFIG_FILE_BYTES_MAX = 256 * 1024;
/**
 * corolink HA: a resource's process group being stopped gets SIGTERM, and SIGKILL after this long. The
 * margin of the recovery delay covers it: a fenced node's services are gone by its fence deadline + this.
 */
export const DEFAULT_HA_KILL_GRACE_MS = 250;

/** Link timers as one profile computes them. */
export interface LinkTimers {
  pingIntervalMs: number;
  pingTimeoutMs: number;
  pongCount: number;
}

/** One knet link as the daemon runs it. */
export interface EffectiveLink extends LinkTimers {
  link: number;
  priority: number;
  pingPrecision: number;
  mcastport: number;
  transport: KnetTransport;
  /** 0 = PMTU discovery. */
  mtu: number;
  /** What corosync would use for the same link (differs under corolink's lean and fast profiles). */
  corosync: LinkTimers;
}

/** Totem timers and limits, effective values (identical to corosync's). */
export interface EffectiveTotem {
  clusterName: string | null;
  configVersion: number;
  transport: Transport;
  linkMode: LinkMode;
  ipVersion: string;
  /** The configured token before token_coefficient. */
  baseTokenMs: number;
  tokenCoefficientMs: number;
  /** token + (nodes − 2) × token_coefficient for 3+ nodes. */
  tokenMs: number;
  tokenRetransmitMs: number;
  tokenRetransmitsBeforeLossConst: number;
  holdMs: number;
  joinMs: number;
  sendJoinMs: number;
  consensusMs: number;
  mergeMs: number;
  downCheckMs: number;
  failToRecvConst: number;
  seqnoUnchangedConst: number;
  maxNetworkDelayMs: number;
  maxMessages: number;
  windowSize: number;
  missCountConst: number;
  tokenWarningPct: number;
  netmtu: number;
}

/** Effective crypto as totem_get_crypto() resolves secauth/crypto_cipher/crypto_hash. */
export interface EffectiveCrypto {
  model: string;
  cipher: string;
  hash: string;
  /** corolink { allow_crypto_none }. */
  allowNone: boolean;
}

/** One node as the cluster sees it. */
export interface EffectiveNode {
  nodeId: number | null;
  name: string | null;
  votes: number;
  addresses: Record<number, string>;
}

/** Effective votequorum settings. */
export interface EffectiveQuorum {
  provider: string | null;
  totalVotes: number;
  expectedVotes: number;
  /** Votes needed for quorum: a majority of expected votes, or 1 in two_node mode. */
  quorumVotes: number;
  twoNode: boolean;
  waitForAll: boolean;
  lastManStanding: boolean;
  lastManStandingWindowMs: number;
  autoTieBreaker: boolean;
  autoTieBreakerNode: string;
  /** `quorum { device { } }` with a model; null without a device. */
  device: EffectiveQuorumDevice | null;
}

/** The quorum device with its defaults (votequorum.c and corosync-qdevice.8). */
export interface EffectiveQuorumDevice {
  model: string;
  /** `votes`, or the nodelist's votes - 1 when unset (votequorum's automatic device votes). */
  votes: number;
  /** Whether `votes` was written (votequorum refuses some configurations without it). */
  votesSet: boolean;
  timeoutMs: number;
  syncTimeoutMs: number;
  net: {
    host: string | null;
    port: number;
    algorithm: 'ffsplit' | 'lms' | '2nodelms' | 'test';
    /** `lowest`, `highest` or a node id (an invalid value is reported by validation and read as lowest). */
    tieBreaker: 'lowest' | 'highest' | number;
    tls: 'on' | 'off' | 'required';
    connectTimeoutMs: number;
  };
}

/** How the daemon asks to be scheduled (`system { sched_rr priority }`, applied at start). */
export interface EffectiveScheduling {
  schedRr: boolean;
  /** `system.priority` as a nice value; null when unset (or invalid: validation reports it). */
  nice: number | null;
}

/** Everything the layers above need, defaults applied and derived values computed. */
export interface EffectiveConfig {
  totem: EffectiveTotem;
  links: EffectiveLink[];
  nodes: EffectiveNode[];
  quorum: EffectiveQuorum;
  crypto: EffectiveCrypto;
  pingProfile: PingProfile;
  failbackHoldMs: number;
  burstHoldMs: number;
  maxMessageBytes: number;
  scheduling: EffectiveScheduling;
}

/** corosync's effective token: token + (nodes − 2) × coefficient when the nodelist has 3 or more nodes. */
export function effectiveTokenMs(baseTokenMs: number, coefficientMs: number, nodeCount: number): number {
  return nodeCount > 2 ? baseTokenMs + (nodeCount - 2) * coefficientMs : baseTokenMs;
}

/** corosync's derived token_retransmit: token / (token_retransmits_before_loss_const + 0.2), truncated. */
export function derivedTokenRetransmitMs(tokenMs: number, retransmits = DEFAULT_TOKEN_RETRANSMITS_BEFORE_LOSS): number {
  return Math.trunc(tokenMs / (retransmits + TOKEN_RETRANSMIT_DIVISOR_EXTRA));
}

/** corosync's derived consensus: 1.2 × token, truncated. */
export function derivedConsensusMs(tokenMs: number): number {
  return Math.trunc(CONSENSUS_FACTOR * tokenMs);
}

/**
 * corolink's default join: DEFAULT_JOIN_MS × ⌈nodes / JOIN_NODES_PER_DEFAULT_INTERVAL⌉, never above the consensus
 * timeout (corosync requires consensus ≥ join). Every gathering node re-sends its JOIN to all N − 1 peers each
 * interval, so the ring's JOIN traffic grows with N²: at 32 nodes and 50 ms (corosync's constant) that is ≈ 20,000
 * sealed datagrams/s on two cores, and 32 lab hosts formed one ring in 26–28 s; at 200 ms in 12–15 s (bench:scale,
 * interleaved runs). A JOIN that carries news is sent at once whatever the interval; only the re-sends slow down.
 */
export function derivedJoinMs(nodeCount: number, consensusMs: number): number {
  const scaled = DEFAULT_JOIN_MS * Math.max(1, Math.ceil(nodeCount / JOIN_NODES_PER_DEFAULT_INTERVAL));
  return Math.max(DEFAULT_JOIN_MS, Math.min(scaled, consensusMs));
}

/** corosync's derived hold: token_retransmit × 0.8 − 10 ms, truncated to whole ms as totemconfig.c's int (≥ 0). */
export function derivedHoldMs(tokenRetransmitMs: number): number {
  return Math.max(0, Math.trunc(tokenRetransmitMs * HOLD_FACTOR - HOLD_TICK_MS));
}

/** An explicit positive value, or undefined: corosync treats 0 as "not set" for these timers. */
function explicit(value: number | undefined): number | undefined {
  return value === undefined || value === 0 ? undefined : value;
}

/** totem_calc_knet_ping_timers(): timeout = token / pong_count, interval = token / (pong_count × 2). */
export function corosyncLinkTimers(iface: Partial<InterfaceConfig>, tokenMs: number): LinkTimers {
  const pongCount = iface.knet_pong_count ?? DEFAULT_PONG_COUNT;
  return {
    pongCount,
    pingTimeoutMs: explicit(iface.knet_ping_timeout) ?? Math.trunc(tokenMs / pongCount),
    pingIntervalMs: explicit(iface.knet_ping_interval) ?? Math.trunc(tokenMs / (pongCount * 2)),
  };
}

/**
 * corolink's fast profile: timeout = max(250 ms, token / 16), interval = timeout / 5 (docs/transport.md § Ping
 * timers); explicit keys win, and an unset interval follows an explicit timeout.
 */
export function fastLinkTimers(iface: Partial<InterfaceConfig>, tokenMs: number): LinkTimers {
  const timeoutMs = Math.max(FAST_PING_TIMEOUT_MS, Math.trunc(tokenMs / FAST_PING_TIMEOUT_TOKEN_DIVISOR));
  return profileLinkTimers(iface, timeoutMs, FAST_PINGS_PER_TIMEOUT);
}

/** corolink's lean profile (the default): timeout = ⌊token / 2⌋, interval = timeout / 4; explicit keys win. */
export function leanLinkTimers(iface: Partial<InterfaceConfig>, tokenMs: number): LinkTimers {
  return profileLinkTimers(iface, Math.trunc(tokenMs / LEAN_PING_TIMEOUT_TOKEN_DIVISOR), LEAN_PINGS_PER_TIMEOUT);
}

/** A corolink profile's timers: explicit keys win, and an unset interval follows the timeout in use. */
function profileLinkTimers(iface: Partial<InterfaceConfig>, timeoutMs: number, pingsPerTimeout: number): LinkTimers {
  const pingTimeoutMs = explicit(iface.knet_ping_timeout) ?? timeoutMs;
  return {
    pongCount: iface.knet_pong_count ?? PROFILE_PONG_COUNT,
    pingTimeoutMs,
    pingIntervalMs: explicit(iface.knet_ping_interval) ?? Math.trunc(pingTimeoutMs / pingsPerTimeout),
  };
}

/** The link numbers in use: every interface's linknumber and every ringN_addr, ascending. */
export function configuredLinks(config: ClusterConfig): number[] {
  const links = new Set<number>();
  for (const iface of config.interfaces) links.add(iface.linknumber ?? 0);
  for (const node of config.nodes) for (const { link } of node.addresses) links.add(link);
  return [...links].sort((a, b) => a - b);
}

function deriveTotem(config: ClusterConfig, linkCount: number): EffectiveTotem {
  const t = config.totem;
  const baseTokenMs = explicit(t.token) ?? DEFAULT_TOKEN_MS;
  const tokenCoefficientMs = t.token_coefficient ?? DEFAULT_TOKEN_COEFFICIENT_MS;
  const tokenMs = effectiveTokenMs(baseTokenMs, tokenCoefficientMs, config.nodes.length);
  const retransmits = t.token_retransmits_before_loss_const ?? DEFAULT_TOKEN_RETRANSMITS_BEFORE_LOSS;
  const tokenRetransmitMs = explicit(t.token_retransmit) ?? derivedTokenRetransmitMs(tokenMs, retransmits);
  const consensusMs = explicit(t.consensus) ?? derivedConsensusMs(tokenMs);
  return {
    clusterName: t.cluster_name ?? null,
    configVersion: t.config_version ?? 0,
    transport: (t.transport ?? 'knet') as Transport,
    // totemconfig.c forces passive with a single link.
    linkMode: linkCount > 1 ? ((t.link_mode ?? 'passive') as LinkMode) : 'passive',
    ipVersion: t.ip_version ?? 'ipv6-4',
    baseTokenMs,
    tokenCoefficientMs,
    tokenMs,
    tokenRetransmitMs,
    tokenRetransmitsBeforeLossConst: retransmits,
    holdMs: explicit(t.hold) ?? derivedHoldMs(tokenRetransmitMs),
    joinMs: explicit(t.join) ?? derivedJoinMs(config.nodes.length, consensusMs),
    sendJoinMs: t.send_join ?? 0,
    consensusMs,
    mergeMs: explicit(t.merge) ?? DEFAULT_MERGE_MS,
    downCheckMs: explicit(t.downcheck) ?? DEFAULT_DOWNCHECK_MS,
    failToRecvConst: t.fail_recv_const ?? DEFAULT_FAIL_TO_RECV_CONST,
    seqnoUnchangedConst: t.seqno_unchanged_const ?? DEFAULT_SEQNO_UNCHANGED_CONST,
    maxNetworkDelayMs: explicit(t.max_network_delay) ?? DEFAULT_MAX_NETWORK_DELAY_MS,
    maxMessages: t.max_messages ?? DEFAULT_MAX_MESSAGES,
    windowSize: t.window_size ?? DEFAULT_WINDOW_SIZE,
    missCountConst: t.miss_count_const ?? DEFAULT_MISS_COUNT_CONST,
    tokenWarningPct: t.token_warning ?? DEFAULT_TOKEN_WARNING_PCT,
    netmtu: t.netmtu ?? DEFAULT_KNET_NETMTU,
  };
}

/** totem_get_crypto(): secauth on = aes256/sha256, explicit crypto_cipher/crypto_hash override (default none). */
export function deriveCrypto(config: ClusterConfig): EffectiveCrypto {
  const t = config.totem;
  const secauth = t.secauth === true;
  return {
    model: t.crypto_model ?? 'nss',
    cipher: t.crypto_cipher ?? (secauth ? 'aes256' : 'none'),
    hash: t.crypto_hash ?? (secauth ? 'sha256' : 'none'),
    allowNone: config.corolink.allow_crypto_none === true,
  };
}

/**
 * `system.priority` as corosync reads it: `max` (nice −20), `min` (nice 19) or a nice value; null when unset or
 * invalid (corosync refuses to start: "Priority value … is invalid").
 */
export function parseSystemPriority(text: string | undefined): number | null {
  if (text === undefined) return null;
  if (text === 'max') return NICE_MIN;
  if (text === 'min') return NICE_MAX;
  if (!/^[+-]?\d+$/.test(text)) return null;
  const nice = Number(text);
  return nice >= NICE_MIN && nice <= NICE_MAX ? nice : null;
}

/** `quorum.device.net.tie_breaker` as corosync-qdevice reads it: lowest, highest or a node id. */
export function parseQdeviceTieBreaker(text: string | undefined): 'lowest' | 'highest' | number | null {
  const value = text ?? DEFAULT_QDEVICE_NET_TIE_BREAKER;
  if (value === 'lowest' || value === 'highest') return value;
  return /^\d+$/.test(value) && Number(value) > 0 ? Number(value) : null;
}

function deriveQuorumDevice(config: ClusterConfig, totalVotes: number): EffectiveQuorumDevice | null {
  const device = config.quorumDevice;
  if (device?.model === undefined) return null;
  const net = device.net ?? {};
  const timeoutMs = device.timeout ?? DEFAULT_QDEVICE_TIMEOUT_MS;
  return {
    model: device.model,
    votes: device.votes ?? Math.max(0, totalVotes - 1),
    votesSet: device.votes !== undefined,
    timeoutMs,
    syncTimeoutMs: device.sync_timeout ?? DEFAULT_QDEVICE_SYNC_TIMEOUT_MS,
    net: {
      host: net.host ?? null,
      port: net.port ?? DEFAULT_QDEVICE_NET_PORT,
      algorithm: (net.algorithm ?? DEFAULT_QDEVICE_NET_ALGORITHM) as EffectiveQuorumDevice['net']['algorithm'],
      tieBreaker: parseQdeviceTieBreaker(net.tie_breaker) ?? DEFAULT_QDEVICE_NET_TIE_BREAKER,
      tls: (net.tls ?? DEFAULT_QDEVICE_NET_TLS) as EffectiveQuorumDevice['net']['tls'],
      connectTimeoutMs: net.connect_timeout ?? Math.trunc(QDEVICE_NET_CONNECT_TIMEOUT_FACTOR * timeoutMs),
    },
  };
}

function deriveQuorum(config: ClusterConfig, nodes: EffectiveNode[]): EffectiveQuorum {
  const q = config.quorum;
  const totalVotes = nodes.reduce((sum, node) => sum + node.votes, 0);
  const device = deriveQuorumDevice(config, totalVotes);
  // votequorum counts the device's votes in expected votes (get_total_votes).
  const expectedVotes = q.expected_votes ?? totalVotes + (device?.votes ?? 0);
  const twoNode = q.two_node === true;
  return {
    provider: q.provider ?? null,
    totalVotes,
    expectedVotes,
    quorumVotes: twoNode ? 1 : Math.floor(expectedVotes / 2) + 1,
    twoNode,
    // votequorum.c: wait_for_all defaults to two_node.
    waitForAll: q.wait_for_all ?? twoNode,
    lastManStanding: q.last_man_standing === true,
    lastManStandingWindowMs: q.last_man_standing_window ?? DEFAULT_LAST_MAN_STANDING_WINDOW_MS,
    autoTieBreaker: q.auto_tie_breaker === true,
    autoTieBreakerNode: q.auto_tie_breaker_node ?? 'lowest',
    device,
  };
}

/** Applies every default and derivation to a model. Pure; never throws, even on an invalid model. */
export function deriveEffective(config: ClusterConfig): EffectiveConfig {
  const linkNumbers = configuredLinks(config);
  const totem = deriveTotem(config, linkNumbers.length);
  const pingProfile = (config.corolink.ping_profile ?? DEFAULT_PING_PROFILE) as PingProfile;
  const links = linkNumbers.map((link): EffectiveLink => {
    const iface: Partial<InterfaceConfig> = config.interfaces.findLast((i) => (i.linknumber ?? 0) === link) ?? {};
    const corosync = corosyncLinkTimers(iface, totem.tokenMs);
    const timers =
      pingProfile === 'corosync'
        ? corosync
        : pingProfile === 'fast'
          ? fastLinkTimers(iface, totem.tokenMs)
          : leanLinkTimers(iface, totem.tokenMs);
    return {
      link,
      ...timers,
      priority: iface.knet_link_priority || DEFAULT_LINK_PRIORITY,
      pingPrecision: iface.knet_ping_precision ?? DEFAULT_PING_PRECISION,
      mcastport: iface.mcastport ?? DEFAULT_MCASTPORT + link,
      transport: (iface.knet_transport ?? 'udp') as KnetTransport,
      mtu: config.totem.knet_mtu ?? 0,
      corosync,
    };
  });
  const nodes = config.nodes.map(
    (node): EffectiveNode => ({
      nodeId: node.nodeid ?? null,
      name: node.name ?? null,
      votes: node.quorum_votes ?? DEFAULT_QUORUM_VOTES,
      addresses: Object.fromEntries(node.addresses.map(({ link, address }) => [link, address])),
    }),
  );
  return {
    totem,
    links,
    nodes,
    quorum: deriveQuorum(config, nodes),
    crypto: deriveCrypto(config),
    pingProfile,
    failbackHoldMs: config.corolink.failback_hold ?? DEFAULT_FAILBACK_HOLD_MS,
    burstHoldMs: config.corolink.burst_hold ?? DEFAULT_BURST_HOLD_MS,
    maxMessageBytes: MESSAGE_BYTES_MAX,
    scheduling: {
      schedRr: config.system.sched_rr ?? DEFAULT_SCHED_RR,
      nice: parseSystemPriority(config.system.priority),
    },
  };
}

/**
 * corolink HA (docs/ha.md "Fencing"): how long the watchdog supervisor waits for a feed before it stops every HA
 * resource of its node. Proxmox's watchdog-mux resets the host after 60 s; corolink's supervisor only has to stop
 * local processes, so a few seconds suffice while the daemon feeds it at least every HA_FEED_INTERVAL_MS.
 */
export const DEFAULT_HA_FENCE_TIMEOUT_MS = 2000;
/** corolink HA: added to the recovery wait for clock-rate differences and scheduling delay on the two nodes. */
export const DEFAULT_HA_FENCE_MARGIN_MS = 1000;
/** corolink HA: `corolink { ha_shutdown_policy }` when not set — Proxmox's default (docs/ha.md "Shutdown"). */
export const DEFAULT_HA_SHUTDOWN_POLICY = 'conditional' as const;
/**
 * corolink HA: how long a stopping daemon waits for the partition to apply its shutdown announcement (one agreed
 * message: a token rotation normally). Past it the daemon leaves anyway and the others treat it as lost (fence
 * wait, then recovery), which is safe, only slower.
 */
export const HA_SHUTDOWN_ANNOUNCE_WAIT_MS = 5000;

/** Report intervals per lease: one covers the last report before a membership change, the rest the change itself. */
const REPORTS_PER_LEASE = 4;

/** The HA managers' timing terms (docs/ha.md "Fencing" derives each). */
export interface HaTimings {
  /** The watchdog's fence timeout: no feed within it and the node's HA resources are stopped. */
  fenceTimeoutMs: number;
  /** The local manager's status report interval: a quarter of the token timeout. */
  reportIntervalMs: number;
  /**
   * How long after sending a message that came back in agreed order (synced, quorate) a node may still run
   * services and feed its watchdog: one token timeout. It caps how long a lost node can act on a quorum it no longer
   * has (shorter than the token + consensus its membership needs to notice); a member keeps its lease through every
   * membership change that, with the sync after it, ends within three report intervals (docs/ha.md "Fencing").
   */
  leaseMs: number;
  marginMs: number;
  /** How long the manager waits after losing a node before it recovers that node's services: fence + lease + margin. */
  recoveryWaitMs: number;
  /** How often the local manager feeds the watchdog: a quarter of the fence timeout. */
  feedIntervalMs: number;
}

/** Derives the HA timings from Totem's effective token and consensus timeouts. */
export function haTimings(
  totem: Pick<EffectiveTotem, 'tokenMs'>,
  fenceTimeoutMs = DEFAULT_HA_FENCE_TIMEOUT_MS,
  marginMs = DEFAULT_HA_FENCE_MARGIN_MS,
): HaTimings {
  const reportIntervalMs = Math.floor(totem.tokenMs / REPORTS_PER_LEASE);
  const leaseMs = totem.tokenMs;
  return {
    fenceTimeoutMs,
    reportIntervalMs,
    leaseMs,
    marginMs,
    recoveryWaitMs: fenceTimeoutMs + leaseMs + marginMs,
    feedIntervalMs: Math.floor(fenceTimeoutMs / 4),
  };
}
