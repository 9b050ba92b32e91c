/**
 * The lossless syntax tree of a corosync.conf file. Every physical line of the input is one line node that keeps
 * its exact text and line ending, so printing the tree reproduces the file byte for byte (see print.ts). Sections
 * group the lines between an opening `name {` line and its `}` line.
 */
import type { SourcePosition } from './diagnostics.ts';

/** The ending of one physical line; `''` only for a last line without a final newline. */
export type LineEnding = '' | '\n' | '\r\n';

interface LineCommon {
  /** 1-based line number in the file it was parsed from (renumbered after edits). */
  line: number;
  /** The line's text without its ending. */
  text: string;
  eol: LineEnding;
}

/** An empty or whitespace-only line. */
export interface BlankLine extends LineCommon {
  kind: 'blank';
}

/** A whole-line `#` comment (corosync has no other kind of comment). */
export interface CommentLine extends LineCommon {
  kind: 'comment';
}

/** A `key: value` line; the offsets are 0-based indices into `text` (end exclusive). */
export interface PairLine extends LineCommon {
  kind: 'pair';
  key: string;
  value: string;
  keyStart: number;
  keyEnd: number;
  valueStart: number;
  valueEnd: number;
}

/** A `name {` line. */
export interface OpenLine extends LineCommon {
  kind: 'open';
  nameStart: number;
}

/** A `}` line. */
export interface CloseLine extends LineCommon {
  kind: 'close';
}

/** A line corosync would refuse; kept verbatim so nothing is lost. */
export interface ErrorLine extends LineCommon {
  kind: 'error';
  message: string;
}

/** Any single physical line. */
export type LineNode = BlankLine | CommentLine | PairLine | ErrorLine;

/** `name { … }`; `close` is null when the file ends before the section is closed. */
export interface SectionNode {
  kind: 'section';
  name: string;
  open: OpenLine;
  close: CloseLine | null;
  children: TreeNode[];
}

/** A child of the file or of a section. */
export type TreeNode = SectionNode | LineNode;

/** The whole file. */
export interface ConfigTree {
  fileName: string;
  children: TreeNode[];
}

/** Anything that holds children: the file itself or a section. */
export type Container = ConfigTree | SectionNode;

/** Position of a pair's value (or of its key when the value is empty). */
export function valuePosition(pair: PairLine): SourcePosition {
  return { line: pair.line, column: (pair.value === '' ? pair.keyStart : pair.valueStart) + 1 };
}

/** Position of a pair's key. */
export function keyPosition(pair: PairLine): SourcePosition {
  return { line: pair.line, column: pair.keyStart + 1 };
}

/** Position of a section's name on its opening line. */
export function sectionPosition(section: SectionNode): SourcePosition {
  return { line: section.open.line, column: section.open.nameStart + 1 };
}

/** The direct subsections of a container with the given name, in file order. */
export function sectionsNamed(container: Container, name: string): SectionNode[] {
  return container.children.filter((c): c is SectionNode => c.kind === 'section' && c.name === name);
}

/** The direct `key: value` lines of a container, in file order. */
export function pairsOf(container: Container): PairLine[] {
  return container.children.filter((c): c is PairLine => c.kind === 'pair');
}

/** The last `key` line of a container (corosync keeps the last of repeated keys). */
export function lastPair(container: Container, key: string): PairLine | undefined {
  return pairsOf(container).findLast((p) => p.key === key);
}

/** Every physical line of the tree in file order, sections expanded. */
export function* allLines(container: Container): Generator<LineNode | OpenLine | CloseLine> {
  for (const child of container.children) {
    if (child.kind === 'section') {
      yield child.open;
      yield* allLines(child);
      if (child.close) yield child.close;
    } else {
      yield child;
    }
  }
}

/** Re-assigns line numbers after an edit so positions match the printed text again. */
export function renumberLines(tree: ConfigTree): void {
  let line = 1;
  for (const node of allLines(tree)) node.line = line++;
}

/** The line ending most lines of the file use (`\n` for an empty or single-line file). */
export function dominantLineEnding(tree: ConfigTree): '\n' | '\r\n' {
  let crlf = 0;
  let lf = 0;
  for (const node of allLines(tree)) {
    if (node.eol === '\r\n') crlf++;
    else if (node.eol === '\n') lf++;
  }
  return crlf > lf ? '\r\n' : '\n';
}

/** Two spaces: what Proxmox writes, used when a file has no indented line to learn from. */
export const DEFAULT_INDENT_UNIT = '  ';

/** The indentation of one nesting level, learnt from the first indented line inside a top-level section. */
export function indentUnit(tree: ConfigTree): string {
  for (const top of tree.children) {
    if (top.kind !== 'section') continue;
    for (const child of top.children) {
      const line = child.kind === 'section' ? child.open : child;
      if (line.kind === 'blank' || line.kind === 'comment') continue;
      const indent = line.text.slice(0, line.text.length - line.text.trimStart().length);
      if (indent !== '') return indent;
    }
  }
  return DEFAULT_INDENT_UNIT;
}
