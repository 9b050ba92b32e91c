/**
 * The real-world corpus: every file round-trips byte for byte, and `config check` gives each the verdict recorded
 * below. The table was written by reading the files (and grepping for the first corosync 1/2 construct of each);
 * for an invalid file it names the line of the decisive error and a phrase of its message.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { checkConfigText, migrateRrpToKnet, parseConfig, printConfig } from '../../src/config/index.ts';
import { CLI_ENTRY, CORPUS_DIR, corpusSkipReason } from './helpers.ts';

type Verdict = 'valid' | [line: number, phrase: string];

const TRANSPORT = 'transport udp';
const RINGNUMBER = 'ringnumber is corosync 2';
const RRP = 'rrp_mode is corosync 2';
const COMPAT = 'compatibility: is a corosync 1 setting';
const MEMBER = 'member {} is corosync 1';

/** Expected verdict per corpus file. */
const EXPECTED: Record<string, Verdict> = {
  '001.conf': [4, 'totem version 1'],
  '002.conf': [8, RINGNUMBER],
  '003.conf': [7, RINGNUMBER],
  '004.conf': [2, COMPAT],
  '005.conf': [2, COMPAT],
  // upstream corosync 3 examples: the nodes' ring0_addr lines are commented out (007 also lacks totem.version)
  '006.conf': [50, "node 'node1' has no ring0_addr"],
  '007.conf': [2, 'totem has no version'],
  '008.conf': [42, "node 'node1' has no ring0_addr"],
  '009.conf': [8, RINGNUMBER],
  '010.conf': 'valid',
  '011.conf': [4, TRANSPORT],
  '012.conf': [5, TRANSPORT],
  '013.conf': [5, TRANSPORT],
  '014.conf': [5, TRANSPORT],
  '015.conf': [5, TRANSPORT],
  '016.conf': [5, TRANSPORT],
  '017.conf': [5, TRANSPORT],
  '018.conf': [3, 'service {} loaded plugins'],
  '019.conf': [17, RINGNUMBER],
  '020.conf': [9, RINGNUMBER],
  '021.conf': [15, RINGNUMBER],
  // knet, but with corosync 2 interface options
  '022.conf': [6, RINGNUMBER],
  '023.conf': 'valid',
  '024.conf': [7, TRANSPORT],
  '025.conf': [5, TRANSPORT],
  '026.conf': [5, TRANSPORT],
  '027.conf': 'valid',
  '028.conf': [5, TRANSPORT],
  '029.conf': [6, TRANSPORT],
  '030.conf': [6, TRANSPORT],
  '031.conf': [44, RINGNUMBER],
  '032.conf': [2, COMPAT],
  '033.conf': [37, RRP],
  '034.conf': [10, RINGNUMBER],
  // a shell here-document around the config: line 1 is `cat << EOF …`
  '035.conf': [1, 'Line is not opening or closing section or key value'],
  '036.conf': [7, RINGNUMBER],
  '037.conf': [4, TRANSPORT],
  '038.conf': [7, COMPAT],
  '039.conf': [1, COMPAT],
  '040.conf': [5, TRANSPORT],
  '041.conf': [5, TRANSPORT],
  '042.conf': [4, TRANSPORT],
  // logger_subsys with its `{` on the next line
  '043.conf': [39, "Missing section name before opening bracket '{'"],
  '044.conf': [13, RRP],
  '045.conf': [1, COMPAT],
  '046.conf': [2, COMPAT],
  // line 2 is the typo `compatybility whitetank` (no colon)
  '047.conf': [2, 'Line is not opening or closing section or key value'],
  '048.conf': [5, TRANSPORT],
  '049.conf': [8, RRP],
  '050.conf': [22, RRP],
  '051.conf': [5, TRANSPORT],
  '052.conf': [5, TRANSPORT],
  '053.conf': [5, TRANSPORT],
  '054.conf': [6, RINGNUMBER],
  '055.conf': [4, TRANSPORT],
  '056.conf': [2, COMPAT],
  '057.conf': 'valid',
  '058.conf': [4, TRANSPORT],
  // pve-cluster test data: every node has nodeid 1
  '059.conf': [16, 'nodeid 1 is used again'],
  '060.conf': [22, 'bindnetaddr is a udp/udpu option'],
  '061.conf': [23, 'bindnetaddr is a udp/udpu option'],
  '062.conf': [1, COMPAT],
  // pcs shell commands pasted above the config
  '063.conf': [17, RINGNUMBER],
  '064.conf': [1, 'Line is not opening or closing section or key value'],
  '065.conf': [5, TRANSPORT],
  '066.conf': 'valid',
  '067.conf': [17, RINGNUMBER],
  // begins with a literal `....` line and has no totem section
  '068.conf': [1, 'Line is not opening or closing section or key value'],
  '069.conf': [10, RINGNUMBER],
  '070.conf': [17, RINGNUMBER],
  '071.conf': [13, MEMBER],
  '072.conf': [4, RRP],
  '073.conf': 'valid',
  // pve-firewall test data: nodeid 1 on all four nodes
  '074.conf': [17, 'nodeid 1 is used again'],
  '075.conf': [23, RINGNUMBER],
  '076.conf': [37, RRP],
  '077.conf': [4, TRANSPORT],
  // a fragment: nodelist only
  '078.conf': [1, 'no totem section'],
  '079.conf': 'valid',
  // `secauth: false` is not on/off: a warning, crypto is none explicitly
  '080.conf': 'valid',
};

const files = corpusSkipReason
  ? []
  : readdirSync(CORPUS_DIR)
      .filter((f) => f.endsWith('.conf'))
      .sort();
const read = (file: string) => readFileSync(join(CORPUS_DIR, file), 'utf8');

describe('corpus', { skip: corpusSkipReason }, () => {
  test('the verdict table covers every corpus file', () => {
    assert.deepEqual(files, Object.keys(EXPECTED).sort());
  });

  test('every file round-trips byte for byte', () => {
    for (const file of files) {
      const text = read(file);
      assert.equal(printConfig(parseConfig(text, file).tree), text, file);
    }
  });

  test('every template round-trips byte for byte', () => {
    const dir = join(CORPUS_DIR, 'templates');
    for (const file of readdirSync(dir)) {
      const text = readFileSync(join(dir, file), 'utf8');
      assert.equal(printConfig(parseConfig(text, file).tree), text, file);
    }
  });

  for (const file of Object.keys(EXPECTED)) {
    test(`config check ${file}`, () => {
      const result = checkConfigText(read(file), file);
      const expected = EXPECTED[file]!;
      const errors = result.diagnostics.filter((d) => d.severity === 'error');
      if (expected === 'valid') {
        assert.deepEqual(errors, [], `${file} should be valid`);
        assert.equal(result.valid, true);
        return;
      }
      const [line, phrase] = expected;
      assert.equal(result.valid, false);
      assert.ok(
        errors.some((d) => d.line === line && d.message.includes(phrase) && d.file === file && d.column >= 1),
        `${file}: expected an error at line ${line} containing "${phrase}", got:\n${errors.map((d) => `${d.line}:${d.column} ${d.message}`).join('\n')}`,
      );
    });
  }

  test('migration turns corosync 2 udpu/rrp files with a complete nodelist into valid knet configs', () => {
    // 012/013 (pcs, 3 nodes), 049 and 072 (rrp_mode passive), 065 (udpu, 3 nodes): nodelists complete, only
    // corosync 2 transport options stand in the way.
    for (const file of ['012.conf', '013.conf', '049.conf', '065.conf', '072.conf']) {
      const text = read(file);
      const migrated = printConfig(migrateRrpToKnet(parseConfig(text, file).tree).tree);
      const result = checkConfigText(migrated, file);
      assert.deepEqual(
        result.diagnostics.filter((d) => d.severity === 'error'),
        [],
        file,
      );
      // every comment line of the original is still there
      const comments = text.split('\n').filter((line) => line.trim().startsWith('#'));
      for (const line of comments) assert.ok(migrated.includes(line), `${file}: lost comment ${line}`);
    }
  });

  test('the real CLI agrees on a valid and an invalid corpus file', () => {
    const valid = spawnSync(process.execPath, [CLI_ENTRY, 'config', 'check', join(CORPUS_DIR, '079.conf')], {
      encoding: 'utf8',
    });
    assert.equal(valid.status, 0, valid.stderr);
    // The lean profile (the default): corosync's ping timeout, a quiet link pinged twice as often.
    assert.match(valid.stdout, /^ping_profile\s+lean$/m);
    assert.match(valid.stdout, /^link1\.knet_ping_timeout\s+1562 ms$/m);
    assert.match(valid.stdout, /^link1\.knet_ping_interval\s+390 ms \(corosync: 781 ms\)$/m);
    const invalid = spawnSync(process.execPath, [CLI_ENTRY, 'config', 'check', join(CORPUS_DIR, '074.conf')], {
      encoding: 'utf8',
    });
    assert.equal(invalid.status, 1);
    assert.match(invalid.stderr, /074\.conf:17:13: error: nodeid 1 is used again/);
  });
});
