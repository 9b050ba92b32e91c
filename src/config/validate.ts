/**
 * Cross-field validation of a config, with corosync's own rules (exec/totemconfig.c, votequorum.c) and
 * corolink's link rules. Every finding points at the line and column of the value (or section) it is about.
 */
import { NICE_MAX, NICE_MIN } from '../base/limits.ts';
import { addressFamily, canonicalAddress, linkNetwork } from './addresses.ts';
import { configuredLinks, deriveEffective, type EffectiveConfig, HOLD_MS_MIN, TIMEOUT_MS_MIN } from './defaults.ts';
import { type Diagnostic, diagnostic, type SourcePosition } from './diagnostics.ts';
import { findLegacyForms } from './legacy.ts';
import type { ClusterConfig, NodeConfig } from './model.ts';
import type { ConfigTree } from './syntax.ts';
import { checkQuorumDevice } from './validate-qdevice.ts';

/** The only quorum provider corosync 3 has. */
export const QUORUM_PROVIDER = 'corosync_votequorum';
/** The only totem version corosync 3 reads. */
export const TOTEM_VERSION = 2;
/** two_node clusters have exactly this many nodes and expected votes. */
export const TWO_NODE_COUNT = 2;

const FILE_START: SourcePosition = { line: 1, column: 1 };

class Validator {
  readonly out: Diagnostic[] = [];

  constructor(
    private readonly config: ClusterConfig,
    private readonly effective: EffectiveConfig,
  ) {}

  private at(path: string, fallback?: string): SourcePosition {
    return this.config.sources[path] ?? (fallback ? this.config.sources[fallback] : undefined) ?? FILE_START;
  }

  private error(code: string, position: SourcePosition, message: string): void {
    this.out.push(diagnostic('error', code, this.config.fileName, position, message));
  }

  private warning(code: string, position: SourcePosition, message: string): void {
    this.out.push(diagnostic('warning', code, this.config.fileName, position, message));
  }

  private label(node: NodeConfig): string {
    if (node.name !== undefined) return `'${node.name}'`;
    if (node.nodeid !== undefined) return `with nodeid ${node.nodeid}`;
    return `#${node.index + 1}`;
  }

  run(): Diagnostic[] {
    this.checkTotem();
    this.checkTimeouts();
    this.checkCrypto();
    this.checkNodes();
    this.checkLinks();
    this.checkQuorum();
    this.checkLogging();
    this.checkSystem();
    return this.out;
  }

  private checkTotem(): void {
    const { totem } = this.config;
    if (!this.config.sections.includes('totem')) {
      this.error('missing-totem', FILE_START, 'no totem section: corosync needs at least totem { version: 2 }');
      return;
    }
    if (totem.version === undefined) {
      this.error('totem-version', this.at('totem'), 'totem has no version: corosync 3 needs version: 2');
    } else if (totem.version !== TOTEM_VERSION) {
      this.error(
        'totem-version',
        this.at('totem.version'),
        `totem version ${totem.version}: corosync 3 can only parse version 2 configurations`,
      );
    }
    if (totem.cluster_name === undefined) {
      this.warning(
        'cluster-name',
        this.at('totem'),
        'totem has no cluster_name; set one so clusters cannot be mixed up',
      );
    }
    if (totem.link_mode !== undefined && totem.link_mode !== 'passive' && configuredLinks(this.config).length === 1) {
      this.warning(
        'link-mode',
        this.at('totem.link_mode'),
        `link_mode ${totem.link_mode} has no effect with a single link (corosync forces passive)`,
      );
    }
  }

  /** totem_volatile_config_validate(): the minimums and the consensus ≥ join rule, in corosync's words. */
  private checkTimeouts(): void {
    const t = this.effective.totem;
    const minimum = (key: string, label: string, value: number, limit = TIMEOUT_MS_MIN) => {
      if (value >= limit) return;
      this.error(
        'timeout-minimum',
        this.at(`totem.${key}`, 'totem'),
        `The ${label} parameter (${value} ms) may not be less than (${limit} ms).`,
      );
    };
    minimum('max_network_delay', 'max_network_delay', t.maxNetworkDelayMs);
    minimum('token', 'token timeout', t.tokenMs);
    if (t.tokenRetransmitMs < TIMEOUT_MS_MIN && this.config.totem.token_retransmit === undefined) {
      this.error(
        'timeout-minimum',
        this.at('totem.token', 'totem'),
        `Not appropriate token or token_retransmits_before_loss_const value set (token_retransmit would be ${t.tokenRetransmitMs} ms)`,
      );
    } else {
      minimum('token_retransmit', 'token retransmit timeout', t.tokenRetransmitMs);
    }
    minimum('hold', 'token hold timeout', t.holdMs, HOLD_MS_MIN);
    minimum('join', 'join timeout', t.joinMs);
    minimum('consensus', 'consensus timeout', t.consensusMs);
    if (t.consensusMs < t.joinMs) {
      this.error(
        'consensus-join',
        this.at('totem.consensus', 'totem'),
        `The consensus timeout parameter (${t.consensusMs} ms) may not be less than join timeout (${t.joinMs} ms).`,
      );
    }
    minimum('merge', 'merge timeout', t.mergeMs);
    minimum('downcheck', 'downcheck timeout', t.downCheckMs);
    if (
      this.config.totem.consensus !== undefined &&
      this.config.nodes.length > TWO_NODE_COUNT &&
      t.consensusMs <= t.tokenMs
    ) {
      this.warning(
        'consensus-token',
        this.at('totem.consensus'),
        `consensus (${t.consensusMs} ms) should exceed the token timeout (${t.tokenMs} ms) with 3 or more nodes`,
      );
    }
  }

  /** totem_get_crypto(), plus corolink's preference for an encrypted cluster. */
  private checkCrypto(): void {
    const { crypto } = this.effective;
    const totem = this.config.totem;
    if (crypto.cipher !== 'none' && crypto.hash === 'none') {
      this.error(
        'crypto',
        this.at('totem.crypto_cipher', 'totem.secauth'),
        'crypto_cipher requires crypto_hash with value other than none',
      );
    }
    if (totem.secauth === true && totem.crypto_cipher === 'none') {
      this.warning('crypto', this.at('totem.crypto_cipher'), 'secauth: on is overridden by crypto_cipher: none');
    }
    if (
      crypto.cipher === 'none' &&
      crypto.hash === 'none' &&
      !crypto.allowNone &&
      this.config.sections.includes('totem')
    ) {
      this.warning(
        'crypto-none',
        this.at('totem.crypto_cipher', 'totem'),
        'cluster traffic is neither encrypted nor authenticated; set secauth: on, or corolink { allow_crypto_none: yes } to accept it',
      );
    }
  }

  private checkNodes(): void {
    const { nodes } = this.config;
    if (nodes.length === 0) {
      this.error(
        'no-nodes',
        this.at('nodelist'),
        'no nodes: knet needs every node listed in nodelist { node { nodeid: … ring0_addr: … } }',
      );
      return;
    }
    const multiLink = configuredLinks(this.config).length > 1;
    const seenIds = new Map<number, NodeConfig>();
    const seenNames = new Map<string, NodeConfig>();
    for (const node of nodes) {
      const path = `nodelist.node.${node.index}`;
      if (node.nodeid === undefined) {
        if (this.config.sources[`${path}.nodeid`] === undefined) {
          this.error(
            'missing-nodeid',
            this.at(path),
            `node ${this.label(node)} has no nodeid; knet requires one per node`,
          );
        }
      } else {
        const first = seenIds.get(node.nodeid);
        if (first) {
          this.error(
            'duplicate-nodeid',
            this.at(`${path}.nodeid`),
            `nodeid ${node.nodeid} is used again (first by node ${this.label(first)} at line ${this.at(`nodelist.node.${first.index}.nodeid`).line})`,
          );
        } else seenIds.set(node.nodeid, node);
      }
      if (node.name === undefined) {
        if (multiLink) {
          this.error(
            'missing-name',
            this.at(path),
            `node ${this.label(node)} has no name: a multi-link configuration needs a name on every node`,
          );
        }
      } else {
        const first = seenNames.get(node.name);
        if (first) {
          this.error(
            'duplicate-name',
            this.at(`${path}.name`),
            `node name '${node.name}' is used again (first at line ${this.at(`nodelist.node.${first.index}.name`).line})`,
          );
        } else seenNames.set(node.name, node);
      }
    }
  }

  private checkLinks(): void {
    const { nodes, interfaces } = this.config;
    const links = configuredLinks(this.config);
    if (nodes.length > 0 && links.length === 0) {
      for (const node of nodes) {
        this.error(
          'missing-address',
          this.at(`nodelist.node.${node.index}`),
          `node ${this.label(node)} has no ring0_addr (no address on any link)`,
        );
      }
    }
    const seenLinks = new Map<number, number>();
    for (const iface of interfaces) {
      const link = iface.linknumber ?? 0;
      const path = `totem.interface.${iface.index}`;
      const position = this.at(`${path}.linknumber`, path);
      const first = seenLinks.get(link);
      if (first !== undefined) {
        this.error(
          'duplicate-link',
          position,
          `a second interface for link ${link} (first at line ${this.at(`totem.interface.${first}`).line})`,
        );
      } else seenLinks.set(link, iface.index);
      if (nodes.length > 0 && !nodes.some((n) => n.addresses.some((a) => a.link === link))) {
        this.error('link-without-addresses', position, `interface for link ${link}, but no node has ring${link}_addr`);
      }
    }
    for (const link of links) this.checkLinkAddresses(link);
    this.checkSharedNetworks(links);
  }

  private addressPosition(node: NodeConfig, link: number): SourcePosition {
    return this.at(`nodelist.node.${node.index}.ring${link}_addr`);
  }

  private whyLinkExists(link: number): string {
    const iface = this.config.interfaces.find((i) => (i.linknumber ?? 0) === link);
    if (iface) return `interface for link ${link} at line ${this.at(`totem.interface.${iface.index}`).line}`;
    const owner = this.config.nodes.find((n) => n.addresses.some((a) => a.link === link))!;
    return `node ${this.label(owner)} has ring${link}_addr at line ${this.addressPosition(owner, link).line}`;
  }

  private checkLinkAddresses(link: number): void {
    const families = new Map<4 | 6, NodeConfig>();
    const seen = new Map<string, NodeConfig>();
    const ipVersion = this.config.totem.ip_version;
    for (const node of this.config.nodes) {
      const address = node.addresses.find((a) => a.link === link)?.address;
      if (address === undefined) {
        const missing = node.addresses.length === 0 ? 'has no address on any link' : `has no ring${link}_addr`;
        this.error(
          'missing-address',
          this.at(`nodelist.node.${node.index}`),
          `node ${this.label(node)} ${missing}, but link ${link} is configured (${this.whyLinkExists(link)})`,
        );
        continue;
      }
      const position = this.addressPosition(node, link);
      const canonical = canonicalAddress(address);
      const previous = seen.get(canonical);
      if (previous) {
        this.error(
          'duplicate-address',
          position,
          `address ${address} on link ${link} is also node ${this.label(previous)}'s`,
        );
      } else seen.set(canonical, node);
      const family = addressFamily(address);
      if (family === null) continue;
      const other = family === 4 ? 6 : 4;
      const otherNode = families.get(other);
      if (otherNode && !families.has(family)) {
        this.error(
          'mixed-family',
          position,
          `link ${link} mixes IPv${other} (node ${this.label(otherNode)}) and IPv${family} (node ${this.label(node)}) addresses`,
        );
      }
      if (!families.has(family)) families.set(family, node);
      if ((ipVersion === 'ipv4' && family === 6) || (ipVersion === 'ipv6' && family === 4)) {
        this.error('ip-version', position, `ip_version is ${ipVersion}, but ${address} is an IPv${family} address`);
      }
    }
  }

  /** Redundant links should not share a network: one switch or NIC failure would take both. */
  private checkSharedNetworks(links: number[]): void {
    const networksByLink = new Map<number, Map<string, NodeConfig>>();
    for (const link of links) {
      const networks = new Map<string, NodeConfig>();
      for (const node of this.config.nodes) {
        const address = node.addresses.find((a) => a.link === link)?.address;
        const network = address === undefined ? null : linkNetwork(address);
        if (network !== null && !networks.has(network)) networks.set(network, node);
      }
      networksByLink.set(link, networks);
    }
    links.forEach((later, i) => {
      for (const earlier of links.slice(0, i)) {
        const shared = [...networksByLink.get(later)!].find(([network]) => networksByLink.get(earlier)!.has(network));
        if (!shared) continue;
        const [network, node] = shared;
        this.warning(
          'shared-network',
          this.addressPosition(node, later),
          `links ${earlier} and ${later} share the network ${network}; redundant links should use separate networks (separate NICs and switches)`,
        );
      }
    });
  }

  private checkQuorum(): void {
    const q = this.config.quorum;
    const eq = this.effective.quorum;
    const nodeCount = this.config.nodes.length;
    if (q.provider === undefined) {
      this.warning(
        'no-quorum',
        this.at('quorum'),
        'no quorum provider: corosync runs without quorum, every partition carries on alone (set quorum { provider: corosync_votequorum })',
      );
    } else if (q.provider !== QUORUM_PROVIDER) {
      this.error(
        'quorum-provider',
        this.at('quorum.provider'),
        `quorum provider '${q.provider}' is unknown; corosync 3 has only ${QUORUM_PROVIDER}`,
      );
    }
    if (eq.twoNode && nodeCount > TWO_NODE_COUNT) {
      this.error(
        'two-node',
        this.at('quorum.two_node'),
        `two_node: 1 needs exactly 2 nodes, the nodelist has ${nodeCount}`,
      );
    }
    if (eq.twoNode && q.expected_votes !== undefined && q.expected_votes !== TWO_NODE_COUNT) {
      this.error(
        'two-node',
        this.at('quorum.expected_votes'),
        `two_node: 1 needs expected_votes: 2, not ${q.expected_votes}`,
      );
    }
    if (q.expected_votes !== undefined && nodeCount > 0 && q.expected_votes < eq.totalVotes) {
      this.warning(
        'expected-votes',
        this.at('quorum.expected_votes'),
        `expected_votes ${q.expected_votes} is less than the ${eq.totalVotes} votes in the nodelist; votequorum raises it to the total`,
      );
    }
    if (eq.lastManStanding && eq.lastManStandingWindowMs < this.effective.totem.consensusMs) {
      this.warning(
        'lms-window',
        this.at('quorum.last_man_standing_window', 'quorum.last_man_standing'),
        `last_man_standing_window (${eq.lastManStandingWindowMs} ms) is shorter than the consensus timeout (${this.effective.totem.consensusMs} ms); membership cannot settle before expected votes shrink`,
      );
    }
    this.checkTieBreakerNode();
    checkQuorumDevice(this.config, this.effective, {
      at: (path, fallback) => this.at(path, fallback),
      error: (code, position, message) => this.error(code, position, message),
    });
  }

  private checkTieBreakerNode(): void {
    const value = this.config.quorum.auto_tie_breaker_node;
    if (value === undefined || value === 'lowest' || value === 'highest') return;
    const ids = new Set(this.config.nodes.map((n) => n.nodeid));
    for (const word of value.split(/\s+/)) {
      if (/^\d+$/.test(word) && ids.has(Number(word))) continue;
      this.error(
        'tie-breaker',
        this.at('quorum.auto_tie_breaker_node'),
        `auto_tie_breaker_node: '${word}' is not lowest, highest or a nodeid of the nodelist`,
      );
    }
  }

  private checkLogging(): void {
    const { logging } = this.config;
    if (logging.to_logfile === true && logging.logfile === undefined) {
      this.error('logfile', this.at('logging.to_logfile'), 'to_logfile: yes needs a logfile: path');
    }
  }

  private checkSystem(): void {
    const { priority } = this.config.system;
    if (priority !== undefined && this.effective.scheduling.nice === null) {
      this.error(
        'system-priority',
        this.at('system.priority'),
        `system.priority "${priority}" is invalid: max, min or a nice value from ${NICE_MIN} to ${NICE_MAX}`,
      );
    }
  }
}

/** Link-timer sanity: explicit timers that defeat failover or make a link flap. */
function checkLinkTimers(config: ClusterConfig, effective: EffectiveConfig): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const iface of config.interfaces) {
    const link = effective.links.find((l) => l.link === (iface.linknumber ?? 0));
    if (!link) continue;
    const base = `totem.interface.${iface.index}`;
    const position = config.sources[`${base}.knet_ping_timeout`] ?? config.sources[`${base}.knet_ping_interval`];
    if (!position) continue;
    if (link.pingTimeoutMs <= link.pingIntervalMs) {
      out.push(
        diagnostic(
          'warning',
          'link-timers',
          config.fileName,
          position,
          `link ${link.link}: knet_ping_timeout (${link.pingTimeoutMs} ms) is not longer than knet_ping_interval (${link.pingIntervalMs} ms); the link will flap`,
        ),
      );
    }
    if (link.pingTimeoutMs >= effective.totem.tokenMs) {
      out.push(
        diagnostic(
          'warning',
          'link-timers',
          config.fileName,
          position,
          `link ${link.link}: knet_ping_timeout (${link.pingTimeoutMs} ms) is not shorter than the token timeout (${effective.totem.tokenMs} ms); Totem may lose the token before the link fails over`,
        ),
      );
    }
  }
  return out;
}

/** All validation findings for a parsed file and its model (legacy forms included). */
export function validateConfig(
  tree: ConfigTree,
  config: ClusterConfig,
  effective = deriveEffective(config),
): Diagnostic[] {
  return [...findLegacyForms(tree), ...new Validator(config, effective).run(), ...checkLinkTimers(config, effective)];
}
