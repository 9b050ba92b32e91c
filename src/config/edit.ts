/**
 * Editing API on the syntax tree. Edits touch only the lines they change: comments, blank lines, indentation,
 * line endings and a missing final newline elsewhere in the file stay as they were. New lines copy the
 * indentation of their siblings (or the file's indent unit) and the file's dominant line ending.
 * Every function mutates the tree in place and renumbers its lines; invalid requests throw ConfigEditError.
 */

import { LINK_NUMBER_MAX } from '../base/limits.ts';

import {
  allLines,
  type CommentLine,
  type ConfigTree,
  type Container,
  dominantLineEnding,
  indentUnit,
  type LineEnding,
  lastPair,
  type PairLine,
  renumberLines,
  type SectionNode,
  sectionsNamed,
  type TreeNode,
} from './syntax.ts';

/** A requested edit that cannot be applied (unknown node, duplicate nodeid, …). */
export class ConfigEditError extends Error {
  override name = 'ConfigEditError';
}

/** A node to add to the nodelist. */
export interface NewNode {
  nodeid: number;
  name: string;
  /** ringN_addr by link number. */
  addresses: Record<number, string>;
  quorumVotes?: number;
}

/** Which node an edit is about: by nodeid or by name. */
export type NodeSelector = { nodeid: number } | { name: string };

/** Runs an edit, then repairs line endings (no line may lose its newline) and renumbers. */
function applyEdit<T>(tree: ConfigTree, edit: () => T): T {
  const before = [...allLines(tree)];
  const hadFinalNewline = before.length === 0 || before[before.length - 1]!.eol !== '';
  const eol = dominantLineEnding(tree);
  const result = edit();
  const lines = [...allLines(tree)];
  lines.forEach((line, index) => {
    const isLast = index === lines.length - 1;
    if (!isLast && line.eol === '') line.eol = eol;
    if (isLast) line.eol = hadFinalNewline ? line.eol || eol : '';
  });
  renumberLines(tree);
  return result;
}

function indentOf(text: string): string {
  return text.slice(0, text.length - text.trimStart().length);
}

function depthIndent(tree: ConfigTree, depth: number): string {
  return indentUnit(tree).repeat(depth);
}

/** The indentation for a new child of `container` at `depth`: that of an existing child, else `depth` units. */
function childIndent(tree: ConfigTree, container: Container, depth: number): string {
  for (const child of container.children) {
    if (child.kind === 'pair') return indentOf(child.text);
    if (child.kind === 'section') return indentOf(child.open.text);
  }
  return depthIndent(tree, depth);
}

/** A new `key: value` line. */
export function makePair(indent: string, key: string, value: string, eol: LineEnding): PairLine {
  const keyStart = indent.length;
  const valueStart = keyStart + key.length + 2;
  return {
    kind: 'pair',
    line: 0,
    text: `${indent}${key}: ${value}`,
    eol,
    key,
    value,
    keyStart,
    keyEnd: keyStart + key.length,
    valueStart,
    valueEnd: valueStart + value.length,
  };
}

/** A new empty section `name { }` with its closing line. */
export function makeSection(indent: string, name: string, eol: LineEnding): SectionNode {
  return {
    kind: 'section',
    name,
    open: { kind: 'open', line: 0, text: `${indent}${name} {`, eol, nameStart: indent.length },
    close: { kind: 'close', line: 0, text: `${indent}}`, eol },
    children: [],
  };
}

/** Replaces a pair's value in place, keeping its indentation, separator and trailing text. */
export function setPairValue(pair: PairLine, value: string): void {
  const head =
    pair.value === '' ? `${pair.text.slice(0, pair.valueStart).trimEnd()} ` : pair.text.slice(0, pair.valueStart);
  pair.text = head + value + pair.text.slice(pair.valueEnd);
  pair.valueStart = head.length;
  pair.valueEnd = head.length + value.length;
  pair.value = value;
}

/** Renames a pair's key in place. */
export function renamePairKey(pair: PairLine, key: string): void {
  const shift = key.length - (pair.keyEnd - pair.keyStart);
  pair.text = pair.text.slice(0, pair.keyStart) + key + pair.text.slice(pair.keyEnd);
  pair.key = key;
  pair.keyEnd += shift;
  pair.valueStart += shift;
  pair.valueEnd += shift;
}

/** A comment line with the given text at the given indentation. */
export function makeComment(indent: string, text: string, eol: LineEnding): CommentLine {
  return { kind: 'comment', line: 0, text: `${indent}# ${text}`, eol };
}

/** Inserts a node after the last non-blank child (so trailing blank lines stay at the end of the section). */
function insertChild(container: Container, node: TreeNode, after?: TreeNode): void {
  const children = container.children;
  let index: number;
  if (after) index = children.indexOf(after) + 1;
  else {
    index = children.length;
    while (index > 0 && children[index - 1]!.kind === 'blank' && 'kind' in container) index--;
  }
  children.splice(index, 0, node);
}

/** Finds the section at `path` (first of each name), creating missing ones at the end of their parent. */
function ensureSection(tree: ConfigTree, path: readonly string[]): SectionNode {
  let container: Container = tree;
  path.forEach((name, depth) => {
    const existing: SectionNode | undefined = sectionsNamed(container, name)[0];
    if (existing) {
      container = existing;
      return;
    }
    const section = makeSection(childIndent(tree, container, depth), name, dominantLineEnding(tree));
    insertChild(container, section);
    container = section;
  });
  return container as unknown as SectionNode;
}

function findSection(tree: ConfigTree, path: readonly string[]): SectionNode | undefined {
  let container: Container | undefined = tree;
  for (const name of path) {
    container = container ? sectionsNamed(container, name)[0] : undefined;
  }
  return container === tree ? undefined : (container as SectionNode | undefined);
}

function setKeyIn(
  tree: ConfigTree,
  section: SectionNode,
  depth: number,
  key: string,
  value: string,
  after?: TreeNode,
): void {
  const existing = lastPair(section, key);
  if (existing) {
    setPairValue(existing, value);
    return;
  }
  insertChild(section, makePair(childIndent(tree, section, depth), key, value, dominantLineEnding(tree)), after);
}

/** Sets `key: value` in the section at `sectionPath` (e.g. `['totem']`), creating the section if needed. */
export function setKey(tree: ConfigTree, sectionPath: readonly string[], key: string, value: string): void {
  if (sectionPath.length === 0) throw new ConfigEditError('a key must belong to a section');
  applyEdit(tree, () => setKeyIn(tree, ensureSection(tree, sectionPath), sectionPath.length, key, value));
}

/** Removes every `key` line of the section at `sectionPath`; returns whether one was there. */
export function removeKey(tree: ConfigTree, sectionPath: readonly string[], key: string): boolean {
  return applyEdit(tree, () => {
    const section = findSection(tree, sectionPath);
    if (!section) return false;
    const before = section.children.length;
    section.children = section.children.filter((c) => c.kind !== 'pair' || c.key !== key);
    return section.children.length !== before;
  });
}

/** Removes the section at `sectionPath` (e.g. `['quorum', 'device']`) with everything in it; whether it was there. */
export function removeSection(tree: ConfigTree, sectionPath: readonly string[]): boolean {
  const section = findSection(tree, sectionPath);
  if (!section) return false;
  const parent = sectionPath.length === 1 ? tree : findSection(tree, sectionPath.slice(0, -1))!;
  applyEdit(tree, () => {
    parent.children = parent.children.filter((c) => c !== section);
  });
  return true;
}

/** The value of `key` in the section at `sectionPath`, or undefined. */
export function keyValue(tree: ConfigTree, sectionPath: readonly string[], key: string): string | undefined {
  const section = findSection(tree, sectionPath);
  return section ? lastPair(section, key)?.value : undefined;
}

/** The `node { }` sections of the nodelist. */
export function nodeSections(tree: ConfigTree): SectionNode[] {
  const nodelist = sectionsNamed(tree, 'nodelist')[0];
  return nodelist ? sectionsNamed(nodelist, 'node') : [];
}

function nodeMatches(section: SectionNode, selector: NodeSelector): boolean {
  if ('nodeid' in selector) return lastPair(section, 'nodeid')?.value === String(selector.nodeid);
  return lastPair(section, 'name')?.value === selector.name;
}

/** Appends a node to the nodelist (creating it if needed). Keys in Proxmox's order: name, nodeid, quorum_votes, ringN_addr. */
export function addNode(tree: ConfigTree, node: NewNode): void {
  for (const selector of [{ nodeid: node.nodeid }, { name: node.name }] as NodeSelector[]) {
    if (nodeSections(tree).some((s) => nodeMatches(s, selector))) {
      throw new ConfigEditError(
        `a node with ${'nodeid' in selector ? `nodeid ${node.nodeid}` : `name '${node.name}'`} already exists`,
      );
    }
  }
  applyEdit(tree, () => {
    const nodelist = ensureSection(tree, ['nodelist']);
    const eol = dominantLineEnding(tree);
    const section = makeSection(childIndent(tree, nodelist, 1), 'node', eol);
    const indent = childIndent(tree, sectionsNamed(nodelist, 'node')[0] ?? section, 2);
    const keys: [string, string][] = [
      ['name', node.name],
      ['nodeid', String(node.nodeid)],
      ...(node.quorumVotes === undefined ? [] : [['quorum_votes', String(node.quorumVotes)] as [string, string]]),
      ...Object.entries(node.addresses)
        .sort(([a], [b]) => Number(a) - Number(b))
        .map(([link, address]) => [`ring${link}_addr`, address] as [string, string]),
    ];
    section.children = keys.map(([key, value]) => makePair(indent || depthIndent(tree, 2), key, value, eol));
    insertChild(nodelist, section);
  });
}

/** Removes the node matching `selector`; returns whether it was found. */
export function removeNode(tree: ConfigTree, selector: NodeSelector): boolean {
  return applyEdit(tree, () => {
    const nodelist = sectionsNamed(tree, 'nodelist')[0];
    const target = nodeSections(tree).find((s) => nodeMatches(s, selector));
    if (!nodelist || !target) return false;
    nodelist.children = nodelist.children.filter((c) => c !== target);
    return true;
  });
}

/**
 * Adds link `link` to the cluster: `ring<link>_addr` on every node (addresses keyed by node name or nodeid) and an
 * `interface { linknumber: <link> … }` section in totem with the given extra options.
 */
export function addLink(
  tree: ConfigTree,
  link: number,
  addresses: Readonly<Record<string, string>>,
  options: Readonly<Record<string, string>> = {},
): void {
  if (!Number.isInteger(link) || link < 0 || link > LINK_NUMBER_MAX) {
    throw new ConfigEditError(`link number ${link} is out of range (0–${LINK_NUMBER_MAX})`);
  }
  const nodes = nodeSections(tree);
  if (nodes.length === 0) throw new ConfigEditError('the nodelist has no node to add a link to');
  const key = `ring${link}_addr`;
  const plan = nodes.map((section) => {
    const name = lastPair(section, 'name')?.value;
    const nodeid = lastPair(section, 'nodeid')?.value;
    const address =
      (name !== undefined ? addresses[name] : undefined) ?? (nodeid !== undefined ? addresses[nodeid] : undefined);
    if (address === undefined)
      throw new ConfigEditError(`no address given for node '${name ?? nodeid ?? '?'}' on link ${link}`);
    if (lastPair(section, key)) throw new ConfigEditError(`node '${name ?? nodeid}' already has ${key}`);
    return { section, address };
  });
  const totem = findSection(tree, ['totem']);
  const hasInterface = totem
    ? sectionsNamed(totem, 'interface').some((i) => lastPair(i, 'linknumber')?.value === String(link))
    : false;
  if (hasInterface) throw new ConfigEditError(`totem already has an interface for link ${link}`);
  applyEdit(tree, () => {
    for (const { section, address } of plan) {
      const lastAddress = section.children.findLast((c) => c.kind === 'pair' && /^ring\d_addr$/.test(c.key));
      setKeyIn(tree, section, 2, key, address, lastAddress);
    }
    const totemSection = ensureSection(tree, ['totem']);
    const eol = dominantLineEnding(tree);
    const existing = sectionsNamed(totemSection, 'interface');
    const iface = makeSection(childIndent(tree, totemSection, 1), 'interface', eol);
    const indent = existing[0] ? childIndent(tree, existing[0], 2) : depthIndent(tree, 2);
    iface.children = [
      makePair(indent, 'linknumber', String(link), eol),
      ...Object.entries(options).map(([k, v]) => makePair(indent, k, v, eol)),
    ];
    insertChild(totemSection, iface, existing[existing.length - 1]);
  });
}

/** The `interface { }` of totem for link `link`, if any. */
function interfaceSection(tree: ConfigTree, link: number): SectionNode | undefined {
  const totem = findSection(tree, ['totem']);
  return totem
    ? sectionsNamed(totem, 'interface').find((i) => lastPair(i, 'linknumber')?.value === String(link))
    : undefined;
}

/** Removes link `link`: its interface section and `ring<link>_addr` of every node. Throws when it is not there. */
export function removeLink(tree: ConfigTree, link: number): void {
  const key = `ring${link}_addr`;
  const iface = interfaceSection(tree, link);
  if (!iface && !nodeSections(tree).some((s) => lastPair(s, key))) {
    throw new ConfigEditError(`link ${link} is not configured`);
  }
  applyEdit(tree, () => {
    for (const section of nodeSections(tree)) {
      section.children = section.children.filter((c) => c.kind !== 'pair' || c.key !== key);
    }
    const totem = findSection(tree, ['totem']);
    if (totem && iface) totem.children = totem.children.filter((c) => c !== iface);
  });
}

/** Sets `key: value` in the interface section of link `link`, creating the section when the link has none. */
export function setLinkOption(tree: ConfigTree, link: number, key: string, value: string): void {
  if (!nodeSections(tree).some((s) => lastPair(s, `ring${link}_addr`)) && !interfaceSection(tree, link)) {
    throw new ConfigEditError(`link ${link} is not configured`);
  }
  applyEdit(tree, () => {
    let iface = interfaceSection(tree, link);
    if (!iface) {
      const totemSection = ensureSection(tree, ['totem']);
      const eol = dominantLineEnding(tree);
      iface = makeSection(childIndent(tree, totemSection, 1), 'interface', eol);
      iface.children = [makePair(depthIndent(tree, 2), 'linknumber', String(link), eol)];
      insertChild(totemSection, iface, sectionsNamed(totemSection, 'interface').at(-1));
    }
    setKeyIn(tree, iface, 2, key, value);
  });
}

/** Increments totem.config_version (creating it as 1); returns the new version. */
export function bumpConfigVersion(tree: ConfigTree): number {
  const totem = findSection(tree, ['totem']);
  const current = totem ? lastPair(totem, 'config_version')?.value : undefined;
  if (current !== undefined && !/^\d+$/.test(current)) {
    throw new ConfigEditError(`config_version '${current}' is not a non-negative integer`);
  }
  // config_version is a uint64: count in BigInt so large versions do not lose precision.
  const next = current === undefined ? 1n : BigInt(current) + 1n;
  setKey(tree, ['totem'], 'config_version', next.toString());
  return Number(next);
}
