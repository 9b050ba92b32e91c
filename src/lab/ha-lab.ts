/**
 * The HA scenarios of the lab (issue 16's "Done when"), shared by test/lab/ha.test.ts (which asserts their bounds)
 * and bench/ha.ts (which takes their medians): a 3×2 lab with `corolink { ha: yes }` and a group `web` — a floating
 * address 198.18.100.100/24 on `svc0` and `lab http-echo` bound to it, answering with its host's name — preferring
 * n1, then n2. A fault runs while the client host polls the address every 50 ms and, beside it, a process check
 * reads every host's processes every 100 ms: the client sees who answered, the check sees who runs the server.
 */
import { readFileSync, statSync } from 'node:fs';
import { CorolinkClient } from '../client/client.ts';
import type { HaServiceStatus, HaStatusV1, StatusV1 } from '../ipc/schema.ts';
import { BIN } from './daemon-process.ts';
import { names } from './lab-state.ts';
import { NetnsLab } from './netns-lab.ts';
import type { PollSample } from './poller.ts';

export const HA_VIP = '198.18.100.100';
export const HA_URL = `http://${HA_VIP}/`;
/** The web server, a member of group web: status rows and `ha migrate` name a group's members. */
export const WEB = 'exec:web';
const POLL_INTERVAL_MS = 50;
/** Interval of the process check. */
const PROCESS_CHECK_INTERVAL_MS = 100;
/** The client polls this long before a fault, to see the service answer from where it was. */
const LEAD_IN_MS = 1000;
/** The client's window around a node failure: the issue's 10 s recovery bound, then steady answers. */
const FAULT_WINDOW_MS = 14_000;
/** The client's window around a migration. */
const MIGRATE_WINDOW_MS = 8_000;
/** How long a settling step (start, failback, a daemon back in the cluster) may take on a loaded machine. */
export const HA_SETTLE_TIMEOUT_MS = 90_000;

/** Who runs the web server at one instant, by the process check. */
export interface HostSample {
  at: number;
  /** Hosts with a `lab http-echo` process for the floating address. */
  serving: number[];
}

/** What the client and the process check saw around one fault at `t0`. */
export interface FaultRecord {
  t0: number;
  samples: PollSample[];
  hosts: HostSample[];
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A lab with HA on and the web group added (`HaLab.up`), and the scenarios' steps. */
export class HaLab {
  private constructor(readonly lab: NetnsLab) {}

  /** Brings up a 3×2 lab with HA on in `dir`, waits for a quorate membership and the manager. */
  static async up(dir: string): Promise<HaLab> {
    const lab = await NetnsLab.up({ nodes: 3, links: 2, dir, corolinkExtra: { ha: 'yes' } });
    const ha = new HaLab(lab);
    try {
      await ha.waitHealthy();
      await ha.until('an HA manager is elected', async () => ((await ha.status(1)).manager ? true : undefined));
    } catch (error) {
      await lab.down();
      throw error;
    }
    return ha;
  }

  /**
   * Adds the web group (preferred n1:2, n2:1): its members disabled first, so nothing starts before the group
   * binds them to one node, then started. Resolves once it answers from n1.
   */
  async addWeb(): Promise<void> {
    const pidFile = `${this.lab.dir}/web-$(ip netns identify).pid`;
    const name = '$(ip netns identify | cut -d- -f2)';
    const start = `${process.execPath} ${BIN} lab http-echo --address ${HA_VIP} --port 80 --name ${name} >/dev/null 2>&1 & echo $! > ${pidFile}`;
    await this.call(1, (c) =>
      c.ha.add(`ip: vip\n\tstate disabled\n\taddress ${HA_VIP}/24\n\tinterface ${names.servicePort}\n`),
    );
    await this.call(1, (c) =>
      c.ha.add(`exec: web\n\tstate disabled\n\tstart ${start}\n\tstop kill $(cat ${pidFile})\n\tmonitor true\n`),
    );
    await this.setWebGroup({ nofailback: false });
    await this.call(1, (c) => c.ha.set('ip:vip', { state: 'started' }));
    await this.call(1, (c) => c.ha.set('exec:web', { state: 'started' }));
    await this.waitPlaced(1);
  }

  /** Replaces the web group's rules: n1 preferred, then n2; `nofailback` keeps it where it runs. */
  setWebGroup({ nofailback }: { nofailback: boolean }): Promise<void> {
    const section = `group: web\n\tresources ip:vip,exec:web\n\tnodes n1:2,n2:1\n${nofailback ? '\tnofailback 1\n' : ''}`;
    return this.call(1, (c) => c.ha.groupSet(section));
  }

  /** Runs `fn` with a client of host `nodeid`'s daemon. */
  async call<T>(nodeid: number, fn: (client: CorolinkClient) => Promise<T>): Promise<T> {
    const client = await CorolinkClient.connect({ socket: this.lab.socket(nodeid), reconnect: false });
    try {
      return await fn(client);
    } finally {
      client.close();
    }
  }

  status(nodeid: number): Promise<HaStatusV1> {
    return this.call(nodeid, (c) => c.ha.status());
  }

  /** Unit `sid` as a running host sees it. */
  async service(sid: string, from = this.anyRunning()): Promise<HaServiceStatus> {
    const found = (await this.status(from)).services.find((s) => s.sid === sid);
    if (!found) throw new Error(`no HA service ${sid}`);
    return found;
  }

  /** Polls `probe` every 200 ms until it yields a value; throws naming `what` after `timeoutMs`. */
  async until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = HA_SETTLE_TIMEOUT_MS): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
      try {
        const value = await probe();
        if (value !== undefined) return value;
      } catch (error) {
        last = error;
      }
      if (Date.now() > deadline)
        throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (${(last as Error).message})` : ''}`);
      await pause(200);
    }
  }

  /** Waits for one quorate membership of every host with every link up. */
  async waitHealthy(): Promise<void> {
    const count = this.lab.nodeids.length;
    await this.lab.waitFor(
      (s: StatusV1) =>
        s.quorum.quorate &&
        s.members.length === count &&
        s.members.every((m) => m.links.every((l) => l.state === 'UP')),
      { timeoutMs: HA_SETTLE_TIMEOUT_MS, nodes: this.lab.nodeids },
    );
  }

  /** Waits until the web group is started on `nodeid` and the client gets its answer from there. */
  async waitPlaced(nodeid: number): Promise<void> {
    await this.until(`${WEB} started on n${nodeid} and answering from there`, async () => {
      const web = await this.service(WEB);
      if (web.state !== 'started' || web.nodeid !== nodeid) return undefined;
      const samples = await this.lab.poll(HA_URL, { intervalMs: POLL_INTERVAL_MS, forMs: 200 });
      return samples.some((s) => s.node === `n${nodeid}`) ? true : undefined;
    });
  }

  /**
   * Runs `fault` after a lead-in while the client polls for `windowMs` in all and the process check samples every
   * host; the record's `t0` is when the fault began.
   */
  async observe(fault: () => Promise<void>, windowMs: number): Promise<FaultRecord> {
    const hosts: HostSample[] = [];
    let checking = true;
    const check = (async () => {
      while (checking) {
        hosts.push({ at: Date.now(), serving: this.serving() });
        await pause(PROCESS_CHECK_INTERVAL_MS);
      }
    })();
    const polled = this.lab.poll(HA_URL, { intervalMs: POLL_INTERVAL_MS, forMs: windowMs });
    let t0 = 0;
    try {
      await pause(LEAD_IN_MS);
      t0 = Date.now();
      await fault();
      return { t0, samples: await polled, hosts };
    } finally {
      await polled.catch(() => undefined);
      checking = false;
      await check;
    }
  }

  /** Hosts running a `lab http-echo` for the floating address (every process's netns and command line). */
  serving(): number[] {
    return this.lab.nodeids.filter((n) =>
      this.lab.processes(n).some((pid) => {
        try {
          const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
          return argv.includes('http-echo') && argv.includes(HA_VIP);
        } catch {
          return false; // It exited meanwhile.
        }
      }),
    );
  }

  /** Both cables of host `nodeid` pulled (scenario 2). */
  cutAll(nodeid: number): Promise<FaultRecord> {
    return this.observe(async () => {
      await Promise.all([0, 1].map((l) => this.lab.cut(nodeid, l)));
    }, FAULT_WINDOW_MS);
  }

  /** Plugs both cables back in; resolves once the cluster is whole again. */
  async restoreAll(nodeid: number): Promise<void> {
    await Promise.all([0, 1].map((l) => this.lab.restore(nodeid, l)));
    await this.waitHealthy();
  }

  /** `kill -9` of host `nodeid`'s daemon (scenario 3); `crash --host`: the host gone (scenario 4). */
  crash(nodeid: number, host: boolean): Promise<FaultRecord> {
    return this.observe(() => this.lab.crash(nodeid, { host }), FAULT_WINDOW_MS);
  }

  /** Starts host `nodeid` again; resolves once the cluster is whole again. */
  async restart(nodeid: number): Promise<void> {
    await this.lab.start(nodeid);
    await this.waitHealthy();
  }

  /** `ha migrate` of the web group to `nodeid` (scenario 6); resolves once it answers from there. */
  async migrate(nodeid: number): Promise<FaultRecord> {
    const record = await this.observe(() => this.call(nodeid, (c) => c.ha.migrate(WEB, nodeid)), MIGRATE_WINDOW_MS);
    await this.waitPlaced(nodeid);
    return record;
  }

  /** Host `nodeid`'s daemon log (its supervisor's too), from byte `from` (`logSize` before a step: what it logged). */
  log(nodeid: number, from = 0): string {
    return readFileSync(this.lab.logFile(nodeid)).subarray(from).toString('utf8');
  }

  logSize(nodeid: number): number {
    return statSync(this.lab.logFile(nodeid)).size;
  }

  private anyRunning(): number {
    const n = this.lab.nodeids.find((id) => this.lab.running(id));
    if (n === undefined) throw new Error('no daemon runs');
    return n;
  }
}

/** What one fault did to the service, from a `FaultRecord`. */
export interface FaultSummary {
  /** The fault → the first answer from another host than `from` (null: none in the window). */
  answerElsewhereMs: number | null;
  /** The fault → the first process check without `from`'s server (null: it kept running). */
  goneMs: number | null;
  /** Instants when two hosts answered or ran the server (client: an answer of `from` after another's). */
  overlaps: string[];
  /** Hosts that answered after the fault. */
  answeredBy: string[];
  /** Requests after the fault that got no answer, and the number of separate runs of them. */
  failed: number;
  gaps: number;
  /** Longest time without an answer after the fault (ms, between request starts). */
  longestGapMs: number;
  /** The client's record after the fault as runs: `n1×20 +0ms, -×12 +1000ms (EHOSTUNREACH), n2×80 +1600ms`. */
  timeline: string;
}

/** Runs of equal outcomes, for failure messages. */
function timeline(samples: readonly PollSample[], t0: number): string {
  const runs: string[] = [];
  for (let i = 0; i < samples.length; ) {
    let j = i;
    while (j < samples.length && samples[j]!.node === samples[i]!.node) j++;
    const s = samples[i]!;
    runs.push(`${s.node ?? '-'}×${j - i} +${s.at - t0}ms${s.error ? ` (${s.error})` : ''}`);
    i = j;
  }
  return runs.join(', ');
}

export function summarizeFault(record: FaultRecord, from: number): FaultSummary {
  const name = `n${from}`;
  const after = record.samples.filter((s) => s.at >= record.t0);
  const firstElsewhere = after.find((s) => s.node !== null && s.node !== name);
  const overlaps: string[] = [];
  if (firstElsewhere) {
    for (const s of after)
      if (s.at > firstElsewhere.at && s.node !== null && s.node !== firstElsewhere.node)
        overlaps.push(`client: ${s.node} answered at +${s.at - record.t0} ms after ${firstElsewhere.node} had`);
  }
  for (const h of record.hosts)
    if (h.serving.length > 1) overlaps.push(`process check: n${h.serving.join(', n')} at +${h.at - record.t0} ms`);
  const gone = record.hosts.find((h) => h.at >= record.t0 && !h.serving.includes(from));
  let gaps = 0;
  let longestGapMs = 0;
  let lastAnswer = record.samples.filter((s) => s.at < record.t0 && s.node !== null).at(-1)?.at ?? record.t0;
  for (let i = 0; i < after.length; i++) {
    const s = after[i]!;
    if (s.node === null && (i === 0 || after[i - 1]!.node !== null)) gaps++;
    if (s.node !== null) {
      longestGapMs = Math.max(longestGapMs, s.at - lastAnswer);
      lastAnswer = s.at;
    }
  }
  return {
    answerElsewhereMs: firstElsewhere ? firstElsewhere.at - record.t0 : null,
    goneMs: gone ? gone.at - record.t0 : null,
    overlaps,
    answeredBy: [...new Set(after.flatMap((s) => (s.node === null ? [] : [s.node])))],
    failed: after.filter((s) => s.node === null).length,
    gaps,
    longestGapMs,
    timeline: timeline(after, record.t0),
  };
}
