/**
 * Property tests: random well-formed configs (sections, keys, comments, blank lines, any indentation, LF/CRLF
 * per line, with or without a final newline) survive parse → print → parse unchanged, and any text at all
 * prints back byte for byte. Fixed seed (override with FC_SEED) so CI is reproducible.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { buildModel, type ClusterConfig, formatConfig, parseConfig, printConfig } from '../../src/config/index.ts';

const SEED = Number(process.env.FC_SEED ?? 20_261_124);
const RUNS = 150;
const DEPTH_MAX = 3;

type Item =
  | { kind: 'pair'; key: string; value: string }
  | { kind: 'comment'; text: string }
  | { kind: 'blank' }
  | {
      kind: 'section';
      name: string;
      items: Item[];
    };

const word = fc.stringMatching(/^[a-z][a-z0-9_]{0,12}$/);
const value = fc.stringMatching(/^[A-Za-z0-9_.:/-]{0,16}$/);
const comment = fc.stringMatching(/^[ -~]{0,24}$/);
const padding = fc.constantFrom('', ' ', '  ', '\t');

const leaf: fc.Arbitrary<Item> = fc.oneof(
  fc.record({ kind: fc.constant('pair' as const), key: word, value }),
  fc.record({ kind: fc.constant('comment' as const), text: comment }),
  fc.constant<Item>({ kind: 'blank' }),
);

const item: fc.Memo<Item> = fc.memo((depth) =>
  depth <= 1
    ? leaf
    : fc.oneof(
        leaf,
        fc.record({
          kind: fc.constant('section' as const),
          name: word,
          items: fc.array(item(depth - 1), { maxLength: 5 }),
        }),
      ),
);

interface Layout {
  unit: string;
  trailing: string;
  eols: ('\n' | '\r\n')[];
  finalNewline: boolean;
}

function render(items: Item[], layout: Layout): string {
  const lines: string[] = [];
  const walk = (list: Item[], depth: number) => {
    const indent = layout.unit.repeat(depth);
    for (const it of list) {
      if (it.kind === 'pair') lines.push(`${indent}${it.key}: ${it.value}${layout.trailing}`);
      else if (it.kind === 'comment') lines.push(`${indent}#${it.text}`);
      else if (it.kind === 'blank') lines.push(layout.trailing);
      else {
        lines.push(`${indent}${it.name} {`);
        walk(it.items, depth + 1);
        lines.push(`${indent}}`);
      }
    }
  };
  walk(items, 0);
  const text = lines.map((line, i) => line + (layout.eols[i % layout.eols.length] ?? '\n')).join('');
  return layout.finalNewline || text === '' ? text : text.replace(/\r?\n$/, '');
}

const configText = fc
  .record({
    items: fc.array(item(DEPTH_MAX), { maxLength: 8 }),
    layout: fc.record({
      unit: fc.constantFrom('  ', '    ', '\t', ''),
      trailing: padding,
      eols: fc.array(fc.constantFrom('\n' as const, '\r\n' as const), { minLength: 1, maxLength: 4 }),
      finalNewline: fc.boolean(),
    }),
  })
  .map(({ items, layout }) => render(items, layout));

/** The model without positions: what a value means, not where it is. */
function meaning(config: ClusterConfig): unknown {
  return { ...config, sources: undefined, extra: config.extra.map(({ path, value }) => ({ path, value })) };
}

describe('properties', () => {
  test('print(parse(x)) === x and parse(print(parse(x))) equals parse(x) for random configs', () => {
    fc.assert(
      fc.property(configText, (text) => {
        const first = parseConfig(text, 'p.conf');
        assert.deepEqual(
          first.diagnostics.filter((d) => d.code === 'syntax'),
          [],
        );
        const printed = printConfig(first.tree);
        assert.equal(printed, text);
        assert.deepEqual(parseConfig(printed, 'p.conf').tree, first.tree);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  test('any text at all prints back byte for byte', () => {
    const anyChar = fc.constantFrom('a', 'k', ':', '{', '}', '#', ' ', '\t', '\r', '\n', '=', 'é', '\u00a0');
    fc.assert(
      fc.property(fc.string({ unit: anyChar, maxLength: 120 }), (text) => {
        assert.equal(printConfig(parseConfig(text).tree), text);
      }),
      { seed: SEED, numRuns: RUNS * 2 },
    );
  });

  test('fmt is idempotent and keeps the meaning', () => {
    fc.assert(
      fc.property(configText, (text) => {
        const tree = parseConfig(text).tree;
        const formatted = formatConfig(tree);
        const reparsed = parseConfig(formatted).tree;
        assert.equal(formatConfig(reparsed), formatted);
        assert.deepEqual(meaning(buildModel(reparsed).config), meaning(buildModel(tree).config));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});
