// Runs every Totem scenario file in testdata/ (format: datadriven.ts, commands: totem-script.ts, docs/totem.md
// § Scenario tests). REWRITE=1 writes the actual outputs into the files instead of comparing, for review in git diff.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { describeMismatch, formatDataDriven, parseDataDriven } from './datadriven.ts';
import { ScriptError, TotemScript } from './totem-script.ts';

const TESTDATA_DIR = join(import.meta.dirname, 'testdata');
const rewrite = process.env.REWRITE === '1';

for (const name of readdirSync(TESTDATA_DIR)
  .filter((file) => file.endsWith('.txt'))
  .sort()) {
  const path = join(TESTDATA_DIR, name);
  const file = relative(process.cwd(), path);
  test(`scenario ${name}`, () => {
    const chunks = parseDataDriven(readFileSync(path, 'utf8'), file);
    const script = new TotemScript();
    const outputs: string[] = [];
    const mismatches: string[] = [];
    for (const chunk of chunks) {
      if (chunk.kind !== 'block') continue;
      const { block } = chunk;
      const printed: string[] = [];
      block.commands.forEach((command, index) => {
        if (command.startsWith('#')) return;
        try {
          const output = script.run(command);
          if (output) printed.push(output);
        } catch (error) {
          if (!(error instanceof ScriptError)) throw error;
          throw new Error(`${file}:${block.line + index}: ${error.message}`);
        }
      });
      const actual = printed.length ? printed.join('\n') : 'ok';
      outputs.push(actual);
      if (actual !== block.expected) mismatches.push(describeMismatch(file, block, actual));
    }
    if (rewrite) {
      writeFileSync(path, formatDataDriven(chunks, outputs));
      return;
    }
    if (mismatches.length) {
      assert.fail(
        `${mismatches.join('\n\n')}\n\n(if the new output is right: REWRITE=1 node scripts/run-tests.mjs test/totem/scenarios, then review git diff)`,
      );
    }
  });
}
