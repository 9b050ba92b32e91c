/** The real CLI process: exit codes, output shapes, one-line errors, keygen file handling. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Command } from 'commander';
import { register as registerConfig } from '../../src/cli/commands/config.ts';
import { register as registerKeygen } from '../../src/cli/commands/keygen.ts';
import { CLI_ENTRY, mutate, VALID_CONFIG } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'corolink-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function corolink(...args: string[]) {
  return spawnSync(process.execPath, [CLI_ENTRY, ...args], { encoding: 'utf8' });
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('corolink config', () => {
  test('check: valid file → exit 0, effective values on stdout', () => {
    const run = corolink('config', 'check', file('ok.conf', VALID_CONFIG));
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^token\s+3650 ms/m);
    assert.match(run.stdout, /^ping_profile\s+lean$/m);
    assert.match(run.stdout, /^link1\.knet_ping_interval\s+456 ms \(corosync: 912 ms\)$/m);
    assert.match(run.stdout, /^link1\.knet_ping_timeout\s+1825 ms$/m);
    assert.match(run.stderr, /ok\.conf: valid \(0 warnings\)/);
  });

  test('check --json: invalid file → exit 1 and one JSON object', () => {
    const path = file('bad.conf', mutate('    nodeid: 2', '    nodeid: 1'));
    const run = corolink('config', 'check', path, '--json');
    assert.equal(run.status, 1);
    const report = JSON.parse(run.stdout);
    assert.equal(report.valid, false);
    assert.equal(report.errors[0].line, 24);
    assert.equal(report.errors[0].code, 'duplicate-nodeid');
    assert.equal(report.effective.totem.tokenMs, 3650);
    assert.deepEqual(report.warnings, []);
  });

  test('check: a missing file is one line and exit 74; a missing argument is a usage error', () => {
    const missing = join(dir, 'nope.conf');
    const run = corolink('config', 'check', missing);
    assert.equal(run.status, 74);
    assert.equal(run.stderr, `corolink: cannot read ${missing}: no such file\n`);
    assert.equal(corolink('config', 'check').status, 64);
  });

  test('fmt --write rewrites in place; migrate -o writes a valid knet config', () => {
    const path = file('messy.conf', VALID_CONFIG.replace('  cluster_name: test', '\tcluster_name:test   '));
    assert.equal(corolink('config', 'fmt', path, '--write').status, 0);
    assert.equal(readFileSync(path, 'utf8'), VALID_CONFIG);
    const old = file('old.conf', mutate('  link_mode: passive', '  transport: udpu\n  rrp_mode: active'));
    const out = join(dir, 'new.conf');
    const run = corolink('config', 'migrate', old, '-o', out);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /rrp_mode active → link_mode active/);
    assert.match(readFileSync(out, 'utf8'), /\n {2}transport: knet\n {2}link_mode: active\n/);
  });
});

describe('corolink keygen', () => {
  test('writes 256 random bytes with mode 0400 in a new directory, refuses to overwrite without --force', () => {
    const key = join(dir, 'etc', 'corolink', 'authkey');
    const first = corolink('keygen', '-o', key);
    assert.equal(first.status, 0, first.stderr);
    const stat = statSync(key);
    assert.equal(stat.size, 256);
    assert.equal(stat.mode & 0o777, 0o400);
    const original = readFileSync(key);
    const refused = corolink('keygen', '-o', key);
    assert.equal(refused.status, 74);
    assert.equal(refused.stderr, `corolink: cannot write authkey ${key}: the file already exists\n`);
    assert.deepEqual(readFileSync(key), original);
    assert.equal(corolink('keygen', '-o', key, '--force').status, 0);
    assert.notDeepEqual(readFileSync(key), original);
    assert.equal(statSync(key).mode & 0o777, 0o400);
  });

  test('every command has help with an example', () => {
    // In-process (no spawn per command): the same registration the CLI uses.
    const program = new Command('corolink');
    registerConfig(program);
    registerKeygen(program);
    const config = program.commands.find((c) => c.name() === 'config')!;
    const commands = [...config.commands, program.commands.find((c) => c.name() === 'keygen')!];
    assert.deepEqual(
      commands.map((c) => c.name()),
      ['check', 'fmt', 'migrate', 'show', 'diff', 'apply', 'edit', 'history', 'rollback', 'keygen'],
    );
    for (const command of commands) {
      let help = '';
      command.configureOutput({ writeOut: (text) => (help += text) });
      command.outputHelp();
      assert.match(help, /Example:\n {2}corolink /, command.name());
    }
  });
});
