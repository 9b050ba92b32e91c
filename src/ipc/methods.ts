/**
 * The methods of the admin socket (docs/contracts.md "Admin socket"): each method's parameters as a typebox
 * schema. The daemon checks every request against its method's schema before a handler runs, so a handler
 * receives typed, checked parameters; a request that does not fit is answered `bad_request` naming the field.
 */
import { type Static, type TSchema, Type } from 'typebox';
import { Compile, type Validator } from 'typebox/compile';
import { Value } from 'typebox/value';
import { GROUP_NAME_BYTES_MAX, LINK_NUMBER_MAX, UINT32_MAX } from '../base/limits.ts';
import { pathProblem } from '../cfs/limits.ts';
import { CONFIG_FILE_BYTES_MAX } from '../config/defaults.ts';
import { HA_REQUESTED_STATES } from '../ha/contract.ts';

/** The requested states of an HA resource (one list, src/ha/contract.ts). */
export { HA_REQUESTED_STATES };

/** Error codes of `{"error": {"code": …}}`. */
export type ErrorCode = 'bad_request' | 'not_found' | 'exists' | 'not_quorate' | 'refused' | 'forbidden' | 'internal';

/** The topics of `subscribe`. */
export const TOPICS = ['log', 'link', 'membership', 'quorum', 'cpg', 'ha'] as const;
export type Topic = (typeof TOPICS)[number];

/** Longest key or prefix `cmap` accepts (corosync's CMAP_KEYNAME_MAXLEN is 255). */
export const CMAP_KEY_BYTES_MAX = 255;

/** Shortest and longest life of a join token (the CLI default is one hour). */
export const JOIN_TOKEN_TTL_MIN_MS = 1000;
export const JOIN_TOKEN_TTL_MAX_MS = 7 * 24 * 3600 * 1000;

/**
 * A binary field: raw bytes in the binary framing, a base64 string in JSON lines (docs/contracts.md); a
 * receiver reads it with {@link bytesOf}.
 */
const Bytes = Type.Refine(
  Type.Unsafe<Uint8Array | string>({}),
  (value) => value instanceof Uint8Array || typeof value === 'string',
  () => 'must be bytes (a base64 string in JSON lines)',
);

/** The bytes of a binary field, whichever framing carried it. */
export function bytesOf(value: Uint8Array | string): Uint8Array {
  return typeof value === 'string' ? Buffer.from(value, 'base64') : value;
}

const GroupName = Type.Refine(
  Type.String(),
  (name) => name.length > 0 && Buffer.byteLength(name) <= GROUP_NAME_BYTES_MAX,
  () => `must be a non-empty string of at most ${GROUP_NAME_BYTES_MAX} bytes`,
);
const CfsPath = Type.Refine(
  Type.String(),
  (path) => pathProblem(path) === undefined,
  (path) => (pathProblem(path) ?? '').replace(/^path /, ''),
);
const None = Type.Object({});

/** Largest resources.cfg section `haAdd` / `haGroupSet` accept (a resource with its commands fits many times over). */
export const HA_SECTION_BYTES_MAX = 16 * 1024;
/** Longest HA service id (`type:name`) or group name. */
export const HA_NAME_BYTES_MAX = 128;
/** Most restarts or relocations `haSet` accepts for max_restart / max_relocate. */
export const HA_RETRIES_MAX = 1000;
/** The resource types of resources.cfg (src/ha/contract.ts `HaResourceSpec`). */
export const HA_RESOURCE_TYPES = ['exec', 'systemd', 'ip'] as const;
/** The requested states of a resource (src/ha/contract.ts `HaRequestedState`). */

const HA_SID_PATTERN = new RegExp(`^(${HA_RESOURCE_TYPES.join('|')}):[A-Za-z0-9][A-Za-z0-9_.-]*$`);
const HA_GROUP_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]*$/;
const HaSid = Type.Refine(
  Type.String(),
  (sid) => sid.length <= HA_NAME_BYTES_MAX && HA_SID_PATTERN.test(sid),
  () =>
    `must be TYPE:NAME with TYPE one of ${HA_RESOURCE_TYPES.join(', ')} and NAME of letters, digits, _ . - (at most ${HA_NAME_BYTES_MAX} bytes)`,
);
const HaGroupName = Type.Refine(
  Type.String(),
  (name) => name.length <= HA_NAME_BYTES_MAX && HA_GROUP_PATTERN.test(name),
  () => `must start with a letter and hold only letters, digits, _ . - (at most ${HA_NAME_BYTES_MAX} bytes)`,
);
const HaSection = Type.Refine(
  Type.String(),
  (text) => text.trim().length > 0 && Buffer.byteLength(text) <= HA_SECTION_BYTES_MAX,
  () => `must be a non-empty resources.cfg section of at most ${HA_SECTION_BYTES_MAX} bytes`,
);
const HaNodeId = Type.Integer({ minimum: 1, maximum: UINT32_MAX });
const HaCount = Type.Integer({ minimum: 0, maximum: HA_RETRIES_MAX });

/** Every method and the schema of its parameters. */
export const METHOD_PARAMS = {
  status: None,
  links: None,
  clusterLinks: None,
  quorum: None,
  qdeviceStatus: None,
  setExpected: Type.Object({ votes: Type.Integer({ minimum: 1, maximum: UINT32_MAX }) }),
  setVotes: Type.Object({
    votes: Type.Integer({ minimum: 0, maximum: UINT32_MAX }),
    nodeid: Type.Optional(Type.Integer({ minimum: 1, maximum: UINT32_MAX })),
  }),
  /** `corosync-cfgtool -H`: this daemon leaves the cluster cleanly and exits, as on SIGTERM. */
  shutdown: None,
  /** corosync-cmapctl: every runtime key under `prefix`, or exactly `key` (not_found when it does not exist). */
  cmap: Type.Object({
    prefix: Type.Optional(Type.String({ maxLength: CMAP_KEY_BYTES_MAX })),
    key: Type.Optional(Type.String({ minLength: 1, maxLength: CMAP_KEY_BYTES_MAX })),
  }),
  /** `corosync-cfgtool -k`: asks node `nodeid`, through the ring, to leave the cluster and exit. */
  killNode: Type.Object({ nodeid: Type.Integer({ minimum: 1, maximum: UINT32_MAX }) }),
  setLinkEnabled: Type.Object({
    link: Type.Integer({ minimum: 0, maximum: LINK_NUMBER_MAX }),
    enabled: Type.Boolean(),
  }),
  logs: Type.Object({ lines: Type.Optional(Type.Integer({ minimum: 0 })) }),
  logReopen: None,
  subscribe: Type.Object({ topics: Type.Array(Type.Union(TOPICS.map((topic) => Type.Literal(topic)))) }),
  cpgJoin: Type.Object({ group: GroupName }),
  cpgLeave: Type.Object({ group: GroupName }),
  /**
   * `seq`: the sender's own numbering (u32, ascending per group); with it a refusal never reorders its messages.
   * `delivery`: Totem's agreed (default) or safe delivery (libcpg's CPG_TYPE_AGREED / CPG_TYPE_SAFE).
   */
  cpgMcast: Type.Object({
    group: GroupName,
    data: Bytes,
    seq: Type.Optional(Type.Integer({ minimum: 0, maximum: UINT32_MAX })),
    delivery: Type.Optional(Type.Union([Type.Literal('agreed'), Type.Literal('safe')])),
  }),
  cpgMembership: Type.Object({ group: GroupName }),
  cpgGroups: None,
  cfsLs: Type.Object({ prefix: Type.Optional(Type.String()) }),
  cfsGet: Type.Object({ path: CfsPath }),
  cfsPut: Type.Object({ path: CfsPath, data: Bytes }),
  cfsRm: Type.Object({ path: CfsPath }),
  configGet: Type.Object({ version: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })) }),
  configHistory: None,
  configPropose: Type.Object({
    text: Type.Refine(
      Type.String(),
      (text) => Buffer.byteLength(text) <= CONFIG_FILE_BYTES_MAX,
      () => `must be at most ${CONFIG_FILE_BYTES_MAX} bytes`,
    ),
    force: Type.Optional(Type.Boolean()),
    dry_run: Type.Optional(Type.Boolean()),
  }),
  haStatus: None,
  haResources: None,
  haAdd: Type.Object({ section: HaSection }),
  haRemove: Type.Object({ sid: HaSid }),
  haSet: Type.Object({
    sid: HaSid,
    state: Type.Optional(Type.Union(HA_REQUESTED_STATES.map((state) => Type.Literal(state)))),
    max_restart: Type.Optional(HaCount),
    max_relocate: Type.Optional(HaCount),
    group: Type.Optional(HaGroupName),
    comment: Type.Optional(Type.String({ maxLength: HA_SECTION_BYTES_MAX })),
  }),
  haMigrate: Type.Object({ sid: HaSid, node: HaNodeId }),
  haRelocate: Type.Object({ sid: HaSid, node: HaNodeId }),
  haGroupSet: Type.Object({ section: HaSection }),
  haGroupRemove: Type.Object({ name: HaGroupName }),
  haNodeMaintenance: Type.Object({ node: HaNodeId, on: Type.Boolean() }),
  joinTokenCreate: Type.Object({
    ttl_ms: Type.Optional(Type.Integer({ minimum: JOIN_TOKEN_TTL_MIN_MS, maximum: JOIN_TOKEN_TTL_MAX_MS })),
  }),
} satisfies Record<string, TSchema>;

export type Method = keyof typeof METHOD_PARAMS;

/**
 * Which socket serves a method (docs/security.md, "The application socket"): `app` methods are served on both the
 * admin and the application socket, `admin` methods only on the admin socket. Applications get CPG, reads of the
 * file store, status, quorum and HA status; whatever changes the cluster, the node or the store is admin-only.
 */
export type MethodAccess = 'app' | 'admin';
export const METHOD_ACCESS: { readonly [M in Method]: MethodAccess } = {
  status: 'app',
  links: 'app',
  clusterLinks: 'app',
  quorum: 'app',
  qdeviceStatus: 'app',
  setExpected: 'admin',
  setVotes: 'admin',
  shutdown: 'admin',
  setLinkEnabled: 'admin',
  logs: 'admin',
  logReopen: 'admin',
  subscribe: 'app',
  cpgJoin: 'app',
  cpgLeave: 'app',
  cpgMcast: 'app',
  cpgMembership: 'app',
  cpgGroups: 'app',
  cfsLs: 'app',
  cfsGet: 'app',
  cfsPut: 'admin',
  cfsRm: 'admin',
  configGet: 'admin',
  // The running config and the runtime keys: what configGet tells, so as closed.
  cmap: 'admin',
  killNode: 'admin',
  configHistory: 'admin',
  configPropose: 'admin',
  haStatus: 'app',
  haResources: 'app',
  haAdd: 'admin',
  haRemove: 'admin',
  haSet: 'admin',
  haMigrate: 'admin',
  haRelocate: 'admin',
  haGroupSet: 'admin',
  haGroupRemove: 'admin',
  haNodeMaintenance: 'admin',
  joinTokenCreate: 'admin',
};
/** The `subscribe` topics an application may take: not the log (it names admin actions, tokens and addresses). */
export const TOPIC_ACCESS: { readonly [T in Topic]: MethodAccess } = {
  log: 'admin',
  link: 'app',
  membership: 'app',
  quorum: 'app',
  cpg: 'app',
  ha: 'app',
};

/** What of a checked request the application socket refuses (`method "setExpected"`, `topic "log"`), or undefined. */
export function adminOnlyPart(method: Method, params: Record<string, unknown>): string | undefined {
  if (METHOD_ACCESS[method] === 'admin') return `method "${method}"`;
  if (method !== 'subscribe') return undefined;
  const topic = (params as Params<'subscribe'>).topics.find((t) => TOPIC_ACCESS[t] === 'admin');
  return topic === undefined ? undefined : `topic "${topic}" of subscribe`;
}
/** The checked parameters of a method. */
export type Params<M extends Method> = Static<(typeof METHOD_PARAMS)[M]>;

export function isMethod(name: string): name is Method {
  return Object.hasOwn(METHOD_PARAMS, name);
}

/**
 * Each method's compiled check, built at its first request. Every request is checked (the daemon's and the client
 * library's `cpgMcast` included): typebox's `Value.Check` walks the schema each time, ≈ 9 µs for one `cpgMcast`, its
 * compiled check ≈ 0.1 µs (docs/benchmarks.md "CPU per agreed message").
 */
const compiledChecks = new Map<Method, Validator>();

function compiledCheck(method: Method): Validator {
  let validator = compiledChecks.get(method);
  if (validator === undefined) {
    validator = Compile(METHOD_PARAMS[method]);
    compiledChecks.set(method, validator);
  }
  return validator;
}

/** Why `params` do not fit the method's schema (naming the field), or undefined when they do. */
export function paramsProblem(method: Method, params: Record<string, unknown>): string | undefined {
  if (compiledCheck(method).Check(params)) return undefined;
  const schema: TSchema = METHOD_PARAMS[method];
  const errors = [...Value.Errors(schema, params)];
  const [error] = errors;
  if (!error) return 'params do not fit the method';
  if (error.keyword === 'required') {
    const missing = (error.params as { requiredProperties?: string[] }).requiredProperties ?? [];
    return `${missing.join(', ')} is required`;
  }
  const field = error.instancePath.slice(1).replaceAll('/', '.') || 'params';
  if (error.keyword === 'const') {
    const allowed = errors
      .filter((e) => e.keyword === 'const' && e.instancePath === error.instancePath)
      .map((e) => String((e.params as { allowedValue?: unknown }).allowedValue));
    return `${field} must be one of ${allowed.join(', ')}`;
  }
  return `${field} ${error.message}`;
}

/** `joinTokenCreate`: a one-time join token for `corolink add` (what `corolink join-token` prints). */
export interface JoinTokenInfo {
  token: string;
  id: string;
  expires: string;
  fingerprint: string;
  /** Where joiners can reach this member: its address on the lowest link and the join port. */
  address: string;
  port: number;
}

/**
 * What the pre-flight reachability probe of a new link found (`configPropose` of a change that adds links; printed
 * by `corolink link add`, dry run and commit): every member's answer and every pair of members.
 */
export interface LinkProbeResult {
  link: number;
  port: number;
  nodes: {
    nodeid: number;
    address: string | null;
    /** Why the node could not take part (no answer, cannot bind), or null. */
    error: string | null;
  }[];
  pairs: {
    nodeid: number;
    peer: number;
    /** Each heard the other. */
    reachable: boolean;
    /** The direction that failed (`3 → 1`, `either way`), or null when reachable. */
    failed: string | null;
    /** Lowest round trip of a probe between the two, in ms; null when none came back. */
    rtt_ms: number | null;
  }[];
}
