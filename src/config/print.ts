/** Printing the syntax tree: the exact inverse of parsing, byte for byte. */
import { allLines, type Container } from './syntax.ts';

/** The text of a tree: every line's text and original line ending, in order. */
export function printConfig(tree: Container): string {
  let out = '';
  for (const node of allLines(tree)) out += node.text + node.eol;
  return out;
}
