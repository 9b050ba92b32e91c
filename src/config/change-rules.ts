/**
 * The effect of changing each corosync.conf key on a running cluster (live, at the next restart, refused) and why,
 * as docs/config.md "Changing the configuration of a running cluster" lists them. Used by change-plan.ts.
 */
import type { EffectiveConfig } from './defaults.ts';

/** `live`: applied while the cluster runs; `restart`: at the next daemon start; `refused`: not on a running cluster. */
export type ChangeEffect = 'live' | 'restart' | 'refused';

export interface Rule {
  effect: ChangeEffect;
  reason: string;
}

export const live = (reason: string): Rule => ({ effect: 'live', reason });
export const restart = (reason: string): Rule => ({ effect: 'restart', reason });
export const refused = (reason: string): Rule => ({ effect: 'refused', reason });

const TOTEM_TIMING = live(
  'Totem takes new timers and limits as it next arms each timer, without a membership change (corosync: corosync-cfgtool -R)',
);
const TOTEM_AT_START = restart('corolink reads it only when the daemon starts');
const LINK_TUNING = live('the link is re-tuned in place (knet changes priority and ping timers at run time)');
const QUORUM_LIVE = live(
  "votequorum recalculates expected votes and quorum at once and tells the other nodes (votequorum's config reload)",
);
const QUORUM_AT_START = restart(
  'votequorum reads it only at start (only votes, quorum_votes, expected_votes and two_node change at run time); restart every node soon: until all run the new value they may judge quorum differently',
);
const QDEVICE_VOTEQUORUM = live(
  'votequorum takes the device votes and poll timeouts at once on every node (its config reload); a new timeout or sync_timeout also restarts the qdevice client',
);
const QDEVICE_CLIENT = live(
  'the daemon restarts its qdevice client with the new setting (as pvecm restarts corosync-qdevice); the device vote is back after the client reconnects',
);
const CRYPTO = refused(
  'every node must protect packets the same way: nodes on the old and on the new setting could not talk while the change rolls out',
);
const LINK_SETUP = restart(
  "a link's port and transport are read when the link is set up (corosync cannot change them at run time); until every node restarted, this link is down between old and new nodes — or remove the link and add it back in two changes",
);
const AT_START = restart('read only when the daemon starts');

/** Rules by section-relative key (`totem.token`, `totem.interface.mcastport`, `nodelist.node.ringN_addr`). */
const RULES: Readonly<Record<string, Rule>> = {
  'totem.version': refused('corosync 3 reads only version 2'),
  'totem.config_version': live('the version of the config: it must grow with every change'),
  'totem.cluster_name': refused(
    "the cluster name is the cluster's identity (knet cluster id, qdevice): nodes with different names do not talk, and corosync cannot change it at run time",
  ),
  'totem.transport': refused(
    'the transport is set up at start and nodes on different transports cannot talk (corosync cannot change it at run time)',
  ),
  'totem.link_mode': restart(
    'the link policy is set when the transport starts (corosync: when a host is first added); nodes on different policies still talk, each picks its own links, so restarting node by node is safe',
  ),
  'totem.ip_version': refused(
    'the address family is chosen when the links are set up (hostnames resolved, sockets bound); corosync cannot change it at run time',
  ),
  'totem.netmtu': refused(
    'every node must hand the transport packets of the same largest size (message packing depends on it); corosync cannot change it at run time',
  ),
  'totem.secauth': CRYPTO,
  'totem.crypto_cipher': CRYPTO,
  'totem.crypto_hash': CRYPTO,
  'totem.key': CRYPTO,
  'totem.keyfile': restart('the key file is read at start (the key itself must be the same on every node)'),
  'totem.ip_dscp': restart('set on the sockets when they are opened (corosync cannot change it at run time)'),
  'quorum.provider': refused('the quorum service is chosen at start; corosync cannot change it at run time'),
  'quorum.expected_votes': QUORUM_LIVE,
  'quorum.votes': QUORUM_LIVE,
  'quorum.two_node': QUORUM_LIVE,
  'totem.interface.mcastport': LINK_SETUP,
  'totem.interface.knet_transport': LINK_SETUP,
  'nodelist.node.name': refused(
    'a node finds its own entry by its name and clients know nodes by name: remove the node and add it back under the new name',
  ),
  'nodelist.node.quorum_votes': QUORUM_LIVE,
  'quorum.device.votes': QDEVICE_VOTEQUORUM,
  'quorum.device.timeout': QDEVICE_VOTEQUORUM,
  'quorum.device.sync_timeout': QDEVICE_VOTEQUORUM,
  'nodelist.node.ringN_addr': restart(
    "a node's address on a link is bound when the link is set up: restart the node (its other links carry the traffic meanwhile), or remove the link and add it back in two changes",
  ),
  'corolink.http_address': restart('the HTTP endpoint is bound when the daemon starts'),
  'corolink.http_port': restart('the HTTP endpoint is bound when the daemon starts'),
  'corolink.failback_hold': restart('the fail-back hold-down is set when the transport starts'),
  'corolink.burst_hold': restart('the burst hold is set when Totem starts'),
  'corolink.ping_profile': restart('the ping profile sets every link up when the daemon starts'),
  'corolink.allow_crypto_none': live('it only changes a warning'),
  'corolink.ha': restart('the HA managers and the watchdog supervisor start with the daemon: restart every node'),
  'corolink.ha_shutdown_policy': live('read when the daemon stops'),
  'corolink.ha_fence_timeout': restart(
    "the fence timeout is part of every node's recovery wait: restart every node so that they agree",
  ),
  ...Object.fromEntries(
    [
      'token',
      'token_coefficient',
      'token_retransmit',
      'token_retransmits_before_loss_const',
      'hold',
      'join',
      'consensus',
      'merge',
      'fail_recv_const',
      'seqno_unchanged_const',
      'window_size',
      'max_messages',
      'token_warning',
    ].map((key) => [`totem.${key}`, TOTEM_TIMING]),
  ),
  ...Object.fromEntries(
    [
      'send_join',
      'downcheck',
      'heartbeat_failures_allowed',
      'max_network_delay',
      'miss_count_const',
      'block_unlisted_ips',
      'cancel_token_hold_on_retransmit',
    ].map((key) => [`totem.${key}`, TOTEM_AT_START]),
  ),
  ...Object.fromEntries(
    ['knet_link_priority', 'knet_ping_interval', 'knet_ping_timeout', 'knet_ping_precision', 'knet_pong_count'].map(
      (key) => [`totem.interface.${key}`, LINK_TUNING],
    ),
  ),
};

/** The rule of a section-relative key; what is not listed is read only at start (a safe default). */
export function ruleFor(ruleKey: string): Rule {
  const rule = RULES[ruleKey];
  if (rule) return rule;
  if (ruleKey.startsWith('logging.')) return restart('corolink sets up logging when the daemon starts');
  if (ruleKey.startsWith('quorum.device.')) return QDEVICE_CLIENT;
  if (ruleKey.startsWith('quorum.')) return QUORUM_AT_START;
  return AT_START;
}

/**
 * Keys judged by their effective value: writing a default out (or secauth → the same explicit cipher and hash)
 * changes nothing, and link_mode takes effect only with two or more links.
 */
export const EFFECTIVE_VALUES: Readonly<Record<string, (e: EffectiveConfig) => string>> = {
  'totem.cluster_name': (e) => e.totem.clusterName ?? '',
  'totem.transport': (e) => e.totem.transport,
  'totem.link_mode': (e) => e.totem.linkMode,
  'totem.ip_version': (e) => e.totem.ipVersion,
  'totem.netmtu': (e) => String(e.totem.netmtu),
  'totem.crypto_cipher': (e) => e.crypto.cipher,
  'totem.crypto_hash': (e) => e.crypto.hash,
  'totem.secauth': (e) => `${e.crypto.cipher}/${e.crypto.hash}`,
};

/** `totem.interface.linknumber=1.knet_link_priority` → `totem.interface.knet_link_priority`. */
export function ruleKeyOf(key: string): string {
  return key.replace(/\.(?:linknumber|nodeid|subsys)=[^.]*/, '').replace(/ring\d_addr$/, 'ringN_addr');
}
