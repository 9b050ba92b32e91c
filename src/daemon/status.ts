/**
 * The versioned JSON results of the admin socket (docs/contracts.md, docs/status.schema.json), built from the
 * engine's snapshots: `status` (StatusV1), `links` (LinksV1) and `quorum` (QuorumV1).
 */

import type { NodeConfig } from '../config/index.ts';
import type { LinksV1, Member, QuorumState, QuorumV1, StatusV1 } from '../ipc/schema.ts';
import { qdeviceColumn } from '../quorum/index.ts';
import type { LinkStatus } from '../transport/types.ts';
import type { NodeEngine } from './engine.ts';

/** Latency is shown with microsecond resolution. */
export const round3 = (value: number): number => Math.round(value * 1000) / 1000;

/** The name a node is shown with: its `name`, else its link0 (lowest link) address, as pvecm does. */
export function nodeDisplayName(node: NodeConfig | undefined, nodeId: number): string {
  return node?.name ?? node?.addresses[0]?.address ?? `node${nodeId}`;
}

export function quorumState(engine: NodeEngine): QuorumState {
  const q = engine.stackSnapshot().quorum;
  return {
    quorate: q.quorate,
    expected_votes: q.expectedVotes,
    highest_expected: q.highestExpected,
    total_votes: q.totalVotes,
    quorum: q.quorum,
    flags: [...q.flags],
    ...(q.device === null
      ? {}
      : { qdevice: { name: q.device.name, votes: q.device.votes, cast_vote: q.device.castVote } }),
  };
}

export function buildStatus(engine: NodeEngine): StatusV1 {
  const { config, effective } = engine.checked;
  const { totem, quorum } = engine.stackSnapshot();
  const transport = engine.transportSnapshot();
  const nodeById = new Map(config.nodes.map((n) => [n.nodeid!, n]));
  const votesById = new Map(quorum.members.map((m) => [m.nodeId, m.votes]));
  const qdeviceById = new Map(quorum.members.map((m) => [m.nodeId, qdeviceColumn(m.qdevice)]));
  const members = new Set(totem.members);
  const memberRows: Member[] = totem.members.map((nodeId) => {
    const node = nodeById.get(nodeId);
    const local = nodeId === engine.localNodeId;
    return {
      nodeid: nodeId,
      name: nodeDisplayName(node, nodeId),
      votes: votesById.get(nodeId) ?? node?.quorum_votes ?? 1,
      local,
      links: local ? localLinks(engine) : peerLinks(node, transport.peerLinks, nodeId),
      // corosync-quorumtool shows the column once some member has a device: NR for the others.
      ...(quorum.device === null ? {} : { qdevice: qdeviceById.get(nodeId) ?? 'NR' }),
    };
  });
  return {
    version: 1,
    cluster: {
      name: effective.totem.clusterName ?? '',
      config_version: effective.totem.configVersion,
      transport: effective.totem.transport,
      secure_auth: effective.crypto.cipher !== 'none',
      link_mode: effective.totem.linkMode,
    },
    local_nodeid: engine.localNodeId,
    ring_id: engine.ringIdText ?? '0.0',
    totem_state: totem.state,
    quorum: quorumState(engine),
    members: memberRows,
    nodes: config.nodes.map((node) => ({
      nodeid: node.nodeid!,
      name: nodeDisplayName(node, node.nodeid!),
      votes: node.quorum_votes ?? 1,
      member: members.has(node.nodeid!),
    })),
  };
}

function localLinks(engine: NodeEngine): Member['links'] {
  return engine.transportSnapshot().links.map((l) => ({
    link: l.link,
    state: l.enabled ? 'UP' : 'DOWN',
    address: l.address,
    reason: l.enabled ? null : 'disabled',
    latency_ms: null,
  }));
}

function peerLinks(node: NodeConfig | undefined, statuses: LinkStatus[], nodeId: number): Member['links'] {
  return statuses
    .filter((s) => s.nodeId === nodeId)
    .map((s) => ({
      link: s.link,
      state: s.connected ? 'UP' : 'DOWN',
      address: node?.addresses.find((a) => a.link === s.link)?.address ?? null,
      reason: s.connected ? null : (s.reason ?? 'down'),
      latency_ms: s.latency ? round3(s.latency.avgMs) : null,
    }));
}

export function buildLinks(engine: NodeEngine, now: number): LinksV1 {
  const transport = engine.transportSnapshot();
  const priorities = new Map(engine.checked.effective.links.map((l) => [l.link, l.priority]));
  const nodeById = new Map(engine.checked.config.nodes.map((n) => [n.nodeid!, n]));
  return {
    version: 1,
    local_nodeid: engine.localNodeId,
    links: transport.links.map((l) => ({
      link: l.link,
      enabled: l.enabled,
      address: l.address,
      priority: priorities.get(l.link) ?? 1,
    })),
    auth_failures: Object.entries(transport.crypto.authFailedBySource).map(([source, packets]) => ({
      source,
      packets,
    })),
    peers: transport.peerLinks.map((s) => ({
      nodeid: s.nodeId,
      link: s.link,
      address: nodeById.get(s.nodeId)?.addresses.find((a) => a.link === s.link)?.address ?? null,
      enabled: s.enabled,
      connected: s.connected,
      active: s.inUse,
      state: s.connected ? 'UP' : 'DOWN',
      reason: s.reason,
      priority: s.priority,
      latency_ms: {
        min: s.latency ? round3(s.latency.minMs) : null,
        avg: s.latency ? round3(s.latency.avgMs) : null,
        max: s.latency ? round3(s.latency.maxMs) : null,
      },
      mtu: s.mtu,
      down_count: s.counters.downCount,
      tx_packets: s.counters.txPackets,
      rx_packets: s.counters.rxPackets,
      tx_bytes: s.counters.txBytes,
      rx_bytes: s.counters.rxBytes,
      errors: s.counters.sendErrors,
      last_change_ms: Math.max(0, round3(now - s.lastChangeMs)),
    })),
  };
}

export function buildQuorum(engine: NodeEngine): QuorumV1 {
  return { ...quorumState(engine), members: buildStatus(engine).members };
}
