/** Fixture results of the admin socket: a 3-node cluster with n3's link0 down, and an inquorate lone node. */
import type { LinksV1, StatusV1 } from '../../src/ipc/schema.ts';

/** Node 1's view: all three nodes members, quorate; link0 to n3 has no pong. */
export const quorateStatus: StatusV1 = {
  version: 1,
  cluster: { name: 'demo', config_version: 3, transport: 'knet', secure_auth: true, link_mode: 'passive' },
  local_nodeid: 1,
  ring_id: '1.2c',
  totem_state: 'operational',
  quorum: { quorate: true, expected_votes: 3, highest_expected: 3, total_votes: 3, quorum: 2, flags: ['Quorate'] },
  members: [
    {
      nodeid: 3,
      name: 'n3',
      votes: 1,
      local: false,
      links: [
        { link: 1, state: 'UP', address: '127.0.20.3', reason: null, latency_ms: 0.12 },
        { link: 0, state: 'DOWN', address: '127.0.10.3', reason: 'no pong for 262 ms', latency_ms: null },
      ],
    },
    {
      nodeid: 1,
      name: 'n1',
      votes: 1,
      local: true,
      links: [
        { link: 0, state: 'UP', address: '127.0.10.1', reason: null, latency_ms: null },
        { link: 1, state: 'UP', address: '127.0.20.1', reason: null, latency_ms: null },
      ],
    },
    {
      nodeid: 2,
      name: 'n2',
      votes: 1,
      local: false,
      links: [
        { link: 0, state: 'UP', address: '127.0.10.2', reason: null, latency_ms: 0.08 },
        { link: 1, state: 'UP', address: '127.0.20.2', reason: null, latency_ms: 0.1 },
      ],
    },
  ],
  nodes: [
    { nodeid: 1, name: 'n1', votes: 1, member: true },
    { nodeid: 2, name: 'n2', votes: 1, member: true },
    { nodeid: 3, name: 'n3', votes: 1, member: true },
  ],
};

/** Node 0x1c (28) alone in a 3-node cluster: not quorate, no flags. */
export const inquorateStatus: StatusV1 = {
  version: 1,
  cluster: { name: 'lab-2', config_version: 12, transport: 'knet', secure_auth: false, link_mode: 'active' },
  local_nodeid: 28,
  ring_id: '1c.1f3',
  totem_state: 'operational',
  quorum: { quorate: false, expected_votes: 3, highest_expected: 3, total_votes: 1, quorum: 2, flags: [] },
  members: [
    {
      nodeid: 28,
      name: 'lab-n28',
      votes: 1,
      local: true,
      links: [{ link: 0, state: 'DOWN', address: '127.0.10.28', reason: 'disabled', latency_ms: null }],
    },
  ],
  nodes: [
    { nodeid: 2, name: 'lab-n2', votes: 1, member: false },
    { nodeid: 28, name: 'lab-n28', votes: 1, member: true },
    { nodeid: 255, name: 'lab-n255', votes: 1, member: false },
  ],
};

/** The links of node 1 in `quorateStatus` (n3's link0 down: `links` exits 1). */
export const quorateLinks: LinksV1 = {
  version: 1,
  local_nodeid: 1,
  links: [
    { link: 1, enabled: true, address: '127.0.20.1', priority: 0, mtu: 1397, carrier: true },
    { link: 0, enabled: true, address: '127.0.10.1', priority: 1 },
  ],
  peers: [3, 2].flatMap((nodeid) =>
    [0, 1].map((link) => {
      const down = nodeid === 3 && link === 0;
      return {
        nodeid,
        link,
        address: `127.0.${10 * (link + 1)}.${nodeid}`,
        enabled: true,
        connected: !down,
        // Passive mode: link0 (priority 1) carries the traffic where it is up, else link1.
        active: link === 0 ? !down : nodeid === 3,
        state: down ? ('DOWN' as const) : ('UP' as const),
        reason: down ? 'no pong for 262 ms' : null,
        priority: link === 0 ? 1 : 0,
        latency_ms: down ? { min: null, avg: null, max: null } : { min: 0.05, avg: 0.11, max: 0.2 },
        mtu: 1397,
        down_count: down ? 2 : 0,
        tx_packets: 100,
        rx_packets: 99,
        tx_bytes: 12_000,
        rx_bytes: 11_880,
        errors: 0,
        last_change_ms: 5000,
      };
    }),
  ),
};

/** `quorateLinks` with every link up. */
export const healthyLinks: LinksV1 = {
  ...quorateLinks,
  peers: quorateLinks.peers.map((peer) => ({
    ...peer,
    connected: true,
    active: peer.link === 0,
    state: 'UP',
    reason: null,
  })),
};
