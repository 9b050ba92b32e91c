/**
 * `config fmt`: the same file with normalised layout — one indent unit per nesting level (the unit the file
 * already uses, else two spaces), `key: value` with one space, `name {`, no trailing whitespace, runs of blank
 * lines collapsed to one, the file's dominant line ending everywhere and a final newline. Comments are kept at
 * the depth they appear. Lines corosync would refuse are copied unchanged.
 */
import { type ConfigTree, type Container, dominantLineEnding, indentUnit, type TreeNode } from './syntax.ts';

function formatChildren(container: Container, depth: number, unit: string, out: string[]): void {
  const indent = unit.repeat(depth);
  container.children.forEach((child: TreeNode) => {
    switch (child.kind) {
      case 'blank':
        if (out.length > 0 && out[out.length - 1] !== '') out.push('');
        return;
      case 'comment':
        out.push(indent + child.text.trim());
        return;
      case 'pair':
        out.push(child.value === '' ? `${indent}${child.key}:` : `${indent}${child.key}: ${child.value}`);
        return;
      case 'error':
        out.push(child.text);
        return;
      case 'section':
        out.push(`${indent}${child.name} {`);
        formatChildren(child, depth + 1, unit, out);
        if (out[out.length - 1] === '') out.pop();
        if (child.close) out.push(`${indent}}`);
    }
  });
}

/** The normalised text of a tree (see the module comment). */
export function formatConfig(tree: ConfigTree): string {
  const lines: string[] = [];
  formatChildren(tree, 0, indentUnit(tree), lines);
  while (lines[lines.length - 1] === '') lines.pop();
  const eol = dominantLineEnding(tree);
  return lines.length === 0 ? '' : lines.join(eol) + eol;
}
