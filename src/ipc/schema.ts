/**
 * The versioned data contract of the admin socket (docs/contracts.md "Admin socket"), as typebox schemas.
 * The TypeScript types of the client library are derived from these schemas, and docs/status.schema.json is
 * `statusSchemaDocument()` printed as JSON, so the types, the runtime check and the published schema cannot drift.
 * Objects accept extra properties: a newer daemon may add fields without breaking version-1 clients.
 */
import { type Static, Type } from 'typebox';
import { LINK_NUMBER_MAX, UINT32_MAX } from '../base/limits.ts';
import { HA_NODE_STATES, HA_REQUESTED_STATES, HA_SERVICE_STATES } from '../ha/contract.ts';

/** The HA state names of the contract (one list, src/ha/contract.ts). */
export { HA_NODE_STATES, HA_SERVICE_STATES };

/** The contract version every result carries in `version`. */
export const CONTRACT_VERSION = 1;
/** Most log lines one `logs` call may ask for. */
export const LOG_LINES_MAX = 1_000_000;

const NodeId = Type.Integer({ minimum: 1, maximum: UINT32_MAX, description: 'corosync nodeid (uint32, > 0)' });
const LinkNumber = Type.Integer({ minimum: 0, maximum: LINK_NUMBER_MAX, description: 'knet link number (0–7)' });
const LinkState = Type.Union([Type.Literal('UP'), Type.Literal('DOWN')], { description: 'link state' });
const NullableString = (description: string) => Type.Union([Type.String(), Type.Null()], { description });
const NullableNumber = (description: string) => Type.Union([Type.Number({ minimum: 0 }), Type.Null()], { description });

/** One link of a member as seen from the local node. */
export const MemberLinkSchema = Type.Object({
  link: LinkNumber,
  state: LinkState,
  address: NullableString('the address of the node on this link'),
  reason: NullableString('why the link is DOWN (e.g. "no pong for 262 ms", "disabled"); null when UP'),
  latency_ms: NullableNumber('average round trip of the heartbeat in ms; null for the local node or when unknown'),
});

/** A node in the current membership. */
export const MemberSchema = Type.Object({
  nodeid: NodeId,
  name: Type.String(),
  votes: Type.Integer({ minimum: 0 }),
  local: Type.Boolean({ description: 'true for the node that answered' }),
  links: Type.Array(MemberLinkSchema),
  qdevice: Type.Optional(
    Type.String({
      description:
        "the member's quorum device as corosync-quorumtool shows it: A|NA (alive), V|NV (casts its vote), MW|NMW (master_wins), or NR (none registered); present when some member has a device",
    }),
  ),
});

/** A configured node (nodelist), member or not. */
export const ConfiguredNodeSchema = Type.Object({
  nodeid: NodeId,
  name: Type.String(),
  votes: Type.Integer({ minimum: 0 }),
  member: Type.Boolean({ description: 'true when the node is in the current membership' }),
});

/** votequorum's state (`corosync-quorumtool -s`, "Votequorum information"). */
export const QuorumStateSchema = Type.Object({
  quorate: Type.Boolean(),
  expected_votes: Type.Integer({ minimum: 0 }),
  highest_expected: Type.Integer({ minimum: 0 }),
  total_votes: Type.Integer({ minimum: 0 }),
  quorum: Type.Integer({ minimum: 0 }),
  flags: Type.Array(Type.String(), {
    description: 'Quorate, 2Node, WaitForAll, LastManStanding, AutoTieBreaker, AllowDownscale, Qdevice',
  }),
  qdevice: Type.Optional(
    Type.Object(
      {
        name: Type.String(),
        votes: Type.Integer({ minimum: 0 }),
        cast_vote: Type.Boolean({ description: "whether this node's device casts its vote (counted in total_votes)" }),
      },
      { description: 'the quorum device row (node id 0); present when some member has a device registered' },
    ),
  ),
});

/** Cluster-wide settings from corosync.conf (the "Cluster information" section of `pvecm status`). */
export const ClusterInfoSchema = Type.Object({
  name: Type.String(),
  config_version: Type.Integer({ minimum: 0 }),
  transport: Type.String(),
  secure_auth: Type.Boolean(),
  link_mode: Type.Union([Type.Literal('passive'), Type.Literal('active'), Type.Literal('rr')]),
});

/** The result of the `status` method and of `corolink status --json`. */
export const StatusV1Schema = Type.Object({
  version: Type.Literal(CONTRACT_VERSION),
  cluster: ClusterInfoSchema,
  local_nodeid: NodeId,
  ring_id: Type.String({ description: 'rep.seq in hex, e.g. "1.2c"; changes exactly when the membership changes' }),
  totem_state: Type.String({ description: 'e.g. "operational", "gather"' }),
  quorum: QuorumStateSchema,
  members: Type.Array(MemberSchema),
  nodes: Type.Array(ConfiguredNodeSchema),
});

/** One local link (the `links` method's `links[]`). */
export const LocalLinkSchema = Type.Object({
  link: LinkNumber,
  enabled: Type.Boolean(),
  address: Type.String({ description: 'the local address bound for this link' }),
  priority: Type.Integer({ minimum: 0, maximum: 255 }),
  mtu: Type.Optional(Type.Integer({ minimum: 0 })),
  carrier: Type.Optional(
    Type.Union([Type.Boolean(), Type.Null()], {
      description: "whether the address's interface has carrier (false: cable pulled); null when unknown",
    }),
  ),
});

/** Latency of a link's heartbeat in ms; null values before the first pong. */
export const LatencySchema = Type.Object({
  min: NullableNumber('lowest round trip (ms)'),
  avg: NullableNumber('average round trip (ms)'),
  max: NullableNumber('highest round trip (ms)'),
});

/** One peer × one link (the `links` method's `peers[]`, one entry per pair). */
export const PeerLinkSchema = Type.Object({
  nodeid: NodeId,
  link: LinkNumber,
  address: NullableString("the peer's address on this link (nodelist); null when it has none"),
  enabled: Type.Boolean(),
  connected: Type.Boolean(),
  active: Type.Boolean({
    description: "carries the peer's traffic now (passive: the best connected link; active/rr: every connected link)",
  }),
  state: LinkState,
  reason: NullableString('why the link is DOWN; null when UP'),
  priority: Type.Integer({ minimum: 0, maximum: 255 }),
  latency_ms: LatencySchema,
  mtu: Type.Integer({ minimum: 0 }),
  down_count: Type.Integer({ minimum: 0 }),
  tx_packets: Type.Integer({ minimum: 0 }),
  rx_packets: Type.Integer({ minimum: 0 }),
  tx_bytes: Type.Integer({ minimum: 0 }),
  rx_bytes: Type.Integer({ minimum: 0 }),
  errors: Type.Integer({ minimum: 0 }),
  last_change_ms: NullableNumber('ms since the last state change'),
});

/** The result of the `links` method and of `corolink links --json`. */
export const LinksV1Schema = Type.Object({
  version: Type.Literal(CONTRACT_VERSION),
  local_nodeid: NodeId,
  links: Type.Array(LocalLinkSchema),
  peers: Type.Array(PeerLinkSchema),
  auth_failures: Type.Optional(
    Type.Array(Type.Object({ source: Type.String(), packets: Type.Integer({ minimum: 1 }) }), {
      description:
        'Datagrams that failed authentication since the daemon started, by source address (a node with the wrong authkey?)',
    }),
  ),
});

/** The result of the `quorum` and `setExpected` methods: votequorum's state plus the members. */
/** `clusterLinks`: every member's view of every path, gathered through the ring (`corolink status --cluster`). */
export const ClusterLinksV1Schema = Type.Object({
  version: Type.Literal(CONTRACT_VERSION),
  local_nodeid: NodeId,
  views: Type.Array(
    Type.Object({
      nodeid: NodeId,
      name: Type.String(),
      paths: Type.Array(
        Type.Object({
          nodeid: NodeId,
          name: Type.String(),
          link: LinkNumber,
          state: Type.Union([Type.Literal('UP'), Type.Literal('DOWN')]),
          active: Type.Boolean({ description: 'this link carries the traffic towards nodeid now' }),
        }),
      ),
    }),
  ),
  missing: Type.Array(NodeId, { description: 'members whose view has not arrived yet (right after a change)' }),
  paths_down: Type.Array(
    Type.Object({
      from: NodeId,
      from_name: Type.String(),
      to: NodeId,
      to_name: Type.String(),
      link: LinkNumber,
      one_way: Type.Boolean({
        description: 'the other end (to → from on this link) sees it UP: a fault of one direction',
      }),
    }),
    { description: 'every path some member sees DOWN, in the order of views then paths' },
  ),
});

export const QuorumV1Schema = Type.Intersect([QuorumStateSchema, Type.Object({ members: Type.Array(MemberSchema) })]);

const MsAgo = (description: string) =>
  Type.Union([Type.Number({ minimum: 0 }), Type.Null()], { description: `${description}, ms ago; null: never` });

/** The result of `qdeviceStatus` and `corolink qdevice status --json` (corosync-qdevice-tool -s). */
export const QdeviceStatusV1Schema = Type.Object({
  version: Type.Literal(CONTRACT_VERSION),
  local_nodeid: NodeId,
  configured: Type.Boolean({ description: 'corosync.conf has quorum { device { model } }' }),
  device: Type.Union([
    Type.Null(),
    Type.Object({
      model: Type.String(),
      votes: Type.Integer({ minimum: 0 }),
      timeout_ms: Type.Integer({ minimum: 0 }),
      sync_timeout_ms: Type.Integer({ minimum: 0 }),
      registered: Type.Boolean({ description: 'votequorum accepted the registration' }),
      configured_nodes: Type.Array(NodeId),
      ring_id: Type.String(),
      members: Type.Array(NodeId),
      quorate: Type.Boolean(),
      expected_votes: Type.Integer({ minimum: 0 }),
      last_poll_ms_ago: MsAgo('the last poll votequorum accepted'),
      last_poll_cast_vote: Type.Boolean(),
      net: Type.Object({
        cluster_name: Type.String(),
        host: Type.String(),
        port: Type.Integer({ minimum: 1, maximum: 65_535 }),
        connect_timeout_ms: Type.Integer({ minimum: 0 }),
        algorithm: Type.String(),
        tie_breaker: Type.Union([Type.String(), Type.Integer({ minimum: 1 })]),
        tls: Type.String({ description: 'the configured mode: on, off or required' }),
        tls_active: Type.Boolean(),
        state: Type.String({ description: 'disconnected, connecting or connected' }),
        last_vote: Type.String({ description: 'ack, nack, ask_later, wait_for_reply or none' }),
        cast_vote: Type.Boolean(),
        connected_since_ms_ago: MsAgo('the connection to qnetd'),
        last_heartbeat_ms_ago: MsAgo("qnetd's last heartbeat reply"),
      }),
    }),
  ]),
});

/** The value types of `cmap` keys, named as corosync-cmapctl prints them. */
export const CMAP_TYPES = ['u8', 'u16', 'u32', 'u64', 'i32', 'str'] as const;
export type CmapType = (typeof CMAP_TYPES)[number];

/** One runtime key (`corolink cmap`, corosync-cmapctl's `key (type) = value`). */
export const CmapEntrySchema = Type.Object({
  key: Type.String({ description: 'dotted key, e.g. "stats.knet.node2.link0.connected"' }),
  type: Type.Enum(CMAP_TYPES, { description: 'u8/u16/u32/u64/i32 integers, str strings' }),
  value: Type.Union([Type.Integer({ minimum: 0 }), Type.String()]),
});

/** The result of `cmap` and `corolink cmap --json`: the keys under a prefix (or one key), sorted by name. */
export const CmapV1Schema = Type.Object({
  version: Type.Literal(CONTRACT_VERSION),
  local_nodeid: NodeId,
  keys: Type.Array(CmapEntrySchema),
});

/** One log line (the `logs` method and the `log` event). */
export const LogRecordSchema = Type.Object({
  time: Type.String({ description: 'ISO 8601 time the line was logged' }),
  level: Type.String(),
  subsystem: Type.String(),
  message: Type.String(),
  text: Type.String({ description: 'the formatted line, e.g. "[KNET  ] link: host: 2 link: 1 is down"' }),
});

/** `link` event: a peer's link changed state. */
export const LinkEventSchema = Type.Object({
  nodeid: NodeId,
  link: LinkNumber,
  state: LinkState,
  reason: NullableString('why'),
});

/** `membership` event: a Totem configuration change. */
export const MembershipEventSchema = Type.Object({
  kind: Type.Union([Type.Literal('transitional'), Type.Literal('regular')]),
  members: Type.Array(NodeId),
  left: Type.Array(NodeId),
  joined: Type.Array(NodeId),
  ring_id: Type.String(),
});

/** `quorum` event: votequorum's new state. */
export const QuorumEventSchema = QuorumStateSchema;

const HaServiceState = Type.Enum(HA_SERVICE_STATES, { description: 'service state, as ha-manager names it' });
const HaNodeState = Type.Enum(HA_NODE_STATES, { description: 'node state, as ha-manager names it' });

/** The result of `haStatus`, `GET /api/ha` and `corolink ha status --json` (ha-manager status, as data). */
export const HaStatusV1Schema = Type.Object({
  version: Type.Literal(CONTRACT_VERSION),
  quorate: Type.Boolean({ description: 'the answering node is in a quorate partition' }),
  manager: Type.Union([Type.Object({ nodeid: NodeId, name: Type.String() }), Type.Null()], {
    description: "the cluster manager's node; null while none is elected",
  }),
  nodes: Type.Array(
    Type.Object({
      nodeid: NodeId,
      name: Type.String(),
      state: HaNodeState,
      lrm: Type.Enum(['active', 'idle', 'lost'] as const, {
        description: 'the local manager: active (runs services), idle (none assigned), lost (no report)',
      }),
      last_report_ms: NullableNumber("ms since the local manager's last report; null before the first"),
    }),
  ),
  services: Type.Array(
    Type.Object({
      sid: Type.String({ description: 'TYPE:NAME, e.g. "exec:web"' }),
      group: NullableString('the group it belongs to'),
      nodeid: Type.Union([NodeId, Type.Null()], { description: 'where it runs or is placed; null when nowhere' }),
      state: HaServiceState,
      requested: Type.Enum(HA_REQUESTED_STATES, { description: 'the requested state' }),
      restarts: Type.Integer({ minimum: 0 }),
      relocations: Type.Integer({ minimum: 0 }),
      message: NullableString('the last error (failed command, fence reason)'),
    }),
  ),
  counters: Type.Object({
    recoveries: Type.Integer({ minimum: 0 }),
    restarts: Type.Integer({ minimum: 0 }),
    relocations: Type.Integer({ minimum: 0 }),
    fences: Type.Integer({ minimum: 0 }),
  }),
  manager_status: Type.Object(
    {
      epoch: Type.Integer({ minimum: 0, description: 'ring seq of the quorate configuration that last merged it' }),
      seq: Type.Integer({ minimum: 0, description: 'messages applied to it' }),
      stored: Type.Union(
        [Type.Object({ epoch: Type.Integer({ minimum: 0 }), seq: Type.Integer({ minimum: 0 }) }), Type.Null()],
        {
          description: 'the copy the manager last wrote to ha/manager_status in the replicated store; null: none',
        },
      ),
    },
    { description: "the manager status (ha-manager's manager_status): this node's copy and the stored one" },
  ),
});

/** `ha` event: an HA state change, with the line the log shows after `[HA    ]`. */
export const HaEventSchema = Type.Object({
  sid: NullableString('the service it concerns, if any'),
  nodeid: Type.Union([NodeId, Type.Null()], { description: 'the node it concerns, if any' }),
  message: Type.String({ description: 'e.g. "service exec:web: recovery from n3 to n1 (n3 fenced)"' }),
  state: Type.Optional(Type.Union([HaServiceState, HaNodeState], { description: 'the new state' })),
});

/** The cluster state seen by the local node (see docs/contracts.md). */
export type StatusV1 = Static<typeof StatusV1Schema>;
/** A node of the current membership with its links. */
export type Member = Static<typeof MemberSchema>;
/** A member's link as seen from the local node. */
export type MemberLink = Static<typeof MemberLinkSchema>;
/** A configured node. */
export type ConfiguredNode = Static<typeof ConfiguredNodeSchema>;
/** votequorum's state. */
export type QuorumState = Static<typeof QuorumStateSchema>;
/** The `links` result. */
export type LinksV1 = Static<typeof LinksV1Schema>;
/** A local link. */
export type LocalLink = Static<typeof LocalLinkSchema>;
/** One peer × link. */
export type PeerLink = Static<typeof PeerLinkSchema>;
/** The `clusterLinks` result. */
export type ClusterLinksV1 = Static<typeof ClusterLinksV1Schema>;
/** The `quorum` / `setExpected` result. */
export type QuorumV1 = Static<typeof QuorumV1Schema>;
/** The `qdeviceStatus` result. */
export type QdeviceStatusV1 = Static<typeof QdeviceStatusV1Schema>;
/** One log line. */
export type LogRecord = Static<typeof LogRecordSchema>;
/** Payload of a `link` event. */
export type LinkEvent = Static<typeof LinkEventSchema>;
/** Payload of a `membership` event. */
export type MembershipEvent = Static<typeof MembershipEventSchema>;
/** Payload of a `quorum` event. */
export type QuorumEvent = Static<typeof QuorumEventSchema>;

/** One `cmap` key. */
export type CmapEntry = Static<typeof CmapEntrySchema>;
/** The `cmap` result. */
export type CmapV1 = Static<typeof CmapV1Schema>;

/** The `haStatus` result. */
export type HaStatusV1 = Static<typeof HaStatusV1Schema>;
/** One HA service of `HaStatusV1`. */
export type HaServiceStatus = HaStatusV1['services'][number];
/** One node of `HaStatusV1`. */
export type HaNodeStatus = HaStatusV1['nodes'][number];
/** Payload of an `ha` event. */
export type HaEventV1 = Static<typeof HaEventSchema>;

/** The JSON Schema document published as docs/status.schema.json (draft 2020-12, one `$defs` entry per result). */
export function statusSchemaDocument(): Record<string, unknown> {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://corolink.dev/schema/status.v1.json',
    title: 'corolink admin socket results, version 1',
    description:
      'StatusV1 (`status`, `corolink status --json`), LinksV1 (`links`), QuorumV1 (`quorum`, `setExpected`), QdeviceStatusV1 (`qdeviceStatus`), LogRecord (`logs`, `log` events), HaStatusV1 (`haStatus`, `corolink ha status --json`), HaEvent (`ha` events) and CmapV1 (`cmap`, `corolink cmap --json`). Generated from src/ipc/schema.ts.',
    $ref: '#/$defs/StatusV1',
    $defs: {
      StatusV1: StatusV1Schema,
      LinksV1: LinksV1Schema,
      QuorumV1: QuorumV1Schema,
      QdeviceStatusV1: QdeviceStatusV1Schema,
      LogRecord: LogRecordSchema,
      HaStatusV1: HaStatusV1Schema,
      HaEvent: HaEventSchema,
      CmapV1: CmapV1Schema,
    },
  };
}
