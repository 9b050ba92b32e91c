import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeMismatch, formatDataDriven, parseDataDriven } from './datadriven.ts';
import { tokenize } from './totem-script.ts';

const FILE = [
  '# a comment',
  '',
  'ring 3',
  '----',
  'n1: ok',
  '',
  'send 1 a',
  '# a comment among the commands',
  'tick 5',
  '----',
  '----',
  'first',
  '',
  'after a blank line',
  '----',
  '----',
  '',
].join('\n');

test('datadriven: blocks, comments and the long output form are parsed', () => {
  const chunks = parseDataDriven(FILE, 'f.txt');
  const blocks = chunks.flatMap((chunk) => (chunk.kind === 'block' ? [chunk.block] : []));
  assert.deepEqual(blocks, [
    { line: 3, commands: ['ring 3'], expected: 'n1: ok' },
    {
      line: 7,
      commands: ['send 1 a', '# a comment among the commands', 'tick 5'],
      expected: 'first\n\nafter a blank line',
    },
  ]);
});

test('datadriven: formatting with the same outputs gives the file back; new outputs replace only the outputs', () => {
  const chunks = parseDataDriven(FILE, 'f.txt');
  assert.equal(formatDataDriven(chunks, ['n1: ok', 'first\n\nafter a blank line']), FILE);
  const rewritten = formatDataDriven(chunks, ['n1: changed', 'one line']);
  assert.equal(
    rewritten,
    '# a comment\n\nring 3\n----\nn1: changed\n\nsend 1 a\n# a comment among the commands\ntick 5\n----\none line\n',
  );
  assert.deepEqual(parseDataDriven(rewritten, 'f.txt').length, chunks.length);
});

test('datadriven: malformed files are refused naming the file and line', () => {
  assert.throws(() => parseDataDriven('ring 3\n', 'f.txt'), /f\.txt:1: commands without a '----' line/);
  assert.throws(() => parseDataDriven('ring 3\n\n----\n', 'f.txt'), /f\.txt:2: blank line before '----'/);
  assert.throws(() => parseDataDriven('ring 3\n----\n----\nx\n', 'f.txt'), /f\.txt:1: output opened .* never closed/);
});

test('datadriven: a mismatch report names the file, line, commands, expected and actual output', () => {
  const report = describeMismatch('f.txt', { line: 7, commands: ['tick 5', 'deliveries'], expected: 'n1: a' }, 'n1: b');
  assert.equal(report, 'f.txt:7:\n    tick 5\n    deliveries\n  expected:\n    n1: a\n  actual:\n    n1: b');
});

test('scenario commands: words split on blanks, a quoted string is one word', () => {
  assert.deepEqual(tokenize('send 1 "hello world" b safe'), ['send', '1', '"hello world"', 'b', 'safe']);
  assert.deepEqual(tokenize('send 2 "say \\"hi\\""'), ['send', '2', '"say \\"hi\\""']);
  assert.deepEqual(tokenize('partition 1,2 | 3'), ['partition', '1,2', '|', '3']);
});
