// The carrier watch (src/daemon/carrier-watch.ts): which addresses have no carrier to watch, the interface names of
// `ip -o addr show`, which carrier reads the transport is told of, and the monitor's life — none on loopback, killed
// by PID on stop, a monitor that dies reported once and not restarted. (The pulled cable itself: test/lab/carrier.)
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { CarrierWatch, carrierChanges, isLoopbackAddress, parseAddressList } from '../../src/daemon/carrier-watch.ts';
import type { LogLevel } from '../../src/daemon/log.ts';
import { waitUntil } from '../wait-until.ts';

/** An address of the lab range (198.18.0.0/15) on no interface of the root namespace: its carrier is unknown. */
const NOWHERE_ADDRESS = '198.19.255.254';

const gone = (pid: number) =>
  !existsSync(`/proc/${pid}`) || /^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));

function recorder() {
  const lines: { level: LogLevel; message: string }[] = [];
  const told: { link: number; carrier: boolean }[] = [];
  return {
    lines,
    told,
    options: {
      setLinkCarrier: (link: number, carrier: boolean) => told.push({ link, carrier }),
      log: (level: LogLevel, message: string) => lines.push({ level, message }),
    },
  };
}

describe('carrier watch: decisions', () => {
  test('loopback addresses (no carrier to watch): 127.0.0.0/8 and ::1, nothing else', () => {
    for (const a of ['127.0.0.1', '127.255.0.9', '::1', '0:0:0:0:0:0:0:1']) assert.ok(isLoopbackAddress(a), a);
    for (const a of ['198.18.0.1', '128.0.0.1', 'fe80::1', '::2', 'node1']) assert.ok(!isLoopbackAddress(a), a);
  });

  test('ip -o addr show: the interface of every address, without a veth peer suffix', () => {
    const text = [
      '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever',
      '1: lo    inet6 ::1/128 scope host \\       valid_lft forever preferred_lft forever',
      '3: eth1@if12    inet 198.18.0.1/24 scope global eth1\\       valid_lft forever preferred_lft forever',
      '4: eth0    inet6 fd00::2/64 scope global nodad \\       valid_lft forever preferred_lft forever',
      'garbage',
    ].join('\n');
    assert.deepEqual(
      [...parseAddressList(text)],
      [
        ['127.0.0.1', 'lo'],
        ['::1', 'lo'],
        ['198.18.0.1', 'eth1'],
        ['fd00::2', 'eth0'],
      ],
    );
  });

  test('the transport is told a change only: a new link has carrier, an unknown read changes nothing', () => {
    const read = new Map<number, boolean | null>([
      [0, false],
      [1, true],
      [2, null],
    ]);
    assert.deepEqual(carrierChanges(new Map(), read), [{ link: 0, carrier: false }]);
    assert.deepEqual(
      carrierChanges(
        new Map([
          [0, false],
          [1, false],
          [2, false],
        ]),
        read,
      ),
      [{ link: 1, carrier: true }],
    );
  });
});

describe('carrier watch: the monitor', () => {
  test('links on loopback only: no monitor, one debug line saying why', () => {
    const r = recorder();
    const watch = CarrierWatch.start({ links: [{ link: 0, address: '127.0.0.1' }], ...r.options });
    assert.equal(watch.monitorPid, undefined);
    assert.deepEqual(
      r.lines.map((l) => l.level),
      ['debug'],
    );
    assert.match(r.lines[0]!.message, /loopback/);
    watch.stop();
  });

  test('a link off loopback: ip -o monitor link runs until stop, which kills it by PID', async () => {
    const r = recorder();
    const watch = CarrierWatch.start({ links: [{ link: 0, address: NOWHERE_ADDRESS }], ...r.options });
    const pid = watch.monitorPid;
    assert.ok(pid !== undefined, 'monitor started');
    await waitUntil(() => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('ip\0'), 5_000, 'sh exec ip');
    watch.stop();
    await waitUntil(() => gone(pid), 5_000, `monitor ${pid} gone after stop`);
    assert.ok(!r.lines.some((l) => l.level === 'warning'), 'a stopped monitor is no failure');
  });

  test('a monitor that dies: one warning, no restart, the watch goes on (reconfigure follows links)', async () => {
    const r = recorder();
    const watch = CarrierWatch.start({ links: [{ link: 0, address: NOWHERE_ADDRESS }], ...r.options });
    const pid = watch.monitorPid!;
    await waitUntil(() => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('ip\0'), 5_000, 'sh exec ip');
    process.kill(pid, 'SIGKILL');
    await waitUntil(() => r.lines.some((l) => l.level === 'warning'), 5_000, 'the warning');
    assert.equal(watch.monitorPid, undefined);
    watch.follow([
      { link: 0, address: NOWHERE_ADDRESS },
      { link: 1, address: '198.19.255.253' },
    ]);
    assert.equal(watch.monitorPid, undefined, 'not restarted');
    const warnings = r.lines.filter((l) => l.level === 'warning');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!.message, /exited \(SIGKILL\).*ping timeout/);
    watch.stop();
  });
});
