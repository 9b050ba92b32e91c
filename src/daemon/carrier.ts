/**
 * Whether the interface holding a local link's address has carrier — what `ip link` shows as NO-CARRIER when the
 * cable is pulled — so a node does not call its own link UP then (Linux: /sys/class/net/<if>/carrier).
 */
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';

/**
 * The interface last seen holding each address. libuv lists only interfaces that are up and running, so an
 * interface that lost carrier drops out of `networkInterfaces()`: its name is remembered from before.
 */
const interfaceByAddress = new Map<string, string>();

function interfaceOf(address: string): string | undefined {
  for (const [name, addresses] of Object.entries(networkInterfaces())) {
    if (addresses?.some((a) => a.address === address)) interfaceByAddress.set(address, name);
  }
  return interfaceByAddress.get(address);
}

/** true/false from the kernel; null when unknown (the address never seen on an interface, or no sysfs). */
export function interfaceCarrier(address: string): boolean | null {
  const name = interfaceOf(address);
  if (name === undefined) return null;
  try {
    return readFileSync(`/sys/class/net/${name}/carrier`, 'utf8').trim() === '1';
  } catch (error) {
    // An interface that is administratively down answers EINVAL: it has no carrier either.
    return (error as NodeJS.ErrnoException).code === 'EINVAL' ? false : null;
  }
}
