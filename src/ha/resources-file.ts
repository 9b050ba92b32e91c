/**
 * `ha/resources.cfg` in ha-manager's section format (PVE::SectionConfig): a section header `TYPE: NAME` at column
 * 1, then indented `key value` lines, sections separated by blank lines; `#` starts a comment line.
 *
 *     ip: vip
 *         address 198.18.100.100/24
 *         interface eth1
 *
 *     exec: web
 *         start /usr/local/bin/web start
 *         stop /usr/local/bin/web stop
 *         monitor /usr/local/bin/web status
 *
 *     group: webgroup
 *         resources ip:vip,exec:web
 *         nodes n1:2,n2:1
 *
 * Parsing is all-or-nothing: the first error names line:column and nothing of the text is taken. Every default is
 * in {@link HA_RESOURCE_DEFAULTS}; `printResources` writes only what differs from it, so parse ∘ print is stable.
 */
import type { HaRequestedState, HaResourceSettings, HaResourceSpec } from './contract.ts';

export const HA_RESOURCE_DEFAULTS = {
  state: 'started',
  maxRestart: 1,
  maxRelocate: 1,
  /** How long one start/stop may take before it counts as failed. */
  timeoutMs: 30_000,
  /** Between two monitor runs of a started resource (ha-manager's LRM checks its services every 10 s round). */
  monitorIntervalMs: 10_000,
  /** How long one monitor may take before it counts as failed. */
  monitorTimeoutMs: 10_000,
} as const satisfies Pick<
  HaResourceSettings,
  'state' | 'maxRestart' | 'maxRelocate' | 'monitorIntervalMs' | 'monitorTimeoutMs'
> & { timeoutMs: number };

/** The most restarts or relocations a resource may ask for (a typo of 1000 should not loop for hours). */
export const HA_RETRIES_MAX = 10;
/** The longest command timeout, in seconds as written. */
export const HA_TIMEOUT_S_MAX = 3600;
/** Names of resources and groups: ha-manager's `[a-z][a-z0-9_.-]*`-like ids. */
const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const REQUESTED_STATES: readonly HaRequestedState[] = ['started', 'stopped', 'disabled', 'ignored'];
const RESOURCE_TYPES = ['exec', 'systemd', 'ip'] as const;

export type HaResourceType = (typeof RESOURCE_TYPES)[number];

export interface HaResource {
  spec: HaResourceSpec;
  settings: HaResourceSettings;
}

/** A node rule of a group: a node (name or id, as written) and its priority (higher is preferred). */
export interface HaGroupNode {
  node: string;
  priority: number;
}

export interface HaGroup {
  name: string;
  /** Member sids in start order (stopped in reverse). */
  resources: string[];
  nodes: HaGroupNode[];
  /** Only the listed nodes may run it. */
  restricted: boolean;
  /** Do not move back to a node of higher priority when it returns. */
  nofailback: boolean;
  comment?: string;
}

export interface HaResourcesConfig {
  /** In file order. */
  resources: HaResource[];
  groups: HaGroup[];
}

export class HaResourcesError extends Error {
  constructor(
    readonly line: number,
    readonly column: number,
    readonly detail: string,
  ) {
    super(`ha/resources.cfg:${line}:${column}: ${detail}`);
  }
}

export type ParseResult = { ok: true; config: HaResourcesConfig } | { ok: false; error: HaResourcesError };

interface Section {
  type: string;
  name: string;
  line: number;
  column: number;
  keys: Map<string, { value: string; line: number; column: number }>;
}

/** Parses the whole text; on any error returns it (line:column) and no config. */
export function parseResources(text: string): ParseResult {
  try {
    return { ok: true, config: build(sections(text)) };
  } catch (error) {
    if (error instanceof HaResourcesError) return { ok: false, error };
    throw error;
  }
}

/** An empty configuration. */
export function emptyResources(): HaResourcesConfig {
  return { resources: [], groups: [] };
}

function sections(text: string): Section[] {
  const out: Section[] = [];
  let current: Section | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    const content = raw.replace(/\r$/, '');
    const trimmed = content.trim();
    if (trimmed === '' || trimmed.startsWith('#')) {
      if (trimmed === '') current = undefined;
      return;
    }
    const indent = content.length - content.trimStart().length;
    if (indent === 0) {
      const header = /^([A-Za-z]+):\s*(\S+)\s*$/.exec(content);
      if (!header) throw new HaResourcesError(line, 1, `expected a section header "TYPE: NAME", got "${trimmed}"`);
      const [, type, name] = header as unknown as [string, string, string];
      if (type !== 'group' && !(RESOURCE_TYPES as readonly string[]).includes(type)) {
        throw new HaResourcesError(line, 1, `unknown section type "${type}" (exec, systemd, ip or group)`);
      }
      if (!NAME_PATTERN.test(name)) {
        throw new HaResourcesError(line, content.indexOf(name) + 1, `"${name}" is not a valid name`);
      }
      current = { type, name, line, column: 1, keys: new Map() };
      out.push(current);
      return;
    }
    if (!current) throw new HaResourcesError(line, indent + 1, 'a property line outside any section');
    const match = /^(\S+)(?:\s+(.*))?$/.exec(trimmed)!;
    const key = match[1]!;
    const value = (match[2] ?? '').trim();
    if (current.keys.has(key)) throw new HaResourcesError(line, indent + 1, `"${key}" is set twice in this section`);
    if (value === '') throw new HaResourcesError(line, indent + 1, `"${key}" has no value`);
    current.keys.set(key, { value, line, column: indent + key.length + 2 });
  });
  return out;
}

/** Keys each section type takes, beside the common ones. */
const COMMON_KEYS = [
  'state',
  'max_restart',
  'max_relocate',
  'group',
  'comment',
  'timeout',
  'monitor_interval',
  'monitor_timeout',
];
const TYPE_KEYS: Record<string, readonly string[]> = {
  exec: ['start', 'stop', 'monitor', 'user'],
  systemd: ['unit'],
  ip: ['address', 'interface'],
  group: ['resources', 'nodes', 'restricted', 'nofailback', 'comment'],
};

function build(list: Section[]): HaResourcesConfig {
  const config = emptyResources();
  const seen = new Map<string, Section>();
  for (const section of list) {
    const id = `${section.type}:${section.name}`;
    if (seen.has(id)) throw at(section, `${id} is defined twice (first on line ${seen.get(id)!.line})`);
    seen.set(id, section);
    const allowed = section.type === 'group' ? TYPE_KEYS.group! : [...COMMON_KEYS, ...TYPE_KEYS[section.type]!];
    for (const [key, entry] of section.keys) {
      if (!allowed.includes(key)) {
        throw new HaResourcesError(entry.line, entry.column - key.length - 1, `unknown key "${key}" in ${id}`);
      }
    }
    if (section.type === 'group') config.groups.push(group(section));
    else config.resources.push(resource(section));
  }
  checkGroups(config, seen);
  return config;
}

function at(section: Section, detail: string): HaResourcesError {
  return new HaResourcesError(section.line, section.column, detail);
}

function required(section: Section, key: string): string {
  const entry = section.keys.get(key);
  if (entry === undefined) throw at(section, `${section.type}:${section.name} needs "${key}"`);
  return entry.value;
}

function integer(section: Section, key: string, fallback: number, max: number): number {
  const entry = section.keys.get(key);
  if (entry === undefined) return fallback;
  if (!/^\d+$/.test(entry.value) || Number(entry.value) > max) {
    throw new HaResourcesError(entry.line, entry.column, `${key} must be an integer 0–${max}, got "${entry.value}"`);
  }
  return Number(entry.value);
}

function flag(section: Section, key: string): boolean {
  const entry = section.keys.get(key);
  if (entry === undefined) return false;
  if (entry.value !== '0' && entry.value !== '1') {
    throw new HaResourcesError(entry.line, entry.column, `${key} must be 0 or 1, got "${entry.value}"`);
  }
  return entry.value === '1';
}

/** A duration key in seconds (1 s – HA_TIMEOUT_S_MAX), as ms. */
function seconds(section: Section, key: string, fallbackMs: number): number {
  const ms = integer(section, key, fallbackMs / 1000, HA_TIMEOUT_S_MAX) * 1000;
  if (ms === 0) throw at(section, `${section.type}:${section.name}: ${key} must be at least 1 s`);
  return ms;
}

function resource(section: Section): HaResource {
  const sid = `${section.type}:${section.name}`;
  const timeoutMs = seconds(section, 'timeout', HA_RESOURCE_DEFAULTS.timeoutMs);
  const state = section.keys.get('state');
  if (state !== undefined && !(REQUESTED_STATES as readonly string[]).includes(state.value)) {
    throw new HaResourcesError(state.line, state.column, `state must be one of ${REQUESTED_STATES.join(', ')}`);
  }
  const settings: HaResourceSettings = {
    state: (state?.value as HaRequestedState | undefined) ?? HA_RESOURCE_DEFAULTS.state,
    maxRestart: integer(section, 'max_restart', HA_RESOURCE_DEFAULTS.maxRestart, HA_RETRIES_MAX),
    maxRelocate: integer(section, 'max_relocate', HA_RESOURCE_DEFAULTS.maxRelocate, HA_RETRIES_MAX),
    monitorIntervalMs: seconds(section, 'monitor_interval', HA_RESOURCE_DEFAULTS.monitorIntervalMs),
    monitorTimeoutMs: seconds(section, 'monitor_timeout', HA_RESOURCE_DEFAULTS.monitorTimeoutMs),
  };
  const groupName = section.keys.get('group')?.value;
  if (groupName !== undefined) settings.group = groupName;
  const comment = section.keys.get('comment')?.value;
  if (comment !== undefined) settings.comment = comment;
  switch (section.type as HaResourceType) {
    case 'exec': {
      const user = section.keys.get('user')?.value;
      return {
        settings,
        spec: {
          type: 'exec',
          sid,
          start: required(section, 'start'),
          stop: required(section, 'stop'),
          monitor: required(section, 'monitor'),
          ...(user === undefined ? {} : { user }),
          timeoutMs,
        },
      };
    }
    case 'systemd': {
      const unit = required(section, 'unit');
      if (/\s/.test(unit)) throw at(section, `${sid}: unit "${unit}" contains a space`);
      return { settings, spec: { type: 'systemd', sid, unit, timeoutMs } };
    }
    case 'ip': {
      const entry = section.keys.get('address');
      const address = required(section, 'address');
      const cidr = /^(\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f:]+:[0-9A-Fa-f:.]*)\/(\d{1,3})$/.exec(address);
      const v4 = cidr !== null && cidr[1]!.includes('.');
      const prefixLength = cidr ? Number(cidr[2]) : -1;
      const octetsOk = !v4 || cidr![1]!.split('.').every((octet) => Number(octet) <= 255);
      if (!cidr || !octetsOk || prefixLength > (v4 ? 32 : 128)) {
        throw new HaResourcesError(entry!.line, entry!.column, `address must be ADDRESS/PREFIX, got "${address}"`);
      }
      const iface = required(section, 'interface');
      return {
        settings,
        spec: { type: 'ip', sid, address: cidr[1]!, prefixLength, interface: iface, timeoutMs },
      };
    }
  }
}

function group(section: Section): HaGroup {
  const resources = required(section, 'resources')
    .split(',')
    .map((s) => s.trim());
  const entry = section.keys.get('resources')!;
  if (resources.some((sid) => sid === '') || new Set(resources).size !== resources.length) {
    throw new HaResourcesError(entry.line, entry.column, 'resources must be a list of distinct sids "a,b"');
  }
  const nodes: HaGroupNode[] = [];
  const nodesEntry = section.keys.get('nodes');
  for (const item of nodesEntry?.value.split(',') ?? []) {
    const match = /^\s*([A-Za-z0-9][A-Za-z0-9_.-]*)(?::(\d{1,4}))?\s*$/.exec(item);
    if (!match || nodes.some((n) => n.node === match[1])) {
      throw new HaResourcesError(nodesEntry!.line, nodesEntry!.column, `"${item}" is not NODE[:PRIORITY] (or twice)`);
    }
    nodes.push({ node: match[1]!, priority: match[2] === undefined ? 0 : Number(match[2]) });
  }
  const out: HaGroup = {
    name: section.name,
    resources,
    nodes,
    restricted: flag(section, 'restricted'),
    nofailback: flag(section, 'nofailback'),
  };
  const comment = section.keys.get('comment')?.value;
  if (comment !== undefined) out.comment = comment;
  if (out.restricted && nodes.length === 0) throw at(section, `group ${section.name}: restricted needs nodes`);
  return out;
}

function checkGroups(config: HaResourcesConfig, seen: Map<string, Section>): void {
  const owner = new Map<string, string>();
  for (const g of config.groups) {
    const section = seen.get(`group:${g.name}`)!;
    for (const sid of g.resources) {
      if (!config.resources.some((r) => r.spec.sid === sid)) throw at(section, `group ${g.name}: no resource ${sid}`);
      if (owner.has(sid)) throw at(section, `${sid} is in groups ${owner.get(sid)} and ${g.name}`);
      owner.set(sid, g.name);
    }
  }
  for (const r of config.resources) {
    const section = seen.get(r.spec.sid)!;
    const named = r.settings.group;
    if (named !== undefined && owner.get(r.spec.sid) !== named) {
      throw at(section, `${r.spec.sid} names group ${named}, which does not list it in "resources"`);
    }
    if (owner.has(r.spec.sid)) r.settings.group = owner.get(r.spec.sid)!;
  }
}

/** Writes the config in section format; keys at their defaults are left out. */
export function printResources(config: HaResourcesConfig): string {
  const blocks: string[] = [];
  for (const { spec, settings } of config.resources) {
    const [type, name] = splitSid(spec.sid);
    const lines = [`${type}: ${name}`];
    switch (spec.type) {
      case 'exec':
        lines.push(`\tstart ${spec.start}`, `\tstop ${spec.stop}`, `\tmonitor ${spec.monitor}`);
        if (spec.user !== undefined) lines.push(`\tuser ${spec.user}`);
        break;
      case 'systemd':
        lines.push(`\tunit ${spec.unit}`);
        break;
      case 'ip':
        lines.push(`\taddress ${spec.address}/${spec.prefixLength}`, `\tinterface ${spec.interface}`);
        break;
    }
    if (spec.timeoutMs !== HA_RESOURCE_DEFAULTS.timeoutMs) lines.push(`\ttimeout ${spec.timeoutMs / 1000}`);
    if (settings.state !== HA_RESOURCE_DEFAULTS.state) lines.push(`\tstate ${settings.state}`);
    if (settings.maxRestart !== HA_RESOURCE_DEFAULTS.maxRestart) lines.push(`\tmax_restart ${settings.maxRestart}`);
    if (settings.maxRelocate !== HA_RESOURCE_DEFAULTS.maxRelocate) {
      lines.push(`\tmax_relocate ${settings.maxRelocate}`);
    }
    if (settings.monitorIntervalMs !== HA_RESOURCE_DEFAULTS.monitorIntervalMs) {
      lines.push(`\tmonitor_interval ${settings.monitorIntervalMs / 1000}`);
    }
    if (settings.monitorTimeoutMs !== HA_RESOURCE_DEFAULTS.monitorTimeoutMs) {
      lines.push(`\tmonitor_timeout ${settings.monitorTimeoutMs / 1000}`);
    }
    if (settings.group !== undefined) lines.push(`\tgroup ${settings.group}`);
    if (settings.comment !== undefined) lines.push(`\tcomment ${settings.comment}`);
    blocks.push(lines.join('\n'));
  }
  for (const g of config.groups) {
    const lines = [`group: ${g.name}`, `\tresources ${g.resources.join(',')}`];
    if (g.nodes.length > 0) lines.push(`\tnodes ${g.nodes.map((n) => `${n.node}:${n.priority}`).join(',')}`);
    if (g.restricted) lines.push('\trestricted 1');
    if (g.nofailback) lines.push('\tnofailback 1');
    if (g.comment !== undefined) lines.push(`\tcomment ${g.comment}`);
    blocks.push(lines.join('\n'));
  }
  return blocks.length === 0 ? '' : `${blocks.join('\n\n')}\n`;
}

/** `exec:web` → ['exec', 'web']. */
export function splitSid(sid: string): [string, string] {
  const colon = sid.indexOf(':');
  return [sid.slice(0, colon), sid.slice(colon + 1)];
}

/**
 * The configuration `config` with the sections of `section` added (or, with `replace`, replacing those of the same
 * ids). An error names its line:column within `section` when it is there.
 */
export function addSections(config: HaResourcesConfig, section: string, replace: boolean): ParseResult {
  let added: Section[];
  try {
    added = sections(section);
  } catch (error) {
    if (error instanceof HaResourcesError) return { ok: false, error };
    throw error;
  }
  if (added.length === 0) return { ok: false, error: new HaResourcesError(1, 1, 'no section given') };
  const ids = new Set(added.map((s) => `${s.type}:${s.name}`));
  const exists = (id: string) =>
    config.resources.some((r) => r.spec.sid === id) || config.groups.some((g) => `group:${g.name}` === id);
  const twice = added.find((s) => exists(`${s.type}:${s.name}`));
  if (twice && !replace) return { ok: false, error: at(twice, `${twice.type}:${twice.name} exists already`) };
  const base = printResources({
    resources: config.resources.filter((r) => !ids.has(r.spec.sid)),
    groups: config.groups.filter((g) => !ids.has(`group:${g.name}`)),
  });
  const offset = base === '' ? 0 : base.split('\n').length;
  const merged = parseResources(base === '' ? section : `${base}\n${section}`);
  if (merged.ok || merged.error.line <= offset) return merged;
  return {
    ok: false,
    error: new HaResourcesError(merged.error.line - offset, merged.error.column, merged.error.detail),
  };
}
