/**
 * Text of a config change for the commands that change the cluster config (`config diff|apply`, `link …`): a
 * unified line diff of the two files, the plan of src/config/change-plan.ts, key by key, and what the reachability
 * probe of an added link found.
 */
import { type ChangeEffect, type ConfigChange, type ConfigChangePlan, refusalMessage } from '../config/index.ts';
import type { LinkProbeResult } from '../ipc/methods.ts';

const GROUPS: readonly [ChangeEffect, string][] = [
  ['live', 'Applies live:'],
  ['restart', 'Applies at the next restart:'],
  ['refused', 'Refused:'],
];

const value = (text: string | null) => text ?? '(none)';
const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
const list = (numbers: readonly number[]) => (numbers.length === 0 ? '-' : numbers.join(', '));

/** The plan: changes grouped by effect (each with its reason), links and nodes, errors, warnings, the verdict. */
export function formatPlan(plan: ConfigChangePlan): string {
  const width = Math.max(0, ...plan.changes.map((c) => c.key.length));
  const row = (c: ConfigChange) => `  ${c.key.padEnd(width)}  ${value(c.from)} → ${value(c.to)}  — ${c.reason}`;
  const lines: string[] = [];
  for (const [effect, title] of GROUPS) {
    const changes = plan.changes.filter((c) => c.effect === effect);
    if (changes.length > 0) lines.push(title, ...changes.map(row));
  }
  if (plan.changes.length === 0) lines.push('No key changes.');
  if ([plan.linksAdded, plan.linksRemoved, plan.linksUpdated].some((l) => l.length > 0)) {
    lines.push(
      `Links: added ${list(plan.linksAdded)}; removed ${list(plan.linksRemoved)}; updated ${list(plan.linksUpdated)}`,
    );
  }
  if (plan.nodesAdded.length + plan.nodesRemoved.length > 0) {
    lines.push(`Nodes: added ${list(plan.nodesAdded)}; removed ${list(plan.nodesRemoved)}`);
  }
  // A refused change is listed above with its reason; its copy in `errors` is not repeated.
  const refusals = new Set(plan.changes.filter((c) => c.effect === 'refused').map(refusalMessage));
  const errors = plan.errors.filter((e) => !refusals.has(e));
  if (errors.length > 0) lines.push('Errors:', ...errors.map((e) => `  ${e}`));
  if (plan.warnings.length > 0) lines.push('Warnings:', ...plan.warnings.map((w) => `  ${w}`));
  const count = (effect: ChangeEffect) => plan.changes.filter((c) => c.effect === effect).length;
  lines.push(
    plan.ok
      ? `Plan: ok (${count('live')} live${count('restart') > 0 ? `, ${count('restart')} at the next restart` : ''})`
      : `Plan: refused (${[
          count('refused') > 0 && plural(count('refused'), 'refused change'),
          errors.length > 0 && plural(errors.length, 'error'),
        ]
          .filter(Boolean)
          .join(', ')})`,
  );
  return lines.join('\n');
}

/**
 * What the reachability probe of each added link found: one line per pair of nodes (reachable with the lowest
 * round trip, or which way failed), then every node that could not take part. `names`: node id → name.
 */
export function formatProbe(results: readonly LinkProbeResult[], names: ReadonlyMap<number, string>): string {
  const lines: string[] = [];
  for (const { link, port, nodes, pairs } of results) {
    const label = (nodeid: number) => {
      const address = nodes.find((n) => n.nodeid === nodeid)?.address;
      return `${names.get(nodeid) ?? `node ${nodeid}`} (${address ?? 'no address'})`;
    };
    lines.push(`Reachability probe of link ${link} (UDP port ${port}):`);
    for (const p of pairs) {
      const verdict = p.reachable ? 'reachable' : `NOT reachable (${p.failed})`;
      const rtt = p.rtt_ms === null ? '' : `, rtt ${p.rtt_ms.toFixed(3)} ms`;
      lines.push(`  ${label(p.nodeid)} ↔ ${label(p.peer)}: ${verdict}${rtt}`);
    }
    for (const n of nodes) if (n.error !== null) lines.push(`  ${label(n.nodeid)}: ${n.error}`);
  }
  return lines.join('\n');
}

type Op = { kind: ' ' | '-' | '+'; text: string; from: number; to: number };

/** Lines of a text; a final newline does not make an empty last line, CRLF counts as LF. */
function linesOf(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** The edit script of two line lists (longest common subsequence; common head and tail trimmed first). */
function editScript(a: readonly string[], b: readonly string[]): Op[] {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const [n, m] = [a.length - head - tail, b.length - head - tail];
  // lcs[i * (m + 1) + j]: length of the LCS of a[head + i …] and b[head + j …] (middle part only).
  const lcs = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * (m + 1) + j] =
        a[head + i] === b[head + j]
          ? lcs[(i + 1) * (m + 1) + j + 1]! + 1
          : Math.max(lcs[(i + 1) * (m + 1) + j]!, lcs[i * (m + 1) + j + 1]!);
    }
  }
  const ops: Op[] = [];
  const push = (kind: Op['kind'], text: string, from: number, to: number) => ops.push({ kind, text, from, to });
  for (let k = 0; k < head; k++) push(' ', a[k]!, k, k);
  let [i, j] = [0, 0];
  while (i < n || j < m) {
    const [x, y] = [head + i, head + j];
    if (i < n && j < m && a[x] === b[y]) {
      push(' ', a[x]!, x, y);
      i++;
      j++;
    } else if (j < m && (i === n || lcs[(i + 1) * (m + 1) + j]! < lcs[i * (m + 1) + j + 1]!)) {
      push('+', b[y]!, x, y);
      j++;
    } else {
      push('-', a[x]!, x, y);
      i++;
    }
  }
  for (let k = 0; k < tail; k++) push(' ', a[head + n + k]!, head + n + k, head + m + k);
  return ops;
}

/** `start,count` of a hunk side; an empty side names the line before it, as diff -u does. */
function range(start: number, count: number): string {
  return `${count === 0 ? start : start + 1},${count}`;
}

/** A unified diff (`diff -u` shape, 3 lines of context) of two config texts; `(no differences)` when equal. */
export function lineDiff(before: string, after: string, names = { from: 'current', to: 'new' }): string {
  const context = 3;
  const ops = editScript(linesOf(before), linesOf(after));
  const hunks: [number, number][] = [];
  ops.forEach((op, index) => {
    if (op.kind === ' ') return;
    const [start, end] = [Math.max(0, index - context), Math.min(ops.length, index + context + 1)];
    const last = hunks.at(-1);
    if (last && start <= last[1]) last[1] = end;
    else hunks.push([start, end]);
  });
  if (hunks.length === 0) return '(no differences)';
  const lines = [`--- ${names.from}`, `+++ ${names.to}`];
  for (const [start, end] of hunks) {
    const part = ops.slice(start, end);
    const fromCount = part.filter((op) => op.kind !== '+').length;
    const toCount = part.filter((op) => op.kind !== '-').length;
    lines.push(`@@ -${range(part[0]!.from, fromCount)} +${range(part[0]!.to, toCount)} @@`);
    lines.push(...part.map((op) => `${op.kind}${op.text}`));
  }
  return lines.join('\n');
}
