/**
 * The resources.cfg sections `corolink ha add` and `ha group add|set` send (ha-manager's section format: a
 * `TYPE: NAME` header, then one tab-indented `key value` line per property). Only the shape is checked here
 * (which options fit which type, no line breaks in values); the daemon validates the section itself.
 */
import { HA_RESOURCE_TYPES } from '../ipc/methods.ts';
import { CliError, ExitCode } from './exit-codes.ts';

export type HaResourceType = (typeof HA_RESOURCE_TYPES)[number];

/** The options of `ha add` that become section keys, by the key they set. */
export interface HaResourceOptions {
  state?: string;
  maxRestart?: string;
  maxRelocate?: string;
  group?: string;
  comment?: string;
  start?: string;
  stop?: string;
  monitor?: string;
  user?: string;
  timeout?: string;
  monitorInterval?: string;
  monitorTimeout?: string;
  unit?: string;
  address?: string;
  interface?: string;
}

/** Per type: the options it needs, then the ones it may have (beside the settings every type takes). */
const TYPE_OPTIONS: Record<
  HaResourceType,
  { required: (keyof HaResourceOptions)[]; optional: (keyof HaResourceOptions)[] }
> = {
  exec: { required: ['start', 'stop', 'monitor'], optional: ['user', 'timeout'] },
  systemd: { required: ['unit'], optional: ['timeout'] },
  ip: { required: ['address', 'interface'], optional: ['timeout'] },
};
/** Settings every resource takes, in the order they are written, with their section key. */
const SETTING_KEYS: [keyof HaResourceOptions, string][] = [
  ['state', 'state'],
  ['maxRestart', 'max_restart'],
  ['maxRelocate', 'max_relocate'],
  ['group', 'group'],
  ['comment', 'comment'],
  ['monitorInterval', 'monitor_interval'],
  ['monitorTimeout', 'monitor_timeout'],
];
/** Every type-specific option (its section key is its name). */
const TYPE_SPECIFIC = new Set(
  Object.values(TYPE_OPTIONS).flatMap(({ required, optional }) => [...required, ...optional]),
);
const allowedFor = (type: HaResourceType) => [...TYPE_OPTIONS[type].required, ...TYPE_OPTIONS[type].optional];

const flag = (option: string) => `--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

function line(key: string, value: string, what: string): string {
  if (/[\r\n]/.test(value)) throw new CliError(`${what} must be one line`, ExitCode.usage);
  if (value.trim() === '') throw new CliError(`${what} must not be empty`, ExitCode.usage);
  return `\t${key} ${value}`;
}

/** The type of a service id `TYPE:NAME`; a usage error naming the id otherwise. */
export function resourceType(sid: string): HaResourceType {
  const type = sid.slice(0, sid.indexOf(':')) as HaResourceType;
  if (!sid.includes(':') || !HA_RESOURCE_TYPES.includes(type)) {
    throw new CliError(
      `service id '${sid}' must be TYPE:NAME with TYPE one of ${HA_RESOURCE_TYPES.join(', ')}`,
      ExitCode.usage,
    );
  }
  return type;
}

/** The section of `ha add SID …`: `exec: web` then the settings and the type's keys. */
export function resourceSection(sid: string, options: HaResourceOptions): string {
  const type = resourceType(sid);
  const { required } = TYPE_OPTIONS[type];
  const allowed = allowedFor(type);
  for (const option of TYPE_SPECIFIC) {
    if (options[option] === undefined || allowed.includes(option)) continue;
    const owners = HA_RESOURCE_TYPES.filter((other) => allowedFor(other).includes(option));
    throw new CliError(`${flag(option)} is for ${owners.join('/')} resources, not ${type}`, ExitCode.usage);
  }
  const missing = required.filter((option) => options[option] === undefined).map(flag);
  if (missing.length > 0) throw new CliError(`${type} resources need ${missing.join(', ')}`, ExitCode.usage);
  const lines = [`${type}: ${sid.slice(type.length + 1)}`];
  for (const [option, key] of SETTING_KEYS) {
    const value = options[option];
    if (value !== undefined) lines.push(line(key, value, flag(option)));
  }
  for (const option of allowed) {
    const value = options[option];
    if (value !== undefined) lines.push(line(option, value, flag(option)));
  }
  return `${lines.join('\n')}\n`;
}

export interface HaGroupOptions {
  /** Service ids, in start order. */
  resources?: readonly string[];
  /** Node names with an optional priority: `n1:2`. */
  nodes?: readonly string[];
  restricted?: boolean;
  nofailback?: boolean;
  comment?: string;
}

/** The section of `ha group add|set NAME …`: `group: NAME` then its keys. */
export function groupSection(name: string, options: HaGroupOptions): string {
  if ((options.resources ?? []).length === 0 && (options.nodes ?? []).length === 0) {
    throw new CliError('a group needs --resources or --nodes', ExitCode.usage);
  }
  const lines = [`group: ${name}`];
  if (options.resources?.length) {
    for (const sid of options.resources) resourceType(sid);
    lines.push(line('resources', options.resources.join(','), '--resources'));
  }
  if (options.nodes?.length) lines.push(line('nodes', options.nodes.join(','), '--nodes'));
  if (options.restricted) lines.push('\trestricted 1');
  if (options.nofailback) lines.push('\tnofailback 1');
  if (options.comment !== undefined) lines.push(line('comment', options.comment, '--comment'));
  return `${lines.join('\n')}\n`;
}

/** Whether resources.cfg `text` has a section `group: NAME`. */
export function hasGroup(text: string, name: string): boolean {
  return text.split('\n').some((l) => /^group:\s*(\S+)\s*$/.exec(l)?.[1] === name);
}
