/**
 * A small data-driven test file format (the shape of cockroachdb/datadriven, as etcd-io/raft's testdata uses it):
 * one or more command lines, a `----` line, then the exact expected output up to the next blank line. Output that
 * itself holds blank lines goes between a `----` / `----` pair after the separator and ends with `----` / `----`.
 * Lines starting with `#` and blank lines between blocks are comments, kept verbatim on rewrite.
 *
 * ```
 * # what the file shows
 * send 1 a
 * tick 500
 * deliveries
 * ----
 * n1: a
 * ```
 */

/** One block: the commands and the output written after them. */
export interface Block {
  /** 1-based line of the first command. */
  line: number;
  /** The command lines as written (a `#` line among them is a comment). */
  commands: string[];
  expected: string;
}

/** A parsed file: comment/blank text kept verbatim, and blocks, in file order. */
export type Chunk = { kind: 'text'; lines: string[] } | { kind: 'block'; block: Block };

const SEPARATOR = '----';

/** Parses a data-driven file; throws naming the file and line on a malformed block. */
export function parseDataDriven(text: string, file: string): Chunk[] {
  const lines = text.replace(/\n$/, '').split('\n');
  const chunks: Chunk[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === '' || line.startsWith('#')) {
      const last = chunks.at(-1);
      if (last?.kind === 'text') last.lines.push(line);
      else chunks.push({ kind: 'text', lines: [line] });
      i++;
      continue;
    }
    const start = i + 1;
    const commands: string[] = [];
    while (i < lines.length && lines[i] !== SEPARATOR) {
      const command = lines[i]!;
      if (command.trim() === '')
        throw new Error(`${file}:${i + 1}: blank line before '${SEPARATOR}' (commands end with '${SEPARATOR}')`);
      commands.push(command);
      i++;
    }
    if (i >= lines.length) throw new Error(`${file}:${start}: commands without a '${SEPARATOR}' line after them`);
    i++;
    const expected: string[] = [];
    if (lines[i] === SEPARATOR) {
      // Long form: output may contain blank lines; it ends at a `----` / `----` pair.
      i++;
      while (i < lines.length && !(lines[i] === SEPARATOR && lines[i + 1] === SEPARATOR)) expected.push(lines[i++]!);
      if (i >= lines.length)
        throw new Error(`${file}:${start}: output opened with '${SEPARATOR}' twice is never closed`);
      i += 2;
    } else {
      while (i < lines.length && lines[i]!.trim() !== '') expected.push(lines[i++]!);
    }
    chunks.push({ kind: 'block', block: { line: start, commands, expected: expected.join('\n') } });
  }
  return chunks;
}

/** Writes a file back with `outputs` (one per block, in order) in place of the expected parts. */
export function formatDataDriven(chunks: Chunk[], outputs: string[]): string {
  const out: string[] = [];
  let index = 0;
  for (const chunk of chunks) {
    if (chunk.kind === 'text') {
      out.push(...chunk.lines);
      continue;
    }
    const output = outputs[index++]!;
    out.push(...chunk.block.commands, SEPARATOR);
    if (output.split('\n').some((line) => line.trim() === '')) out.push(SEPARATOR, output, SEPARATOR, SEPARATOR);
    else out.push(output);
  }
  return `${out.join('\n')}\n`;
}

/** Where a block's actual output differs from the expected one, as a readable report. */
export function describeMismatch(file: string, block: Block, actual: string): string {
  const indent = (text: string) =>
    text
      .split('\n')
      .map((line) => `    ${line}`)
      .join('\n');
  return [
    `${file}:${block.line}:`,
    indent(block.commands.join('\n')),
    '  expected:',
    indent(block.expected),
    '  actual:',
    indent(actual),
  ].join('\n');
}
