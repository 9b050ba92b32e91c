/**
 * The corosync.conf parser, following corosync's exec/coroparse.c (`parse_section()`) line by line:
 * a line holding `{` opens a section, else a line holding `:` is `key: value` split at the first colon,
 * else a line holding `}` closes a section; whole-line `#` comments only; no quoting; a trailing `\r` is dropped.
 * Unlike corosync it does not stop at the first error: every line is kept in a lossless tree (junk lines become
 * error nodes) and every problem is reported, with the places where corosync would silently misread the file.
 */
import { type Diagnostic, diagnostic, type SourcePosition } from './diagnostics.ts';
import type {
  CloseLine,
  ConfigTree,
  Container,
  ErrorLine,
  LineEnding,
  LineNode,
  OpenLine,
  PairLine,
  SectionNode,
} from './syntax.ts';

/** corosync reads lines with fgets() into a 512-byte buffer: the text plus `\n` and NUL must fit. */
export const LINE_BYTES_MAX = 510;

/** Sections that may legitimately appear several times in one parent (every other repeat is merged by corosync). */
export const REPEATABLE_SECTIONS: ReadonlySet<string> = new Set(['node', 'interface', 'logger_subsys', 'member']);

/** What `parseConfig` returns: the tree and every syntax-level finding. */
export interface ParseResult {
  tree: ConfigTree;
  diagnostics: Diagnostic[];
}

interface PhysicalLine {
  text: string;
  eol: LineEnding;
}

/** Splits text into lines, remembering each line's ending exactly. */
function splitLines(text: string): PhysicalLine[] {
  const parts = text.split('\n');
  const lines: PhysicalLine[] = [];
  parts.forEach((part, index) => {
    const isLast = index === parts.length - 1;
    if (isLast) {
      if (part !== '') lines.push({ text: part, eol: '' });
      return;
    }
    if (part.endsWith('\r')) lines.push({ text: part.slice(0, -1), eol: '\r\n' });
    else lines.push({ text: part, eol: '\n' });
  });
  return lines;
}

const WHITESPACE = /[ \t\v\f\r]/;

function firstNonBlank(text: string, from = 0): number {
  let i = from;
  while (i < text.length && WHITESPACE.test(text[i]!)) i++;
  return i;
}

function lastNonBlankEnd(text: string, to = text.length): number {
  let i = to;
  while (i > 0 && WHITESPACE.test(text[i - 1]!)) i--;
  return i;
}

/** Some editors put it at the start of UTF-8 files; corosync does not skip it. */
const BYTE_ORDER_MARK = '\uFEFF';

/** A trailing `# …` after a value: corosync keeps it as part of the value. */
const TRAILING_COMMENT = /[ \t]#/;

class Parser {
  readonly diagnostics: Diagnostic[] = [];
  private readonly tree: ConfigTree;
  private readonly stack: Container[];

  constructor(private readonly fileName: string) {
    this.tree = { fileName, children: [] };
    this.stack = [this.tree];
  }

  private report(severity: 'error' | 'warning', code: string, position: SourcePosition, message: string): void {
    this.diagnostics.push(diagnostic(severity, code, this.fileName, position, message));
  }

  private get current(): Container {
    return this.stack[this.stack.length - 1]!;
  }

  private add(node: LineNode | SectionNode): void {
    this.current.children.push(node);
  }

  private errorLine(line: number, physical: PhysicalLine, column: number, message: string): void {
    const node: ErrorLine = { kind: 'error', line, ...physical, message };
    this.add(node);
    this.report('error', 'syntax', { line, column }, message);
  }

  parse(text: string): ParseResult {
    if (text.startsWith(BYTE_ORDER_MARK)) {
      this.report(
        'warning',
        'byte-order-mark',
        { line: 1, column: 1 },
        'the file starts with a UTF-8 byte order mark; corosync reads it as part of the first line',
      );
    }
    splitLines(text).forEach((physical, index) => {
      this.parseLine(index + 1, physical);
    });
    for (let i = this.stack.length - 1; i > 0; i--) {
      const section = this.stack[i] as SectionNode;
      this.report(
        'error',
        'syntax',
        { line: section.open.line, column: section.open.nameStart + 1 },
        `Missing closing brace: section '${section.name}' opened here is never closed`,
      );
    }
    return { tree: this.tree, diagnostics: this.diagnostics };
  }

  private parseLine(line: number, physical: PhysicalLine): void {
    const { text } = physical;
    const start = firstNonBlank(text);
    const end = lastNonBlankEnd(text);
    if (Buffer.byteLength(text) + (physical.eol === '\r\n' ? 1 : 0) > LINE_BYTES_MAX) {
      this.report(
        'error',
        'syntax',
        { line, column: 1 },
        `Line too long (corosync reads at most ${LINE_BYTES_MAX} bytes)`,
      );
    }
    if (start >= end) {
      this.add({ kind: 'blank', line, ...physical });
      return;
    }
    if (text[start] === '#') {
      this.add({ kind: 'comment', line, ...physical });
      return;
    }
    const brace = text.indexOf('{');
    if (brace >= 0) {
      this.parseOpen(line, physical, start, end, brace);
      return;
    }
    const colon = text.indexOf(':');
    if (colon >= 0) {
      this.parsePair(line, physical, start, end, colon);
      return;
    }
    if (text.includes('}')) {
      this.parseClose(line, physical, start, end);
      return;
    }
    const hint = text.includes('=') ? " (corosync has no 'key = value' form; write 'key: value')" : '';
    this.errorLine(line, physical, start + 1, `Line is not opening or closing section or key value${hint}`);
  }

  private parseOpen(line: number, physical: PhysicalLine, start: number, end: number, brace: number): void {
    const { text } = physical;
    const after = firstNonBlank(text, brace + 1);
    if (after < end && text.slice(after, end).includes('}')) {
      // `totem { version: 2 }` on one line: corosync refuses it; opening a section here would swallow the file.
      this.errorLine(
        line,
        physical,
        after + 1,
        "Extra characters after opening bracket '{' (one-line sections are not allowed)",
      );
      return;
    }
    let nameEnd = lastNonBlankEnd(text, brace);
    while (nameEnd > start && (text[nameEnd - 1] === ':' || text[nameEnd - 1] === '{')) nameEnd--;
    nameEnd = lastNonBlankEnd(text, nameEnd);
    const name = text.slice(start, nameEnd);
    if (name === '') {
      this.errorLine(line, physical, brace + 1, "Missing section name before opening bracket '{'");
      return;
    }
    if (after < end) {
      this.report('error', 'syntax', { line, column: after + 1 }, "Extra characters after opening bracket '{'");
    }
    const open: OpenLine = { kind: 'open', line, ...physical, nameStart: start };
    const section: SectionNode = { kind: 'section', name, open, close: null, children: [] };
    this.warnRepeatedSection(section);
    this.add(section);
    this.stack.push(section);
  }

  private warnRepeatedSection(section: SectionNode): void {
    if (REPEATABLE_SECTIONS.has(section.name)) return;
    const first = this.current.children.find((c): c is SectionNode => c.kind === 'section' && c.name === section.name);
    if (!first) return;
    this.report(
      'warning',
      'repeated-section',
      { line: section.open.line, column: section.open.nameStart + 1 },
      `section '${section.name}' appears again (first at line ${first.open.line}); corosync merges both, later keys win`,
    );
  }

  private parsePair(line: number, physical: PhysicalLine, start: number, end: number, colon: number): void {
    const { text } = physical;
    const keyEnd = lastNonBlankEnd(text, colon);
    if (keyEnd <= start) {
      this.errorLine(line, physical, colon + 1, "Key name can't be empty");
      return;
    }
    const valueStart = Math.min(firstNonBlank(text, colon + 1), end);
    const pair: PairLine = {
      kind: 'pair',
      line,
      ...physical,
      key: text.slice(start, keyEnd),
      value: text.slice(valueStart, Math.max(valueStart, end)),
      keyStart: start,
      keyEnd,
      valueStart,
      valueEnd: Math.max(valueStart, end),
    };
    const comment = pair.value.search(TRAILING_COMMENT);
    if (comment >= 0) {
      this.report(
        'warning',
        'trailing-comment',
        { line, column: valueStart + comment + 2 },
        `'#' does not start a comment here: corosync reads ${pair.key} as '${pair.value}' (only whole-line comments exist)`,
      );
    }
    const earlier = this.current.children.find((c): c is PairLine => c.kind === 'pair' && c.key === pair.key);
    if (earlier) {
      this.report(
        'warning',
        'repeated-key',
        { line, column: start + 1 },
        `'${pair.key}' is set again (first at line ${earlier.line}); corosync keeps only this last value`,
      );
    }
    this.add(pair);
  }

  private parseClose(line: number, physical: PhysicalLine, start: number, end: number): void {
    if (this.stack.length === 1) {
      this.errorLine(line, physical, start + 1, 'Unexpected closing brace');
      return;
    }
    if (physical.text.slice(start, end) !== '}') {
      // Still closes the section, so one stray character does not cascade into errors for the rest of the file.
      this.report(
        'error',
        'syntax',
        { line, column: start + 1 },
        "Extra characters before or after closing bracket '}'",
      );
    }
    const section = this.stack.pop() as SectionNode;
    const close: CloseLine = { kind: 'close', line, ...physical };
    section.close = close;
  }
}

/** Parses corosync.conf text into a lossless tree plus syntax diagnostics. Never throws. */
export function parseConfig(text: string, fileName = 'corosync.conf'): ParseResult {
  return new Parser(fileName).parse(text);
}
