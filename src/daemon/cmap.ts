/**
 * The runtime key view of `corolink cmap` (corosync-cmapctl): the running config (`totem.*`, `nodelist.*`, …, the
 * way corosync's parser flattens corosync.conf) and runtime keys built from the engine's snapshots and counters —
 * `runtime.votequorum.*`, `runtime.members.N.*`, `runtime.totem.*`, `runtime.config.totem.*`,
 * `runtime.services.*`, `runtime.scheduler.*`, `stats.srp.*` and `stats.knet.nodeN.linkM.*`. corosync's key names wherever corosync has the key
 * (docs/cli.md "corolink cmap"). Read-only: nothing here changes the node.
 */
import type { ConfigTree, SectionNode } from '../config/index.ts';
import type { CmapEntry, CmapType } from '../ipc/schema.ts';
import { formatRingId } from '../totem/index.ts';
import type { NodeEngine } from './engine.ts';
import { readScheduling } from './scheduling.ts';

/** The top-level sections corosync keeps in cmap (the others are corolink's own or ignored by corosync). */
const CONFIG_SECTIONS: ReadonlySet<string> = new Set(['totem', 'nodelist', 'quorum', 'logging', 'system', 'corolink']);

/** A runtime.members.N entry: what corosync's totem keeps of every node it ever saw in a membership. */
interface MemberRecord {
  joinCount: number;
  status: 'joined' | 'left';
  configVersion: number;
}

/**
 * Tracks `runtime.members.N.*` from the engine's regular configuration changes (corosync counts `join_count` in
 * the same place: every regular configuration a node enters).
 */
export class CmapMembers {
  private readonly records = new Map<number, MemberRecord>();

  constructor(private readonly engine: NodeEngine) {
    for (const node of engine.stackSnapshot().totem.members) this.join(node);
    engine.on('membership', (event) => {
      if (event.kind !== 'regular') return;
      for (const node of event.joined) this.join(node);
      for (const node of event.left) {
        const record = this.records.get(node);
        if (record) record.status = 'left';
      }
    });
  }

  entries(): [number, MemberRecord][] {
    return [...this.records].sort(([a], [b]) => a - b);
  }

  private join(node: number): void {
    // Totem admits only members running the same config: a member's config_version is ours when it joins.
    const configVersion = this.engine.checked.effective.totem.configVersion;
    const record = this.records.get(node);
    if (record === undefined) this.records.set(node, { joinCount: 1, status: 'joined', configVersion });
    else if (record.status === 'left')
      Object.assign(record, { joinCount: record.joinCount + 1, status: 'joined', configVersion });
  }
}

const u8 = (key: string, value: boolean): CmapEntry => ({ key, type: 'u8', value: value ? 1 : 0 });
const u32 = (key: string, value: number): CmapEntry => ({ key, type: 'u32', value: Math.trunc(value) });
const u64 = (key: string, value: number): CmapEntry => ({ key, type: 'u64', value: Math.trunc(value) });
const i32 = (key: string, value: number): CmapEntry => ({ key, type: 'i32', value: Math.trunc(value) });
const str = (key: string, value: string): CmapEntry => ({ key, type: 'str', value });

/** Every key, sorted by name as corosync-cmapctl prints them. */
export function cmapEntries(engine: NodeEngine, members: CmapMembers): CmapEntry[] {
  const entries = [
    ...configEntries(engine.checked.tree),
    ...votequorumEntries(engine),
    ...memberEntries(engine, members),
    ...totemEntries(engine),
    ...timingEntries(engine),
    ...serviceEntries(engine),
    ...knetEntries(engine),
    ...schedulerEntries(),
  ];
  return entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** The running corosync.conf flattened as corosync's parser does (`nodelist.node.0.ring0_addr`, …). */
function configEntries(tree: ConfigTree): CmapEntry[] {
  const out: CmapEntry[] = [];
  const walk = (section: SectionNode, path: string) => {
    const counts = new Map<string, number>();
    for (const child of section.children) {
      if (child.kind === 'pair') out.push(configEntry(`${path}.${child.key}`, child.value));
      else if (child.kind === 'section') {
        // Repeated sections are numbered: nodes in file order, interfaces by their linknumber (coroparse.c).
        const index = counts.get(child.name) ?? 0;
        counts.set(child.name, index + 1);
        const repeated = child.name === 'node' || child.name === 'interface';
        const linknumber = child.children.find((c) => c.kind === 'pair' && c.key === 'linknumber');
        const number = child.name === 'interface' && linknumber?.kind === 'pair' ? linknumber.value : String(index);
        walk(child, repeated ? `${path}.${child.name}.${number}` : `${path}.${child.name}`);
      }
    }
  };
  for (const child of tree.children) {
    if (child.kind === 'section' && CONFIG_SECTIONS.has(child.name)) walk(child, child.name);
  }
  // A key written twice: the last one counts (cmap set), as in the typed model.
  return [...new Map(out.map((e) => [e.key, e])).values()];
}

/** corosync stores the numeric keys of corosync.conf as integers (config_version as u64), the rest as strings. */
function configEntry(key: string, value: string): CmapEntry {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) return str(key, value);
  return key === 'totem.config_version' ? u64(key, Number(value)) : u32(key, Number(value));
}

function votequorumEntries(engine: NodeEngine): CmapEntry[] {
  const q = engine.stackSnapshot().quorum;
  const configured = engine.checked.effective.quorum;
  const p = 'runtime.votequorum.';
  const nodeIds = q.members.map((m) => m.nodeId);
  return [
    u32(`${p}this_node_id`, q.nodeId),
    u32(`${p}expected_votes`, q.expectedVotes),
    u32(`${p}highest_expected`, q.highestExpected),
    u32(`${p}total_votes`, q.totalVotes),
    u32(`${p}quorum`, q.quorum),
    u8(`${p}quorate`, q.quorate),
    u8(`${p}two_node`, q.flags.includes('2Node')),
    u8(`${p}wait_for_all`, configured.waitForAll),
    u8(`${p}wait_for_all_status`, q.flags.includes('WaitForAll')),
    u8(`${p}last_man_standing`, configured.lastManStanding),
    u8(`${p}auto_tie_breaker`, configured.autoTieBreaker),
    ...(nodeIds.length === 0
      ? []
      : [u32(`${p}lowest_node_id`, Math.min(...nodeIds)), u32(`${p}highest_node_id`, Math.max(...nodeIds))]),
  ];
}

/** runtime.members.N.ip is corosync's `r(0) ip(198.18.10.1) r(1) ip(198.18.20.1) ` (each entry ends in a space). */
function memberEntries(engine: NodeEngine, members: CmapMembers): CmapEntry[] {
  const nodes = new Map(engine.checked.config.nodes.map((n) => [n.nodeid, n]));
  return members.entries().flatMap(([node, record]) => {
    const p = `runtime.members.${node}.`;
    const ip = (nodes.get(node)?.addresses ?? []).map((a) => `r(${a.link}) ip(${a.address}) `).join('');
    return [
      str(`${p}ip`, ip),
      u32(`${p}join_count`, record.joinCount),
      str(`${p}status`, record.status),
      u64(`${p}config_version`, record.configVersion),
    ];
  });
}

/** Totem: the ring and its state (corolink's own keys), and its counters as corosync 3's stats.srp.*. */
function totemEntries(engine: NodeEngine): CmapEntry[] {
  const t = engine.stackSnapshot().totem;
  const srp = 'stats.srp.';
  const p = 'runtime.totem.';
  return [
    str(`${p}ring_id`, t.ringId === null ? '0.0' : formatRingId(t.ringId)),
    str(`${p}state`, t.state),
    str(`${p}members`, t.members.join(' ')),
    u64(`${srp}mcast_retx`, t.retransmitted),
    u32(`${srp}mtt_rx_token`, t.tokenRotationMs),
    u64(`${srp}rx_msg_dropped`, t.badMessages),
    u64(`${srp}operational_entered`, t.configurations),
    u64(`${srp}token_retx`, t.tokenRetransmits),
    u64(`${srp}burst_holds`, t.burstHolds),
    u64(`${srp}retransmit_requested`, t.retransmitRequested),
    u64(`${srp}delivered`, t.delivered),
    u64(`${srp}pending`, t.pending),
    u64(`${srp}retained`, t.retained),
    u64(`${srp}my_aru`, t.myAru),
    u64(`${srp}highest_seq_received`, t.highestSeqReceived),
    u64(`${srp}highest_ring_seq`, t.highestRingSeq),
    u64(`${srp}config_mismatches`, t.configMismatches),
  ];
}

/** The effective timings (corosync: runtime.config.totem.*, the values after token_coefficient and derivation). */
function timingEntries(engine: NodeEngine): CmapEntry[] {
  const { totem, links } = engine.checked.effective;
  const p = 'runtime.config.totem.';
  return [
    u32(`${p}token`, totem.tokenMs),
    u32(`${p}token_retransmit`, totem.tokenRetransmitMs),
    u32(`${p}token_retransmits_before_loss_const`, totem.tokenRetransmitsBeforeLossConst),
    u32(`${p}token_warning`, totem.tokenWarningPct),
    u32(`${p}hold`, totem.holdMs),
    u32(`${p}join`, totem.joinMs),
    u32(`${p}send_join`, totem.sendJoinMs),
    u32(`${p}consensus`, totem.consensusMs),
    u32(`${p}merge`, totem.mergeMs),
    u32(`${p}downcheck`, totem.downCheckMs),
    u32(`${p}fail_recv_const`, totem.failToRecvConst),
    u32(`${p}seqno_unchanged_const`, totem.seqnoUnchangedConst),
    u32(`${p}max_network_delay`, totem.maxNetworkDelayMs),
    u32(`${p}max_messages`, totem.maxMessages),
    u32(`${p}window_size`, totem.windowSize),
    u32(`${p}miss_count_const`, totem.missCountConst),
    ...links.flatMap((l) => [
      u32(`${p}interface.${l.link}.knet_ping_interval`, l.pingIntervalMs),
      u32(`${p}interface.${l.link}.knet_ping_timeout`, l.pingTimeoutMs),
    ]),
  ];
}

/** corosync: runtime.services.<name>.service_id and the messages it sent and received. */
function serviceEntries(engine: NodeEngine): CmapEntry[] {
  return engine.serviceStats().flatMap(({ id, name, tx, rx }) => {
    const p = `runtime.services.${name.toLowerCase()}.`;
    return [{ key: `${p}service_id`, type: 'u16' as CmapType, value: id }, u64(`${p}tx`, tx), u64(`${p}rx`, rx)];
  });
}

/** stats.knet.nodeN.linkM.*: the transport's per peer × link counters (latencies in µs, as knet keeps them). */
function knetEntries(engine: NodeEngine): CmapEntry[] {
  return engine.transportSnapshot().peerLinks.flatMap((s) => {
    const p = `stats.knet.node${s.nodeId}.link${s.link}.`;
    const c = s.counters;
    const micros = (ms: number | undefined) => Math.round((ms ?? 0) * 1000);
    return [
      u8(`${p}enabled`, s.enabled),
      u8(`${p}connected`, s.connected),
      u32(`${p}mtu`, s.mtu),
      u32(`${p}up_count`, c.upCount),
      u32(`${p}down_count`, c.downCount),
      u32(`${p}latency_ave`, micros(s.latency?.avgMs)),
      u32(`${p}latency_min`, micros(s.latency?.minMs)),
      u32(`${p}latency_max`, micros(s.latency?.maxMs)),
      u32(`${p}latency_samples`, s.latency?.samples ?? 0),
      u64(`${p}tx_total_packets`, c.txPackets),
      u64(`${p}rx_total_packets`, c.rxPackets),
      u64(`${p}tx_total_bytes`, c.txBytes),
      u64(`${p}rx_total_bytes`, c.rxBytes),
      u64(`${p}tx_ping_packets`, c.pingsSent),
      u64(`${p}rx_pong_packets`, c.pongsReceived),
      u64(`${p}rx_pong_discarded`, c.pongsDiscarded),
      u64(`${p}tx_total_errors`, c.sendErrors),
    ];
  });
}

/** How the kernel schedules the daemon's main thread now (`system { sched_rr priority }`, docs/daemon.md). */
function schedulerEntries(): CmapEntry[] {
  const { policy, rtPriority, nice } = readScheduling();
  const p = 'runtime.scheduler.';
  return [str(`${p}policy`, policy), u32(`${p}rt_priority`, rtPriority), i32(`${p}nice`, nice)];
}
