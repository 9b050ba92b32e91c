// The man pages and the shell completions, both generated from the command tree: `man -l` renders every page
// without a warning, every command has its page and every page its options; the completion scripts offer every
// command and option (bash: run for real on a command line; zsh, fish: every word is in the script).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { allCommands, type CommandNode, commandTree } from '../../src/cli/command-tree.ts';
import { completionScript } from '../../src/cli/completion.ts';
import { buildProgram } from '../../src/cli/program.ts';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const manDir = join(root, 'man');

let tree: CommandNode;
before(async () => {
  tree = commandTree(await buildProgram([]));
  await run(process.execPath, ['--import', 'tsx', 'scripts/build-man.ts'], { cwd: root });
});

/** The option and command words a command offers. */
const wordsOf = (node: CommandNode) => [
  ...node.subcommands.map((c) => c.path.at(-1)!),
  ...node.options.flatMap((o) => [o.long, o.short].filter((f): f is string => f !== undefined)),
];

describe('man pages', () => {
  test('man -l renders every page without a warning', async () => {
    const pages = readdirSync(manDir, { recursive: true, encoding: 'utf8' }).filter((p) => /\.\d$/.test(p));
    assert.ok(pages.length >= tree.subcommands.length + 2);
    for (const page of pages) {
      const { stdout, stderr } = await run('man', ['--warnings', '-l', join(manDir, page)], {
        env: { ...process.env, MANWIDTH: '120', MAN_KEEP_FORMATTING: '' },
      });
      assert.equal(stderr, '', `${page} renders without warnings`);
      assert.match(stdout, /^NAME$/m, `${page} has a NAME section`);
    }
  });

  test('corolink(8) names every command, each command page has every option of its subcommands', async () => {
    const main = (
      await run('man', ['-l', join(manDir, 'man8/corolink.8')], { env: { ...process.env, MANWIDTH: '200' } })
    ).stdout;
    for (const command of tree.subcommands) {
      const name = command.path.join('-');
      assert.ok(main.includes(`${name}(8)`), `corolink(8) lists ${name}(8)`);
      const page = (
        await run('man', ['-l', join(manDir, `man8/${name}.8`)], { env: { ...process.env, MANWIDTH: '200' } })
      ).stdout;
      for (const node of allCommands(command)) {
        for (const option of node.options) assert.ok(page.includes(option.flags), `${name}(8) has ${option.flags}`);
      }
    }
  });

  test('corolink.conf(5) describes every key of the corolink section', async () => {
    const page = (
      await run('man', ['-l', join(manDir, 'man5/corolink.conf.5')], { env: { ...process.env, MANWIDTH: '200' } })
    ).stdout;
    for (const key of [
      'http_address',
      'http_port',
      'failback_hold',
      'burst_hold',
      'allow_crypto_none',
      'ping_profile',
    ]) {
      assert.match(page, new RegExp(`^ +${key}$`, 'm'));
    }
  });
});

describe('completion', () => {
  /** What bash's completion function offers for a command line (the last word is the one being completed). */
  async function bashComplete(line: string[]): Promise<string[]> {
    const script = completionScript('bash', tree);
    const words = ['corolink', ...line];
    const program = `${script}
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}
_corolink; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const { stdout } = await run('bash', ['-c', program], { cwd: root });
    return stdout.split('\n').filter((w) => w !== '');
  }

  test('bash offers every command and option at every level of the tree', async () => {
    for (const node of allCommands(tree)) {
      const offered = await bashComplete([...node.path.slice(1), '']);
      assert.deepEqual(offered.sort(), wordsOf(node).sort(), `after "${node.path.join(' ')}"`);
    }
  });

  test('bash completes a prefix, skips options on the way, and offers files after an option that takes one', async () => {
    assert.deepEqual(await bashComplete(['con']), ['config']);
    assert.deepEqual((await bashComplete(['config', '--help', 'apply', '--d'])).sort(), ['--dry-run']);
    assert.ok((await bashComplete(['daemon', '--config', 'packag'])).includes('packaging'));
  });

  for (const shell of ['zsh', 'fish'] as const) {
    test(`the ${shell} script holds every command and option`, () => {
      const script = completionScript(shell, tree);
      for (const node of allCommands(tree)) {
        for (const word of wordsOf(node)) {
          const spelled =
            shell === 'fish' && word.startsWith('-')
              ? word.startsWith('--')
                ? `-l ${word.slice(2)}`
                : `-s ${word.slice(1)}`
              : word;
          assert.ok(script.includes(spelled), `${shell}: ${spelled} (${node.path.join(' ')})`);
        }
      }
    });
  }
});
