/**
 * Which node of the nodelist this daemon is, found as corosync finds it: an explicit --nodeid or --name first;
 * else the node whose `name` is this host's name (short or full); else the node one of whose ringN_addr
 * addresses is configured on a local interface.
 */
import { hostname, networkInterfaces } from 'node:os';
import type { NodeConfig } from '../config/model.ts';

export interface IdentityHints {
  nodeId?: number;
  name?: string;
  /** For tests: the host name and local addresses to match against (default: this machine's). */
  hostName?: string;
  localAddresses?: string[];
}

export type IdentityResult = { ok: true; node: NodeConfig; how: string } | { ok: false; message: string };

export function findLocalNode(nodes: readonly NodeConfig[], hints: IdentityHints = {}): IdentityResult {
  if (hints.nodeId !== undefined) {
    const node = nodes.find((n) => n.nodeid === hints.nodeId);
    return node
      ? { ok: true, node, how: `--nodeid ${hints.nodeId}` }
      : { ok: false, message: `nodeid ${hints.nodeId} is not in the nodelist` };
  }
  if (hints.name !== undefined) {
    const node = nodes.find((n) => n.name === hints.name);
    return node
      ? { ok: true, node, how: `--name ${hints.name}` }
      : { ok: false, message: `no node named "${hints.name}" in the nodelist` };
  }
  const fullName = hints.hostName ?? hostname();
  const shortName = fullName.split('.')[0];
  const byName = nodes.find((n) => n.name !== undefined && (n.name === fullName || n.name === shortName));
  if (byName) return { ok: true, node: byName, how: `host name ${fullName}` };
  const local = new Set(hints.localAddresses ?? localInterfaceAddresses());
  const byAddress = nodes.find((n) => n.addresses.some((a) => local.has(a.address)));
  if (byAddress) return { ok: true, node: byAddress, how: 'a local interface address' };
  return {
    ok: false,
    message: `cannot tell which node this is: no node is named "${shortName}" and no ringN_addr is a local address (use --nodeid or --name)`,
  };
}

function localInterfaceAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .map((info) => info.address);
}
