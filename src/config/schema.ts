/**
 * The typed model of a corosync.conf, as typebox schemas: one object schema per section, one property per key
 * corolink understands. The schemas are the single list of known keys: model.ts converts each key's text by the
 * schema's type and checks ranges with `Value.Check`. Defaults are not here but in defaults.ts.
 * Sources: corosync.conf(5), votequorum(5), exec/totemconfig.c (see docs/config.md).
 */
import { type Static, type TLiteral, type TSchema, Type } from 'typebox';
import { LINK_NUMBER_MAX, LINK_PRIORITY_MAX, LINKS_MAX, PERCENT_MAX, UINT32_MAX } from '../base/limits.ts';

/** Highest UDP port. */
export const PORT_MAX = 65_535;

/**
 * How corosync spells a boolean key. `yesno`: totem/logging strings `yes`/`no`/`on`/`off`;
 * `flag`: votequorum's uint8 numbers `0`/`1` (`two_node: yes` is *not* accepted by corosync).
 */
export type BooleanSpelling = 'yesno' | 'flag';

const ms = (description: string, minimum = 0) => Type.Optional(Type.Integer({ minimum, description }));
const count = (description: string, minimum = 0, maximum?: number) =>
  Type.Optional(Type.Integer({ minimum, ...(maximum === undefined ? {} : { maximum }), description }));
const text = (description: string) => Type.Optional(Type.String({ description }));
const yesno = (description: string) => Type.Optional(Type.Boolean({ spelling: 'yesno', description }));
const flag = (description: string) => Type.Optional(Type.Boolean({ spelling: 'flag', description }));
// The cast tells the type checker the union's members; the runtime schema is the real list.
// Enumerated keys are typed as plain strings in the static model; model.ts guarantees membership at runtime.
const oneOf = (values: readonly string[], description: string) =>
  Type.Optional(Type.Union(values.map((v) => Type.Literal(v)) as [TLiteral<string>], { description }));

/** Link policies of knet (totem.link_mode). */
export const LINK_MODES = ['passive', 'active', 'rr'] as const;
/** Transports corosync 3 knows; `udp`/`udpu` are corosync 2 leftovers rejected by validation. */
export const TRANSPORTS = ['knet', 'udp', 'udpu'] as const;
/** Ciphers of totem.crypto_cipher. */
export const CRYPTO_CIPHERS = ['none', 'aes256', 'aes192', 'aes128'] as const;
/** Hashes of totem.crypto_hash. */
export const CRYPTO_HASHES = ['none', 'md5', 'sha1', 'sha256', 'sha384', 'sha512'] as const;
/** Address family preference (totem.ip_version). */
export const IP_VERSIONS = ['ipv4', 'ipv6', 'ipv4-6', 'ipv6-4'] as const;
/** corolink { ping_profile }: corolink's lean (default) or fast link timers, or corosync's derivation. */
export const PING_PROFILES = ['lean', 'fast', 'corosync'] as const;
/**
 * HA: what a clean daemon stop does with this node's services (ha-manager's shutdown_policy): `freeze` stops them
 * and keeps them placed here, frozen, until the node is back; `failover` stops them and lets the cluster recover
 * them elsewhere after the fence wait; `conditional` is failover when the host powers off or halts, else freeze.
 */
export const HA_SHUTDOWN_POLICIES = ['conditional', 'freeze', 'failover'] as const;

/** `totem { }`. */
export const TotemSchema = Type.Object({
  version: count('must be 2'),
  cluster_name: text('cluster name (knet cluster id, qdevice)'),
  config_version: count('uint64; the highest wins when nodes meet'),
  transport: oneOf(TRANSPORTS, 'knet (udp/udpu are corosync 2 only)'),
  link_mode: oneOf(LINK_MODES, 'knet link policy'),
  rrp_mode: text('corosync 2 redundant ring mode (legacy)'),
  token: ms('token loss timeout before token_coefficient'),
  token_coefficient: ms('added per node above 2'),
  token_warning: count('% of token timeout', 0, PERCENT_MAX),
  token_retransmit: ms('token retransmit timeout'),
  token_retransmits_before_loss_const: count('retransmits before token loss', 1),
  hold: ms('token hold timeout'),
  join: ms('join timeout'),
  send_join: ms('random delay before sending join'),
  consensus: ms('consensus timeout'),
  merge: ms('merge detection interval'),
  downcheck: ms('downcheck timeout'),
  fail_recv_const: count('rotations before FAILED TO RECEIVE', 1),
  seqno_unchanged_const: count('idle rotations before token hold'),
  heartbeat_failures_allowed: count('heartbeat failures allowed'),
  max_network_delay: ms('heartbeat network delay'),
  window_size: count('messages per token rotation (all nodes)', 1),
  max_messages: count('messages per token visit (one node)', 1),
  miss_count_const: count('gap sightings before retransmit request', 1),
  netmtu: count('largest packet handed to knet', 1),
  knet_mtu: count('fixed knet MTU (0 = PMTU discovery)'),
  knet_pmtud_interval: count('seconds between PMTU discoveries'),
  knet_compression_model: text('knet compression model'),
  knet_compression_threshold: count('bytes'),
  knet_compression_level: Type.Optional(Type.Integer({ description: 'library level' })),
  crypto_model: oneOf(['nss', 'openssl'], 'crypto library'),
  crypto_cipher: oneOf(CRYPTO_CIPHERS, 'packet cipher'),
  crypto_hash: oneOf(CRYPTO_HASHES, 'packet HMAC'),
  secauth: yesno('on = aes256 + sha256 unless set explicitly'),
  keyfile: text('authkey path'),
  key: text('inline key'),
  ip_version: oneOf(IP_VERSIONS, 'address family preference'),
  ip_dscp: count('DSCP', 0, 63),
  block_unlisted_ips: yesno('drop packets from addresses not in the nodelist'),
  cancel_token_hold_on_retransmit: yesno('cancel token hold on retransmit'),
  clear_node_high_bit: yesno('clear the high bit of generated nodeids'),
  threads: count('legacy'),
  nodeid: count('legacy local nodeid', 1, UINT32_MAX),
});

/** `totem { interface { } }`: one knet link. */
export const InterfaceSchema = Type.Object({
  linknumber: count('link number', 0, LINK_NUMBER_MAX),
  ringnumber: text('corosync 2 ring number (legacy)'),
  knet_link_priority: count('higher wins in passive mode', 0, LINK_PRIORITY_MAX),
  knet_ping_interval: ms('ms between pings (0 = derived)'),
  knet_ping_timeout: ms('ms without pong before link down (0 = derived)'),
  knet_ping_precision: count('latency samples', 1),
  knet_pong_count: count('pongs before link up', 1, LINK_PRIORITY_MAX),
  knet_transport: oneOf(['udp', 'sctp'], 'link transport'),
  mcastport: count('UDP port', 1, PORT_MAX),
  bindnetaddr: text('udp only (legacy)'),
  mcastaddr: text('udp only (legacy)'),
  broadcast: text('udp only (legacy)'),
  ttl: text('udp only (legacy)'),
});

/** The keys `ring0_addr` … `ring7_addr`. */
export const RING_ADDRESS_KEYS: readonly string[] = Array.from({ length: LINKS_MAX }, (_, n) => `ring${n}_addr`);

/** `nodelist { node { } }`. */
export const NodeSchema = Type.Object({
  nodeid: count('node id (0 is reserved)', 1, UINT32_MAX),
  name: text('node name'),
  quorum_votes: count('votes of this node', 1, UINT32_MAX),
  ...Object.fromEntries(RING_ADDRESS_KEYS.map((key) => [key, text('address on this link')])),
});

/** `nodelist { }` itself holds only `node` sections: every key directly in it is unknown. */
export const NodelistSchema = Type.Object({});

/** `quorum { }` (votequorum). */
export const QuorumSchema = Type.Object({
  provider: text('corosync_votequorum'),
  expected_votes: count('expected votes', 1, UINT32_MAX),
  votes: count('deprecated per-node votes', 1, UINT32_MAX),
  two_node: flag('two-node cluster'),
  wait_for_all: flag('wait for all nodes at first start'),
  last_man_standing: flag('shrink expected votes after failures'),
  last_man_standing_window: ms('ms before expected votes shrink'),
  auto_tie_breaker: flag('break 50:50 splits'),
  auto_tie_breaker_node: text('lowest, highest or nodeids'),
  allow_downscale: flag('unsupported'),
  expected_votes_tracking: flag('remember the highest expected votes'),
});

/** `quorum.device.model`: corosync-qdevice has only `net`. */
export const QDEVICE_MODELS = ['net'] as const;
/** `quorum.device.net.algorithm` (corosync-qdevice.8). */
export const QDEVICE_NET_ALGORITHMS = ['ffsplit', 'lms', '2nodelms', 'test'] as const;
/** `quorum.device.net.tls`. */
export const QDEVICE_NET_TLS_MODES = ['on', 'off', 'required'] as const;

/** `quorum { device { } }` (votequorum's keys, corosync-qdevice.8). */
export const QuorumDeviceSchema = Type.Object({
  model: oneOf(QDEVICE_MODELS, 'quorum device model'),
  votes: count('votes of the quorum device', 0, UINT32_MAX),
  timeout: ms('ms between device polls; the vote expires after it', 1),
  sync_timeout: ms('ms a membership change waits for the device', 1),
});

/** `quorum { device { net { } } }` (corosync-qdevice.8, model net). */
export const QuorumDeviceNetSchema = Type.Object({
  host: text('corosync-qnetd address'),
  port: count('corosync-qnetd TCP port', 1, PORT_MAX),
  algorithm: oneOf(QDEVICE_NET_ALGORITHMS, 'qnetd decision algorithm'),
  tie_breaker: text('lowest, highest or a node id'),
  tls: oneOf(QDEVICE_NET_TLS_MODES, 'TLS to qnetd'),
  connect_timeout: ms('ms to connect to qnetd', 1),
  force_ip_version: oneOf(['0', '4', '6'], 'address family (0 = IPv6 first)'),
  keep_active_partition_tie_breaker: oneOf(['on', 'off'], 'ffsplit: prefer the previously quorate partition'),
});

const logTargets = {
  to_stderr: yesno('log to stderr'),
  to_logfile: yesno('log to logfile'),
  to_syslog: yesno('log to syslog'),
  logfile: text('log file path'),
  logfile_priority: text('priority for the log file'),
  syslog_facility: text('syslog facility'),
  syslog_priority: text('syslog priority'),
  debug: oneOf(['off', 'on', 'trace'], 'debug logging'),
};

/** `logging { }`. */
export const LoggingSchema = Type.Object({
  ...logTargets,
  timestamp: oneOf(['off', 'on', 'hires'], 'timestamps'),
  fileline: yesno('log source lines'),
  function_name: yesno('log function names'),
  blackbox: yesno('flight recorder'),
});

/** `logging { logger_subsys { } }`. */
export const LoggerSubsysSchema = Type.Object({ subsys: text('subsystem tag'), ...logTargets });

/** `system { }`: sched_rr and priority are applied at start (docs/daemon.md "Scheduling"); the rest is accepted. */
export const SystemSchema = Type.Object({
  qb_ipc_type: text('ipc type'),
  sched_rr: yesno('real-time round robin scheduling at the highest priority'),
  priority: text('nice value when sched_rr is off or fails: max, min or -20 to 19'),
  move_to_root_cgroup: text('yes/no/auto'),
  allow_knet_handle_fallback: yesno('knet handle fallback'),
  state_dir: text('state directory'),
});

/** corolink's own section, ignored by corosync (see docs/config.md). */
export const CorolinkSchema = Type.Object({
  http_address: text('address of the HTTP/metrics endpoint'),
  http_port: count('port of the HTTP/metrics endpoint (0 = off)', 0, PORT_MAX),
  failback_hold: ms('passive mode: ms a recovered better link must stay up before traffic returns'),
  burst_hold: ms("ms a node keeps the token while its own clients' burst fills a pack (0 = off)"),
  allow_crypto_none: yesno('allow an unencrypted cluster'),
  ping_profile: oneOf(PING_PROFILES, 'lean (default), fast or corosync link timers'),
  ha: yesno('run the HA managers (docs/ha.md); on every node of the cluster or on none'),
  ha_fence_timeout: ms("HA: ms after the last feed at which a node's watchdog supervisor stops its services"),
  ha_shutdown_policy: oneOf(HA_SHUTDOWN_POLICIES, 'HA: conditional, freeze or failover on a clean daemon stop'),
});

/** Typed `totem` keys. */
export type TotemKeys = Static<typeof TotemSchema>;
/** Typed `interface` keys. */
export type InterfaceKeys = Static<typeof InterfaceSchema>;
/** Typed `node` keys (ringN_addr as strings). */
export type NodeKeys = Static<typeof NodeSchema> & Partial<Record<`ring${number}_addr`, string>>;
/** Typed `quorum` keys. */
export type QuorumKeys = Static<typeof QuorumSchema>;
/** Typed `quorum.device` keys. */
export type QuorumDeviceKeys = Static<typeof QuorumDeviceSchema>;
/** Typed `quorum.device.net` keys. */
export type QuorumDeviceNetKeys = Static<typeof QuorumDeviceNetSchema>;
/** Typed `logging` keys. */
export type LoggingKeys = Static<typeof LoggingSchema>;
/** Typed `logger_subsys` keys. */
export type LoggerSubsysKeys = Static<typeof LoggerSubsysSchema>;
/** Typed `system` keys. */
export type SystemKeys = Static<typeof SystemSchema>;
/** Typed `corolink` keys. */
export type CorolinkKeys = Static<typeof CorolinkSchema>;

/** The schema of one key of an object schema, or undefined for an unknown key. */
export function keySchema(section: TSchema, key: string): TSchema | undefined {
  const properties = (section as { properties?: Record<string, TSchema> }).properties ?? {};
  return Object.hasOwn(properties, key) ? properties[key] : undefined;
}

/** A knet link policy. */
export type LinkMode = (typeof LINK_MODES)[number];
/** A totem transport. */
export type Transport = (typeof TRANSPORTS)[number];
/** A knet link transport. */
export type KnetTransport = 'udp' | 'sctp';
/** corolink's link timer profile. */
export type PingProfile = (typeof PING_PROFILES)[number];
