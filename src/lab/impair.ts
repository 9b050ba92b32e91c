/**
 * Packet impairments on one host's cable: tc netem on the host end (egress) where the kernel has it, and
 * classic-BPF filters that need nothing beyond cls_bpf + act_mirred (both in minimal kernels such as
 * Firecracker's): random loss, and dropping everything towards one address (partitions, asymmetric
 * reachability). The filters sit on the switch end's ingress — the packet has left the host, so its sender sees
 * no error, as on a real wire (a drop on the host's own egress makes `sendto` fail with ENOBUFS) — and redirect
 * matched packets to a veth kept down, which drops them.
 */
import { run, tcIn } from './command.ts';

/** What `lab netem` may set; omitted or 0 means off. */
export interface NetemOptions {
  lossPercent?: number;
  delayMs?: number;
  jitterMs?: number;
  duplicatePercent?: number;
  reorderPercent?: number;
}

/** One host's cable on one link. */
export interface Cable {
  /** The host's namespace and its end of the cable there. */
  ns: string;
  hostDev: string;
  /** The switch end (root namespace). */
  switchDev: string;
  /** The down veth (root namespace) that swallows dropped packets. */
  sink: string;
}

/** Filter preference of the random-loss filter; drop-destination filters use DROP_PREF_BASE + host octet. */
const LOSS_PREF = 1;
const DROP_PREF_BASE = 100;
/** Classic BPF: `ld #rand` (SKF_AD_OFF + SKF_AD_RANDOM) and the opcodes used below. */
const LD_RANDOM = 0xfffff038;
const LD_W_ABS = 0x20;
const LD_H_ABS = 0x28;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const RET_K = 0x06;
const MATCH = 0xffffffff;
const ETHERTYPE_IPV4 = 0x0800;
/** Offsets in an Ethernet frame (lo has one too): EtherType and the IPv4 source and destination addresses. */
const ETHERTYPE_OFFSET = 12;
const IPV4_SRC_OFFSET = 26;
const IPV4_DST_OFFSET = 30;
const NO_NETEM = 'this kernel has no sch_netem';

type Insn = [code: number, jt: number, jf: number, k: number];

/** tc's `bytecode` text of a classic BPF program. */
function bytecode(program: Insn[]): string {
  return [String(program.length), ...program.map((insn) => insn.join(' '))].join(',');
}

/** Matches a random `percent` of all packets. */
function randomLossProgram(percent: number): Insn[] {
  const threshold = Math.round((percent / 100) * 0xffffffff);
  return [
    [LD_W_ABS, 0, 0, LD_RANDOM],
    [JGE_K, 1, 0, threshold],
    [RET_K, 0, 0, MATCH],
    [RET_K, 0, 0, 0],
  ];
}

const ipv4Value = (address: string) => address.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);

/** Matches IPv4 packets to `address`. */
function destinationProgram(address: string): Insn[] {
  const value = ipv4Value(address);
  return [
    [LD_H_ABS, 0, 0, ETHERTYPE_OFFSET],
    [JEQ_K, 0, 3, ETHERTYPE_IPV4],
    [LD_W_ABS, 0, 0, IPV4_DST_OFFSET],
    [JEQ_K, 0, 1, value],
    [RET_K, 0, 0, MATCH],
    [RET_K, 0, 0, 0],
  ];
}

/** Matches IPv4 packets from `source` to `destination`. */
function pairProgram(source: string, destination: string): Insn[] {
  return [
    [LD_H_ABS, 0, 0, ETHERTYPE_OFFSET],
    [JEQ_K, 0, 5, ETHERTYPE_IPV4],
    [LD_W_ABS, 0, 0, IPV4_SRC_OFFSET],
    [JEQ_K, 0, 3, ipv4Value(source)],
    [LD_W_ABS, 0, 0, IPV4_DST_OFFSET],
    [JEQ_K, 0, 1, ipv4Value(destination)],
    [RET_K, 0, 0, MATCH],
    [RET_K, 0, 0, 0],
  ];
}

const tc = (...args: string[]) => run('tc', args);

async function addDropFilter(cable: Cable, pref: number, program: Insn[]): Promise<void> {
  await tc('qdisc', 'replace', 'dev', cable.switchDev, 'clsact');
  await removeFilter(cable, pref);
  await tc(
    ...['filter', 'add', 'dev', cable.switchDev, 'ingress', 'pref', String(pref)],
    ...['bpf', 'bytecode', bytecode(program), 'action', 'mirred', 'egress', 'redirect', 'dev', cable.sink],
  );
}

async function removeFilter(cable: Cable, pref: number): Promise<void> {
  await tc('filter', 'del', 'dev', cable.switchDev, 'ingress', 'pref', String(pref)).catch(() => undefined);
}

function dropPref(address: string): number {
  return DROP_PREF_BASE + Number(address.split('.')[3]);
}

/** Drops every packet the host sends on this cable to `address` (one direction of a broken pair). */
export function dropTo(cable: Cable, address: string): Promise<void> {
  return addDropFilter(cable, dropPref(address), destinationProgram(address));
}

/** Undoes `dropTo`. */
export function undropTo(cable: Cable, address: string): Promise<void> {
  return removeFilter(cable, dropPref(address));
}

/** Removes every filter of the cable (all drops and the emulated loss). */
export async function removeFilters(cable: Cable): Promise<void> {
  await tc('qdisc', 'del', 'dev', cable.switchDev, 'clsact').catch(() => undefined);
}

/**
 * Impairs everything the host sends on this cable: tc netem when the kernel has it; otherwise loss alone is
 * emulated with a random BPF filter and any other option is refused with the reason.
 */
export async function netem(cable: Cable, options: NetemOptions): Promise<string> {
  await clearImpairment(cable);
  const args: string[] = [];
  if (options.delayMs || options.jitterMs)
    args.push('delay', `${options.delayMs ?? 0}ms`, ...(options.jitterMs ? [`${options.jitterMs}ms`] : []));
  if (options.lossPercent) args.push('loss', `${options.lossPercent}%`);
  if (options.duplicatePercent) args.push('duplicate', `${options.duplicatePercent}%`);
  if (options.reorderPercent) args.push('reorder', `${options.reorderPercent}%`);
  if (args.length === 0) return 'no impairment';
  try {
    await tcIn(cable.ns, 'qdisc', 'replace', 'dev', cable.hostDev, 'root', 'netem', ...args);
    return `netem ${args.join(' ')}`;
  } catch (error) {
    if (!/unknown/i.test((error as Error).message)) throw error;
    const onlyLoss = !options.delayMs && !options.jitterMs && !options.duplicatePercent && !options.reorderPercent;
    if (!onlyLoss) throw new Error(`${NO_NETEM}: only --loss can be emulated here`);
    await addDropFilter(cable, LOSS_PREF, randomLossProgram(options.lossPercent ?? 0));
    return `loss ${options.lossPercent}% (BPF filter; ${NO_NETEM})`;
  }
}

/** True when the kernel has sch_netem (tried on the sink device). */
export async function netemAvailable(sink: string): Promise<boolean> {
  try {
    await tc('qdisc', 'replace', 'dev', sink, 'root', 'netem', 'delay', '1ms');
    await tc('qdisc', 'del', 'dev', sink, 'root');
    return true;
  } catch {
    return false;
  }
}

/** Removes netem and the random-loss filter from the cable (drop-destination filters stay). */
export async function clearImpairment(cable: Cable): Promise<void> {
  await tcIn(cable.ns, 'qdisc', 'del', 'dev', cable.hostDev, 'root').catch(() => undefined);
  await removeFilter(cable, LOSS_PREF);
}

/** The loopback cut's filter preference and the down veth that swallows what it matches. */
const LOOPBACK_CUT_PREF = 4242;
const LOOPBACK_SINK = 'clk-lo-sink';

/**
 * Drops what `source` sends to `destination` on the loopback device (one direction between two daemons of a
 * loopback cluster, e.g. 127.0.10.2 → 127.0.10.3), leaving everything else alone; needs root. Resolves to the
 * undo, which removes exactly what this added.
 */
export async function cutLoopbackOneWay(source: string, destination: string): Promise<() => Promise<void>> {
  const hadClsact = (await tc('qdisc', 'show', 'dev', 'lo')).includes('clsact');
  await run('ip', ['link', 'add', LOOPBACK_SINK, 'type', 'veth', 'peer', 'name', `${LOOPBACK_SINK}-p`]);
  const undo = async () => {
    await tc('filter', 'del', 'dev', 'lo', 'egress', 'pref', String(LOOPBACK_CUT_PREF)).catch(() => undefined);
    if (!hadClsact) await tc('qdisc', 'del', 'dev', 'lo', 'clsact').catch(() => undefined);
    await run('ip', ['link', 'del', LOOPBACK_SINK]).catch(() => undefined);
  };
  try {
    if (!hadClsact) await tc('qdisc', 'add', 'dev', 'lo', 'clsact');
    await tc(
      ...['filter', 'add', 'dev', 'lo', 'egress', 'pref', String(LOOPBACK_CUT_PREF)],
      ...['bpf', 'bytecode', bytecode(pairProgram(source, destination))],
      ...['action', 'mirred', 'egress', 'redirect', 'dev', LOOPBACK_SINK],
    );
  } catch (error) {
    await undo();
    throw error;
  }
  return undo;
}
