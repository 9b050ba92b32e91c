/** `corolink config show|diff|apply --dry-run` (the real CLI process) and the plan/diff text of src/cli/format-plan.ts. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ExitCode } from '../../src/cli/exit-codes.ts';
import { formatPlan, lineDiff } from '../../src/cli/format-plan.ts';
import { checkConfigText, clusterConfigText, DEFAULT_CONFIG_PATH, planConfigChange } from '../../src/config/index.ts';
import { tempDir } from '../client/fake-daemon.ts';

const CLI = fileURLToPath(new URL('../../bin/corolink.mjs', import.meta.url));

const corolink = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

const nodes = [1, 2, 3].map((id) => ({
  nodeid: id,
  name: `n${id}`,
  addresses: { 0: `198.18.10.${id}`, 1: `198.18.20.${id}` },
}));
const links = [{ link: 0 }, { link: 1 }];
const CURRENT = clusterConfigText({ clusterName: 'demo', linkMode: 'passive', links, nodes, configVersion: 3 });
/** Link 1 re-prioritised and the token raised: all live. */
const TUNED = clusterConfigText({
  clusterName: 'demo',
  linkMode: 'passive',
  links: [{ link: 0 }, { link: 1, priority: 20 }],
  nodes,
  configVersion: 4,
  totemExtra: { token: 5000 },
});
/** A new cluster name: refused. */
const RENAMED = CURRENT.replace('cluster_name: demo', 'cluster_name: other').replace(
  'config_version: 3',
  'config_version: 4',
);

const dir = tempDir();
after(() => dir.cleanup());
const file = (name: string, text: string) => {
  const path = join(dir.path, name);
  writeFileSync(path, text);
  return path;
};
const current = file('current.conf', CURRENT);

describe('corolink config show', () => {
  it('prints the file as it is; --json prints the typed model', () => {
    const text = corolink('config', 'show', '-c', current);
    assert.equal(text.status, ExitCode.ok, text.stderr);
    assert.equal(text.stdout, CURRENT);
    const json = corolink('config', 'show', '-c', current, '--json');
    assert.equal(json.status, ExitCode.ok, json.stderr);
    const shown = JSON.parse(json.stdout);
    assert.equal(shown.valid, true);
    assert.equal(shown.config.totem.cluster_name, 'demo');
    assert.deepEqual(
      shown.config.nodes.map((n: { nodeid: number }) => n.nodeid),
      [1, 2, 3],
    );
  });
});

describe('corolink config diff', () => {
  it('prints a unified diff and the plan; exit 0 when the change may be applied', () => {
    const run = corolink('config', 'diff', file('tuned.conf', TUNED), '-c', current);
    assert.equal(run.status, ExitCode.ok, run.stderr);
    assert.match(run.stdout, /^--- .*current\.conf\n\+\+\+ .*tuned\.conf\n@@ /);
    assert.match(run.stdout, /\n- {2}config_version: 3\n\+ {2}config_version: 4\n/);
    assert.match(run.stdout, /\n\+ {4}knet_link_priority: 20\n/);
    assert.match(run.stdout, /\nApplies live:\n {2}totem\.config_version +3 → 4 {2}— /);
    assert.match(run.stdout, /\n {2}totem\.interface\.linknumber=1\.knet_link_priority +\(none\) → 20 /);
    assert.match(run.stdout, /\n {2}totem\.token +\(none\) → 5000 /);
    // link1 for its priority, link0 too: the ping timers follow the token timeout (docs/transport.md).
    assert.match(run.stdout, /\nLinks: added -; removed -; updated 0, 1\nPlan: ok \(3 live\)\n$/);
  });

  it('--json: {diff, plan}; a refused change exits 1', () => {
    const run = corolink('config', 'diff', file('renamed.conf', RENAMED), '-c', current, '--json');
    assert.equal(run.status, ExitCode.invalid);
    const { diff, plan } = JSON.parse(run.stdout);
    assert.match(diff, /\n- {2}cluster_name: demo\n- {2}config_version: 3\n\+ {2}cluster_name: other\n/);
    assert.equal(plan.ok, false);
    assert.equal(plan.changes.find((c: { key: string }) => c.key === 'totem.cluster_name').effect, 'refused');
  });

  it('reads the current config from /etc/corolink/corosync.conf by default', {
    skip: existsSync(DEFAULT_CONFIG_PATH),
  }, () => {
    const run = corolink('config', 'diff', file('any.conf', TUNED));
    assert.equal(run.status, ExitCode.io);
    assert.equal(run.stderr, `corolink: cannot read ${DEFAULT_CONFIG_PATH}: no such file\n`);
  });
});

describe('corolink config apply', () => {
  it('--dry-run prints the plan key by key: exit 0 ok, 1 refused (with the reason)', () => {
    const ok = corolink('config', 'apply', '--dry-run', file('tuned.conf', TUNED), '-c', current);
    assert.equal(ok.status, ExitCode.ok, ok.stderr);
    assert.match(ok.stdout, /^Applies live:\n/);
    assert.doesNotMatch(ok.stdout, /^--- /m);
    const refused = corolink('config', 'apply', '--dry-run', file('renamed.conf', RENAMED), '-c', current);
    assert.equal(refused.status, ExitCode.invalid);
    assert.match(refused.stdout, /\nRefused:\n {2}totem\.cluster_name +demo → other {2}— the cluster name is/);
    assert.match(refused.stdout, /\nPlan: refused \(1 refused change\)\n$/);
  });

  it('--json prints the plan; --force turns a quorum refusal into a warning', () => {
    const lonely = file(
      'lonely.conf',
      clusterConfigText({
        clusterName: 'demo',
        linkMode: 'passive',
        links,
        nodes: nodes.slice(0, 1),
        configVersion: 4,
      }),
    );
    const refused = corolink('config', 'apply', '--dry-run', lonely, '-c', current, '--json');
    assert.equal(refused.status, ExitCode.invalid);
    const plan = JSON.parse(refused.stdout);
    assert.deepEqual([plan.ok, plan.nodesRemoved], [false, [2, 3]]);
    assert.match(plan.errors[0], /^the nodes that stay have 1 vote\(s\), fewer than the 2 /);
    const forced = corolink('config', 'apply', '--dry-run', '--force', lonely, '-c', current, '--json');
    assert.equal(forced.status, ExitCode.ok, forced.stderr);
    assert.equal(JSON.parse(forced.stdout).ok, true);
  });

  it('without --dry-run it needs the daemon (one line, exit 69); an unreadable file: exit 74', () => {
    const socket = join(dir.path, 'no-daemon.sock');
    const run = corolink('config', 'apply', file('tuned.conf', TUNED), '--socket', socket, '--yes');
    assert.equal(run.status, ExitCode.unavailable);
    assert.match(run.stderr, /^corolink: .*no-daemon\.sock.*\(is it running\?\)\n$/);
    const missing = join(dir.path, 'missing.conf');
    const unreadable = corolink('config', 'apply', '--dry-run', missing, '-c', current);
    assert.equal(unreadable.status, ExitCode.io);
    assert.equal(unreadable.stderr, `corolink: cannot read ${missing}: no such file\n`);
  });
});

describe('formatPlan and lineDiff', () => {
  it('groups the changes by effect, then links, errors, warnings and the verdict', () => {
    const next = CURRENT.replace('config_version: 3', 'config_version: 4')
      .replace('link_mode: passive', 'link_mode: active')
      .replace('cluster_name: demo', 'cluster_name: other');
    const plan = planConfigChange(checkConfigText(CURRENT, 'a.conf'), checkConfigText(next, 'b.conf'));
    const text = formatPlan(plan).split('\n');
    assert.deepEqual(
      text.map((line) => line.split(' — ')[0]!.trimEnd()),
      [
        'Applies live:',
        '  totem.config_version  3 → 4',
        'Applies at the next restart:',
        '  totem.link_mode       passive → active',
        'Refused:',
        '  totem.cluster_name    demo → other',
        'Plan: refused (1 refused change)',
      ],
    );
  });

  it('prints diff -u hunks with three lines of context', () => {
    const before = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'].join('\n');
    const after = ['a', 'B', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k'].join('\n');
    assert.equal(
      lineDiff(`${before}\n`, `${after}\n`, { from: 'x', to: 'y' }),
      [
        '--- x',
        '+++ y',
        '@@ -1,5 +1,5 @@',
        ' a',
        '-b',
        '+B',
        ' c',
        ' d',
        ' e',
        '@@ -8,3 +8,4 @@',
        ' h',
        ' i',
        ' j',
        '+k',
      ].join('\n'),
    );
    assert.equal(lineDiff('x\n', 'x\n'), '(no differences)');
    assert.equal(lineDiff('', 'x\n'), '--- current\n+++ new\n@@ -0,0 +1,1 @@\n+x');
  });
});
