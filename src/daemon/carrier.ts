/**
 * Whether the interface holding a local link's address has carrier — what `ip link` shows as NO-CARRIER when the
 * cable is pulled — so a node does not call its own link UP then (Linux: /sys/class/net/<if>/carrier). Read per
 * request for `corolink status` and on every change the kernel reports for the transport (./carrier-watch.ts).
 */
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';

/**
 * The interface last seen holding each address. libuv lists only interfaces that are up and running, so an
 * interface that lost carrier drops out of `networkInterfaces()`: its name is remembered from before.
 */
const interfaceByAddress = new Map<string, string>();

/** The interface holding `address` (or last seen holding it), or undefined when never seen. */
export function interfaceOf(address: string): string | undefined {
  for (const [name, addresses] of Object.entries(networkInterfaces())) {
    if (addresses?.some((a) => a.address === address)) interfaceByAddress.set(address, name);
  }
  return interfaceByAddress.get(address);
}

/**
 * Remembers that `name` holds `address`, learnt elsewhere (`ip -o addr show`): an interface without carrier when
 * the daemon starts is not in `networkInterfaces()` yet.
 */
export function rememberInterface(address: string, name: string): void {
  interfaceByAddress.set(address, name);
}

/**
 * The carrier of each address asked in this turn of the loop, forgotten at the next. Asked once per request, the
 * kernel (`networkInterfaces()` and a sysfs read) took 50 % of the daemon's CPU in a burst of 200,000 pipelined
 * `status` requests (--cpu-prof, docs/daemon.md); a turn handles up to 256 of them.
 */
const carrierThisTurn = new Map<string, boolean | null>();

/**
 * true/false from the kernel; null when unknown (the address never seen on an interface, or no sysfs). Read at
 * most once per turn of the loop.
 */
export function interfaceCarrier(address: string): boolean | null {
  const known = carrierThisTurn.get(address);
  if (known !== undefined) return known;
  if (carrierThisTurn.size === 0) setImmediate(() => carrierThisTurn.clear());
  const carrier = readCarrier(address);
  carrierThisTurn.set(address, carrier);
  return carrier;
}

/** The carrier of the interface holding `address`, read now (as `interfaceCarrier`, without the per-turn cache). */
export function readCarrier(address: string): boolean | null {
  const name = interfaceOf(address);
  if (name === undefined) return null;
  try {
    return readFileSync(`/sys/class/net/${name}/carrier`, 'utf8').trim() === '1';
  } catch (error) {
    // An interface that is administratively down answers EINVAL: it has no carrier either.
    return (error as NodeJS.ErrnoException).code === 'EINVAL' ? false : null;
  }
}
