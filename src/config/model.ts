/**
 * From syntax tree to typed model. Each known key's text is converted by its schema type (schema.ts) and
 * range-checked with typebox; unknown keys and sections are kept in `extra` and reported as warnings, never
 * dropped. Every value's source position is recorded in `sources` under its cmap-style dotted path
 * (`totem.token`, `nodelist.node.0.ring1_addr`, `totem.interface.1.linknumber`; indices count sections in file
 * order, as corosync's cmap does for nodes).
 */
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { type Diagnostic, diagnostic, type SourcePosition } from './diagnostics.ts';
import { LEGACY_KEY_ADVICE } from './legacy.ts';
import {
  type BooleanSpelling,
  type CorolinkKeys,
  CorolinkSchema,
  type InterfaceKeys,
  InterfaceSchema,
  keySchema,
  type LoggerSubsysKeys,
  LoggerSubsysSchema,
  type LoggingKeys,
  LoggingSchema,
  type NodeKeys,
  NodelistSchema,
  NodeSchema,
  type QuorumDeviceKeys,
  type QuorumDeviceNetKeys,
  QuorumDeviceNetSchema,
  QuorumDeviceSchema,
  type QuorumKeys,
  QuorumSchema,
  RING_ADDRESS_KEYS,
  type SystemKeys,
  SystemSchema,
  type TotemKeys,
  TotemSchema,
} from './schema.ts';
import {
  type ConfigTree,
  type Container,
  keyPosition,
  type PairLine,
  type SectionNode,
  sectionPosition,
  valuePosition,
} from './syntax.ts';
import { UIDGID_KEYS, type UidGidEntry, uidgidValueProblem } from './uidgid.ts';

/** One `interface { }` of totem, with its position in file order. */
export interface InterfaceConfig extends InterfaceKeys {
  /** 0-based index among the interface sections. */
  index: number;
}

/** One address of a node: `ring<link>_addr`. */
export interface NodeAddress {
  link: number;
  address: string;
}

/** One `node { }` of the nodelist. */
export interface NodeConfig extends NodeKeys {
  /** 0-based index in the nodelist (corosync's `nodelist.node.<index>`). */
  index: number;
  /** The node's ringN_addr values, by link number. */
  addresses: NodeAddress[];
}

/** `quorum { device { net { } } }` as written. */
export interface QuorumDeviceConfig extends QuorumDeviceKeys {
  /** The `net { }` subsection; absent when the file has none. */
  net?: QuorumDeviceNetKeys;
}

/** A key or section corolink does not know, kept as written. */
export interface ExtraEntry {
  path: string;
  value: string | null;
  position: SourcePosition;
}

/** The typed content of a corosync.conf. Missing keys are absent; defaults live in defaults.ts. */
export interface ClusterConfig {
  fileName: string;
  /** Top-level sections present, in file order (repeats once). */
  sections: string[];
  totem: TotemKeys;
  interfaces: InterfaceConfig[];
  nodes: NodeConfig[];
  quorum: QuorumKeys;
  /** `quorum { device { } }`; absent when the file has none (the last one counts, as in corosync's cmap). */
  quorumDevice?: QuorumDeviceConfig;
  logging: LoggingKeys;
  loggerSubsys: LoggerSubsysKeys[];
  system: SystemKeys;
  corolink: CorolinkKeys;
  /** `uidgid { uid: … gid: … }`: who may use the application socket (docs/security.md). */
  uidgid: UidGidEntry[];
  /** Where each value (and section) came from, by dotted path. */
  sources: Record<string, SourcePosition>;
  /** Unknown keys and sections. */
  extra: ExtraEntry[];
}

/** What `buildModel` returns. */
export interface ModelResult {
  config: ClusterConfig;
  diagnostics: Diagnostic[];
}

/** Top-level sections corosync knows but corolink does not use: kept silently. */
const IGNORED_SECTIONS: ReadonlySet<string> = new Set(['resources', 'nozzle', 'pload']);
/** corosync 1/2 sections: kept here, rejected by validation (legacy.ts). */
const LEGACY_SECTIONS: ReadonlySet<string> = new Set(['aisexec', 'service', 'amf']);
/** corosync 1/2 top-level keys, rejected by validation. */
const LEGACY_TOP_LEVEL_KEYS: ReadonlySet<string> = new Set(['compatibility']);

type ConversionResult = { ok: true; value: unknown } | { ok: false; severity: 'error' | 'warning'; message: string };

const INTEGER = /^[+-]?\d+$/;

function describeRange(schema: TSchema): string {
  const { minimum, maximum } = schema as { minimum?: number; maximum?: number };
  if (maximum === undefined) return `at least ${minimum}`;
  return `${minimum}–${maximum}`;
}

/** Converts a key's text by its schema, the way corosync reads that key. */
export function convertValue(key: string, raw: string, schema: TSchema): ConversionResult {
  const s = schema as { type?: string; spelling?: BooleanSpelling; anyOf?: { const: string }[] };
  if (s.type === 'integer') {
    if (!INTEGER.test(raw)) return { ok: false, severity: 'error', message: `${key}: '${raw}' is not an integer` };
    const value = Number(raw);
    if (!Value.Check(schema, value)) {
      return { ok: false, severity: 'error', message: `${key}: ${raw} is out of range (${describeRange(schema)})` };
    }
    return { ok: true, value };
  }
  if (s.type === 'boolean' && s.spelling === 'flag') {
    if (raw === '0' || raw === '1') return { ok: true, value: raw === '1' };
    return {
      ok: false,
      severity: 'error',
      message: `${key}: '${raw}' must be 0 or 1 (votequorum reads a number here, not yes/no)`,
    };
  }
  if (s.type === 'boolean') {
    if (raw === 'yes' || raw === 'on') return { ok: true, value: true };
    if (raw === 'no' || raw === 'off') return { ok: true, value: false };
    return {
      ok: false,
      severity: 'warning',
      message: `${key}: '${raw}' is not yes/no or on/off; corosync does not recognise it and uses the default`,
    };
  }
  if (s.anyOf) {
    const allowed = s.anyOf.map((option) => option.const);
    if (allowed.includes(raw)) return { ok: true, value: raw };
    return { ok: false, severity: 'error', message: `${key}: '${raw}' is not one of ${allowed.join(', ')}` };
  }
  return { ok: true, value: raw };
}

class ModelBuilder {
  readonly diagnostics: Diagnostic[] = [];
  readonly config: ClusterConfig;

  constructor(private readonly tree: ConfigTree) {
    this.config = {
      fileName: tree.fileName,
      sections: [],
      totem: {},
      interfaces: [],
      nodes: [],
      quorum: {},
      logging: {},
      loggerSubsys: [],
      system: {},
      corolink: {},
      uidgid: [],
      sources: {},
      extra: [],
    };
  }

  private warn(code: string, position: SourcePosition, message: string): void {
    this.diagnostics.push(diagnostic('warning', code, this.tree.fileName, position, message));
  }

  private keepExtra(path: string, value: string | null, position: SourcePosition): void {
    this.config.extra.push({ path, value, position });
  }

  /** Reads the pairs of one section into `target`, converting known keys; returns nothing, fills sources. */
  private readPairs(container: Container, schema: TSchema, path: string, target: object): void {
    for (const child of container.children) {
      if (child.kind !== 'pair') continue;
      this.readPair(child, schema, path, target);
    }
  }

  private readPair(pair: PairLine, schema: TSchema, path: string, target: object): void {
    const keyPath = `${path}.${pair.key}`;
    const property = keySchema(schema, pair.key);
    if (!property) {
      this.keepExtra(keyPath, pair.value, keyPosition(pair));
      // corosync 1/2 keys are explained as errors by validation (legacy.ts); no second message here.
      if (LEGACY_KEY_ADVICE[path]?.[pair.key]) return;
      this.warn('unknown-key', keyPosition(pair), `unknown key '${pair.key}' in ${path}; kept but ignored`);
      return;
    }
    this.config.sources[keyPath] = valuePosition(pair);
    const result = convertValue(pair.key, pair.value, property);
    if (result.ok) {
      (target as Record<string, unknown>)[pair.key] = result.value;
      return;
    }
    // A later valid repeat must not be shadowed by an earlier one: drop the stale value.
    delete (target as Record<string, unknown>)[pair.key];
    this.diagnostics.push(diagnostic(result.severity, 'type', this.tree.fileName, valuePosition(pair), result.message));
  }

  private unknownSection(section: SectionNode, path: string, message?: string): void {
    this.keepExtra(`${path}.${section.name}`, null, sectionPosition(section));
    this.warn(
      'unknown-section',
      sectionPosition(section),
      message ?? `unknown section '${section.name}' in ${path}; kept but ignored`,
    );
  }

  build(): ModelResult {
    for (const child of this.tree.children) {
      if (child.kind === 'pair') {
        if (LEGACY_TOP_LEVEL_KEYS.has(child.key)) continue;
        this.keepExtra(child.key, child.value, keyPosition(child));
        this.warn('unknown-key', keyPosition(child), `key '${child.key}' outside any section; kept but ignored`);
        continue;
      }
      if (child.kind !== 'section') continue;
      if (!this.config.sections.includes(child.name)) this.config.sections.push(child.name);
      this.config.sources[child.name] ??= sectionPosition(child);
      this.readTopSection(child);
    }
    return { config: this.config, diagnostics: this.diagnostics };
  }

  /** The reader of each top-level section corolink models. */
  private readonly topLevelReaders: Readonly<Record<string, (section: SectionNode) => void>> = {
    totem: (section) => this.readTotem(section),
    nodelist: (section) => this.readNodelist(section),
    quorum: (section) => this.readQuorum(section),
    logging: (section) => this.readLogging(section),
    system: (section) => this.readPairs(section, SystemSchema, 'system', this.config.system),
    corolink: (section) => this.readSimple(section, CorolinkSchema, 'corolink', this.config.corolink),
    uidgid: (section) => this.readUidgid(section),
  };

  private readTopSection(section: SectionNode): void {
    const reader = this.topLevelReaders[section.name];
    if (reader) reader(section);
    else if (!IGNORED_SECTIONS.has(section.name) && !LEGACY_SECTIONS.has(section.name)) {
      this.unknownSection(section, 'the file', `unknown section '${section.name}'; kept but ignored`);
    }
  }

  private readSimple(section: SectionNode, schema: TSchema, path: string, target: object): void {
    this.readPairs(section, schema, path, target);
    for (const child of section.children) if (child.kind === 'section') this.unknownSection(child, path);
  }

  /** One `uidgid { }`: each `uid:` and `gid:` a name or a number; anything else inside is an error. */
  private readUidgid(section: SectionNode): void {
    const entry: UidGidEntry = { file: this.tree.fileName, position: sectionPosition(section) };
    let named = false;
    for (const child of section.children) {
      if (child.kind === 'section') {
        this.diagnostics.push(
          diagnostic('error', 'uidgid', this.tree.fileName, sectionPosition(child), `a section inside uidgid`),
        );
        continue;
      }
      if (child.kind !== 'pair') continue;
      const key = child.key;
      if (!(UIDGID_KEYS as readonly string[]).includes(key)) {
        const message = `unknown key '${key}' in uidgid (it holds uid: and gid:)`;
        this.diagnostics.push(diagnostic('error', 'uidgid', this.tree.fileName, keyPosition(child), message));
        continue;
      }
      named = true;
      const problem = uidgidValueProblem(key as 'uid' | 'gid', child.value);
      if (problem !== undefined) {
        this.diagnostics.push(diagnostic('error', 'uidgid', this.tree.fileName, valuePosition(child), problem));
        continue;
      }
      entry[key as 'uid' | 'gid'] = { value: child.value, position: valuePosition(child) };
    }
    if (!named) {
      const message = 'uidgid names no uid: or gid: (it lets nobody in)';
      this.diagnostics.push(diagnostic('error', 'uidgid', this.tree.fileName, entry.position, message));
      return;
    }
    if (entry.uid !== undefined || entry.gid !== undefined) this.config.uidgid.push(entry);
  }

  private readTotem(section: SectionNode): void {
    this.readPairs(section, TotemSchema, 'totem', this.config.totem);
    for (const child of section.children) {
      if (child.kind !== 'section') continue;
      if (child.name !== 'interface') {
        this.unknownSection(child, 'totem');
        continue;
      }
      const index = this.config.interfaces.length;
      const path = `totem.interface.${index}`;
      const iface: InterfaceConfig = { index };
      this.config.sources[path] = sectionPosition(child);
      this.readPairs(child, InterfaceSchema, path, iface);
      // member {} is corosync 1 udpu: validation explains it; anything else is unknown.
      for (const inner of child.children) {
        if (inner.kind === 'section' && inner.name !== 'member') this.unknownSection(inner, path);
      }
      this.config.interfaces.push(iface);
    }
  }

  private readNodelist(section: SectionNode): void {
    this.readPairs(section, NodelistSchema, 'nodelist', {});
    for (const child of section.children) {
      if (child.kind !== 'section') continue;
      if (child.name !== 'node') {
        this.unknownSection(child, 'nodelist');
        continue;
      }
      const index = this.config.nodes.length;
      const path = `nodelist.node.${index}`;
      const node: NodeConfig = { index, addresses: [] };
      this.config.sources[path] = sectionPosition(child);
      this.readSimple(child, NodeSchema, path, node);
      RING_ADDRESS_KEYS.forEach((key, link) => {
        const address: unknown = (node as unknown as Record<string, unknown>)[key];
        if (typeof address === 'string') node.addresses.push({ link, address });
      });
      this.config.nodes.push(node);
    }
  }

  private readQuorum(section: SectionNode): void {
    this.readPairs(section, QuorumSchema, 'quorum', this.config.quorum);
    for (const child of section.children) {
      if (child.kind !== 'section') continue;
      if (child.name === 'device') this.readQuorumDevice(child);
      else this.unknownSection(child, 'quorum');
    }
  }

  private readQuorumDevice(section: SectionNode): void {
    const path = 'quorum.device';
    const device: QuorumDeviceConfig = {};
    this.config.sources[path] = sectionPosition(section);
    this.readPairs(section, QuorumDeviceSchema, path, device);
    for (const child of section.children) {
      if (child.kind !== 'section') continue;
      if (child.name !== 'net') {
        const message =
          child.name === 'heuristics'
            ? 'quorum device heuristics are not supported by corolink; the section is kept but ignored'
            : undefined;
        this.unknownSection(child, path, message);
        continue;
      }
      device.net = {};
      this.config.sources[`${path}.net`] = sectionPosition(child);
      this.readSimple(child, QuorumDeviceNetSchema, `${path}.net`, device.net);
    }
    this.config.quorumDevice = device;
  }

  private readLogging(section: SectionNode): void {
    this.readPairs(section, LoggingSchema, 'logging', this.config.logging);
    for (const child of section.children) {
      if (child.kind !== 'section') continue;
      if (child.name !== 'logger_subsys') {
        this.unknownSection(child, 'logging');
        continue;
      }
      const path = `logging.logger_subsys.${this.config.loggerSubsys.length}`;
      const subsys: LoggerSubsysKeys = {};
      this.readSimple(child, LoggerSubsysSchema, path, subsys);
      this.config.loggerSubsys.push(subsys);
    }
  }
}

/** Builds the typed model of a parsed file, with type/range errors and unknown-key warnings. */
export function buildModel(tree: ConfigTree): ModelResult {
  return new ModelBuilder(tree).build();
}
