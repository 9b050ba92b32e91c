/**
 * Writes a new corosync.conf from a description of the cluster, laid out like the file `pvecm create` writes
 * (logging, nodelist, quorum, totem with one interface per link). Used by `corolink create`, the local demo
 * cluster and the lab.
 */

/** One node of a new cluster. */
export interface GeneratedNode {
  nodeid: number;
  name: string;
  votes?: number;
  /** Address per link number. */
  addresses: Record<number, string>;
}

/** One link of a new cluster. */
export interface GeneratedLink {
  link: number;
  /** knet_link_priority (omitted: knet's default). */
  priority?: number;
  /** mcastport (omitted: 5405 + link). */
  port?: number;
}

export interface ClusterSpec {
  clusterName: string;
  linkMode: 'passive' | 'active' | 'rr';
  links: GeneratedLink[];
  nodes: GeneratedNode[];
  /** Extra `totem {}` keys (e.g. token), written as given. */
  totemExtra?: Record<string, string | number>;
  /** Extra `quorum {}` keys (e.g. two_node). */
  quorumExtra?: Record<string, string | number>;
  /** `corolink {}` keys (corolink's own section, docs/config.md), e.g. `ha: yes`; the section only when given. */
  corolinkExtra?: Record<string, string | number>;
  /** `system {}` keys (e.g. `sched_rr: no`); the section only when given. */
  system?: Record<string, string | number>;
  /** `logging {}` keys; default `to_syslog: yes`. */
  logging?: Record<string, string | number>;
  configVersion?: number;
}

export function clusterConfigText(spec: ClusterSpec): string {
  const links = [...spec.links].sort((a, b) => a.link - b.link);
  const pairs = (indent: string, entries: Record<string, string | number>) =>
    Object.entries(entries).map(([key, value]) => `${indent}${key}: ${value}`);
  const lines = [
    'logging {',
    ...pairs('  ', spec.logging ?? { debug: 'off', to_syslog: 'yes' }),
    '}',
    '',
    'nodelist {',
    ...spec.nodes.flatMap((node) => [
      '  node {',
      `    name: ${node.name}`,
      `    nodeid: ${node.nodeid}`,
      `    quorum_votes: ${node.votes ?? 1}`,
      ...links
        .filter((link) => node.addresses[link.link] !== undefined)
        .map((link) => `    ring${link.link}_addr: ${node.addresses[link.link]}`),
      '  }',
    ]),
    '}',
    '',
    'quorum {',
    '  provider: corosync_votequorum',
    ...pairs('  ', spec.quorumExtra ?? {}),
    '}',
    '',
    'totem {',
    `  cluster_name: ${spec.clusterName}`,
    `  config_version: ${spec.configVersion ?? 1}`,
    '  crypto_cipher: aes256',
    '  crypto_hash: sha256',
    ...links.flatMap((link) => [
      '  interface {',
      ...(link.priority === undefined ? [] : [`    knet_link_priority: ${link.priority}`]),
      `    linknumber: ${link.link}`,
      ...(link.port === undefined ? [] : [`    mcastport: ${link.port}`]),
      '  }',
    ]),
    `  link_mode: ${spec.linkMode}`,
    ...pairs('  ', spec.totemExtra ?? {}),
    '  transport: knet',
    '  version: 2',
    '}',
    ...(spec.system ? ['', 'system {', ...pairs('  ', spec.system), '}'] : []),
    ...(spec.corolinkExtra ? ['', 'corolink {', ...pairs('  ', spec.corolinkExtra), '}'] : []),
  ];
  return `${lines.join('\n')}\n`;
}
