// `corolink lab` end to end through the CLI (issue 6 "done when"): up → cut 3 0 → status shows node 3's link0
// DOWN and link1 UP with the cluster quorate → down leaves no namespace, bridge, process or directory behind.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { StatusV1 } from '../../src/ipc/schema.ts';
import { readState } from '../../src/lab/lab-state.ts';
import { NetnsLab } from '../../src/lab/netns-lab.ts';
import { healthy, linkState, skipReason } from './helpers.ts';

const exec = promisify(execFile);
const LIMIT_MS = 120_000;

function lab(dir: string, verb: string, ...args: string[]) {
  return exec(process.execPath, ['bin/corolink.mjs', 'lab', verb, '--dir', dir, ...args], { timeout: LIMIT_MS });
}

/** Every process whose command line mentions `text`. */
function processesMentioning(text: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('corolink lab (CLI)', { skip: skipReason }, () => {
  const root = mkdtempSync(join(tmpdir(), 'corolink-labcli-'));
  const dir = join(root, 'lab');

  after(async () => {
    if (readState(dir)) await NetnsLab.open(dir).down();
    rmSync(root, { recursive: true, force: true });
  });

  test('up → cut 3 0 → status (the seed picture) → down leaves nothing behind', async () => {
    await lab(dir, 'up', '--nodes', '3', '--links', '2');
    const { prefix } = readState(dir)!;
    await NetnsLab.open(dir).waitFor(healthy(3), { timeoutMs: 30_000 });
    await lab(dir, 'cut', '3', '0');
    await NetnsLab.open(dir).waitFor((s) => s.local_nodeid === 3 || linkState(s, 3, 0) === 'DOWN', {
      timeoutMs: 15_000,
    });

    const { stdout: text } = await lab(dir, 'status');
    const n1 = text.slice(text.indexOf('===== n1 ====='), text.indexOf('===== n2 ====='));
    assert.match(n1, /Quorate:\s+Yes/);
    assert.match(n1, /Node 0x00000003 n3\n\s+link0: DOWN.*\n\s+link1: UP/);

    const { stdout: json } = await lab(dir, 'status', '--json');
    const all = JSON.parse(json) as Record<string, StatusV1>;
    assert.deepEqual(Object.keys(all), ['n1', 'n2', 'n3']);
    for (const name of ['n1', 'n2']) {
      assert.equal(all[name]!.quorum.quorate, true);
      assert.equal(linkState(all[name]!, 3, 0), 'DOWN');
      assert.equal(linkState(all[name]!, 3, 1), 'UP');
    }

    const { stdout: inside } = await lab(dir, 'exec', '3', '--', 'ip', '-o', 'addr', 'show', 'link1');
    assert.match(inside, /198\.18\.20\.3\/24/);

    await lab(dir, 'down');
    assert.equal(existsSync(dir), false, 'lab directory removed');
    const { stdout: namespaces } = await exec('ip', ['netns', 'list']);
    assert.doesNotMatch(namespaces, new RegExp(prefix));
    const { stdout: links } = await exec('ip', ['-o', 'link', 'show']);
    assert.doesNotMatch(links, new RegExp(prefix));
    assert.deepEqual(processesMentioning(dir), [], 'no daemon left');
  });

  test('not root: one line and exit 2', { skip: existsSync('/usr/bin/setpriv') ? false : 'no setpriv' }, async () => {
    const asNobody = exec(
      'setpriv',
      ['--reuid', '65534', '--regid', '65534', '--clear-groups', process.execPath, 'bin/corolink.mjs', 'lab', 'status'],
      { timeout: LIMIT_MS },
    );
    await assert.rejects(asNobody, (error: { stderr: string; code: number }) => {
      assert.match(error.stderr, /^corolink: the lab needs root.*\n$/);
      return error.code === 2;
    });
  });

  test('verbs on a missing lab fail with one line', async () => {
    await assert.rejects(lab(join(dir, 'none'), 'status'), (error: { stderr: string; code: number }) => {
      assert.match(error.stderr, /^corolink: no lab in .*\n$/);
      return error.code === 1;
    });
  });
});
