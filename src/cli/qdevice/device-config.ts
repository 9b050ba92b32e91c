/**
 * The corosync.conf side of `corolink qdevice setup|remove`, as `pvecm qdevice setup|remove` writes it: a
 * `quorum { device { votes: 1  model: net  net { host  algorithm  tls: on  tie_breaker } } }` section. votequorum
 * adds the device's votes to the expected votes itself; two_node and a device do not go together (votequorum
 * refuses the pair), so setup drops two_node (and remove leaves it out: with two nodes and no device, both are
 * needed for quorum again unless you set it back).
 */
import { ConfigEditError, type ConfigTree, keyValue, removeKey, removeSection, setKey } from '../../config/index.ts';

/** `quorum.device.net.algorithm` values setup writes (pvecm: ffsplit for an even node count, lms for an odd one). */
export type DeviceAlgorithm = 'ffsplit' | 'lms';

/** What `qdevice setup` puts in the config. */
export interface DeviceSettings {
  /** The qnetd host (`quorum.device.net.host`). */
  host: string;
  algorithm: DeviceAlgorithm;
  /** `lowest`, `highest` or a node id. */
  tieBreaker: string;
}

const DEVICE = ['quorum', 'device'] as const;
const NET = [...DEVICE, 'net'] as const;

/** The algorithm pvecm picks: ffsplit for an even node count; an odd count needs lms, asked for explicitly. */
export function defaultAlgorithm(nodeCount: number): DeviceAlgorithm | undefined {
  return nodeCount % 2 === 0 ? 'ffsplit' : undefined;
}

/** The votes the device casts: 1 with ffsplit (set, as corosync requires), nodes − 1 with lms (corosync's default). */
export function deviceVotes(algorithm: DeviceAlgorithm, nodeCount: number): number {
  return algorithm === 'ffsplit' ? 1 : nodeCount - 1;
}

/** True when the tree has a `quorum { device { } }` section. */
export function hasQuorumDevice(tree: ConfigTree): boolean {
  return keyValue(tree, DEVICE, 'model') !== undefined || keyValue(tree, NET, 'host') !== undefined;
}

/** Adds the device section and drops two_node; throws ConfigEditError when a device is configured already. */
export function addQuorumDevice(tree: ConfigTree, settings: DeviceSettings): void {
  if (hasQuorumDevice(tree)) {
    throw new ConfigEditError('a quorum device is configured already: `corolink qdevice remove` it first');
  }
  if (settings.algorithm === 'ffsplit') setKey(tree, DEVICE, 'votes', '1');
  setKey(tree, DEVICE, 'model', 'net');
  setKey(tree, NET, 'host', settings.host);
  setKey(tree, NET, 'algorithm', settings.algorithm);
  setKey(tree, NET, 'tls', 'on');
  setKey(tree, NET, 'tie_breaker', settings.tieBreaker);
  removeKey(tree, ['quorum'], 'two_node');
}

/** Removes the device section; throws ConfigEditError when there is none. */
export function removeQuorumDevice(tree: ConfigTree): void {
  if (!removeSection(tree, DEVICE)) throw new ConfigEditError('no quorum device is configured');
}
