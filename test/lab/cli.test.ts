// `corolink lab` end to end through the CLI (issue 6 "done when"): up → cut 3 0 → status shows node 3's link0
// DOWN and link1 UP with the cluster quorate → crash --host / start → down leaves no namespace, bridge, process or
// directory behind.
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

  test('up → cut 3 0 → status (the seed picture) → crash --host, start → down leaves nothing behind', async () => {
    const { stdout: up } = await lab(dir, 'up', '--nodes', '3', '--links', '2');
    const { prefix } = readState(dir)!;
    // The summary: every host with its address per link, the config its daemon reads, its socket and log file.
    assert.match(up, /\nHost +link0 +link1 +Config +Socket +Log\n/);
    const row3 = up.split('\n').find((line) => line.startsWith('n3 '));
    assert.ok(row3, up);
    for (const part of ['198.18.10.3', '198.18.20.3', join(dir, 'corosync.conf'), join(dir, 'n3.sock')]) {
      assert.ok(row3.includes(part), `${part} in ${row3}`);
    }
    assert.ok(row3.endsWith(join(dir, 'n3.log')), row3);
    await NetnsLab.open(dir).waitFor(healthy(3), { timeoutMs: 30_000 });
    await lab(dir, 'cut', '3', '0');
    const cutSeen = (s: StatusV1) =>
      s.local_nodeid === 3
        ? linkState(s, 1, 0) === 'DOWN' && linkState(s, 2, 0) === 'DOWN'
        : linkState(s, 3, 0) === 'DOWN';
    await NetnsLab.open(dir).waitFor(cutSeen, { timeoutMs: 15_000 });

    // Compact: one row per host, the ring ids side by side; n1 and n2 reach n3 on link1 only, n3 nobody on link0.
    const { stdout: text } = await lab(dir, 'status');
    const rows = text.trimEnd().split('\n');
    assert.equal(rows.length, 4, text);
    assert.match(rows[0]!, /^Host +Ring ID +Members +Quorate +Links up \(peers\)$/);
    const cells = rows.slice(1).map((row) => row.split(/ {2,}/));
    assert.deepEqual(
      cells.map(([host, , members, quorate, links]) => [host, members, quorate, links]),
      [
        ['n1', '1,2,3', 'yes', 'link0 1/2 link1 2/2'],
        ['n2', '1,2,3', 'yes', 'link0 1/2 link1 2/2'],
        ['n3', '1,2,3', 'yes', 'link0 0/2 link1 2/2'],
      ],
    );
    assert.equal(new Set(cells.map((c) => c[1])).size, 1, `one ring id: ${text}`);

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
    // exec presets the config path as well as the socket: corolink's own tools work as on a real host.
    const { stdout: config } = await lab(
      dir,
      'exec',
      '2',
      '--',
      process.execPath,
      'bin/corolink.mjs',
      'config',
      'show',
    );
    assert.equal(config, readFileSync(join(dir, 'corosync.conf'), 'utf8'));
    // A node's shell has the lab's `corolink` on PATH and knows its lab (`corolink lab rsh` for qdevice setup).
    const { stdout: fromNode } = await lab(dir, 'exec', '2', '--', 'corolink', 'lab', 'status', '--json');
    assert.equal((JSON.parse(fromNode) as Record<string, StatusV1>).n2?.local_nodeid, 2);

    // The whole host gone: nothing runs in it, its interfaces are down; `start` brings it back into the cluster.
    await lab(dir, 'restore', '3', '0');
    await lab(dir, 'crash', '3', '--host');
    assert.deepEqual(NetnsLab.open(dir).processes(3), [], 'no process left on the crashed host');
    const { stdout: crashed } = await lab(dir, 'exec', '3', '--', 'ip', '-o', 'link', 'show', 'up');
    assert.doesNotMatch(crashed, /link0|link1|svc0/, 'every interface of the crashed host is down');
    await lab(dir, 'start', '3');
    await NetnsLab.open(dir).waitFor(healthy(3), { timeoutMs: 30_000 });

    await lab(dir, 'down');
    assert.equal(existsSync(dir), false, 'lab directory removed');
    assert.equal(existsSync(`${dir}-app`), false, "the daemons' application socket folder removed");
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
