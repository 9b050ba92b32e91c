/**
 * The stamp of a cluster config that Totem compares before it admits a node into the membership
 * (docs/reconfiguration.md § A node with an older config): its config_version and a digest of its nodelist, so
 * that a node that comes back weeks later with an older file, or one whose nodelist was edited by hand without a
 * new config_version, is kept out until it has taken the cluster's config.
 */
import { createHash } from 'node:crypto';
import type { CheckedConfig } from './check.ts';

export interface ConfigStamp {
  version: number;
  /** u32: the first four bytes of the SHA-256 of the nodelist's canonical text. */
  digest: number;
}

/** The canonical text of a nodelist: what identifies a node and what it counts for, independent of layout. */
function nodelistText(checked: CheckedConfig): string {
  return [...checked.effective.nodes]
    .sort((a, b) => (a.nodeId ?? 0) - (b.nodeId ?? 0))
    .map((n) => {
      const addresses = Object.entries(n.addresses)
        .map(([link, address]) => `${link}=${address}`)
        .sort();
      return `${n.nodeId}|${n.name ?? ''}|${n.votes}|${addresses.join(',')}`;
    })
    .join('\n');
}

export function configStampOf(checked: CheckedConfig): ConfigStamp {
  const digest = createHash('sha256').update(nodelistText(checked)).digest().readUInt32BE(0);
  return { version: checked.effective.totem.configVersion, digest };
}
