/**
 * Checks of a resource spec before an agent runs anything for it: a bad spec is a clear error naming the
 * resource and the field, and no command runs (the runner answers `HA_EXIT_NOT_CONFIGURED`).
 */
import { isIP } from 'node:net';
import type { HaResourceSpec } from '../../ha/contract.ts';

/** The longest time one operation may be given (an hour: a start that takes longer is a hung start). */
export const HA_OP_TIMEOUT_MS_MAX = 3_600_000;
/** Linux IFNAMSIZ − 1. */
const INTERFACE_NAME_BYTES_MAX = 15;
/** systemd's UNIT_NAME_MAX. */
const UNIT_NAME_BYTES_MAX = 255;
/** A user name as useradd accepts it, or a numeric uid. */
const USER_PATTERN = /^(?:[a-z_][a-z0-9_-]*\$?|\d+)$/;
/** A unit name: systemd's allowed characters, and not an option. */
const UNIT_PATTERN = /^[A-Za-z0-9:_.\\@][A-Za-z0-9:_.\\@-]*$/;

/** What is wrong with `spec` (one line naming the resource and the field), or undefined when it is fine. */
export function specProblem(spec: HaResourceSpec): string | undefined {
  const where = `resource ${JSON.stringify(spec.sid)}`;
  if (typeof spec.sid !== 'string' || !spec.sid.startsWith(`${spec.type}:`))
    return `${where}: the sid of a ${spec.type} resource must be "${spec.type}:NAME"`;
  if (!Number.isInteger(spec.timeoutMs) || spec.timeoutMs < 1 || spec.timeoutMs > HA_OP_TIMEOUT_MS_MAX)
    return `${where}: timeout must be 1–${HA_OP_TIMEOUT_MS_MAX} ms, got ${spec.timeoutMs}`;
  switch (spec.type) {
    case 'exec':
      for (const field of ['start', 'stop', 'monitor'] as const) {
        const command = spec[field];
        if (typeof command !== 'string' || command.trim() === '' || command.includes('\0'))
          return `${where}: ${field} must be a non-empty command line`;
      }
      if (spec.user !== undefined && !USER_PATTERN.test(spec.user))
        return `${where}: user must be a user name or a numeric uid, got ${JSON.stringify(spec.user)}`;
      return undefined;
    case 'systemd':
      if (!UNIT_PATTERN.test(spec.unit) || spec.unit.length > UNIT_NAME_BYTES_MAX)
        return `${where}: unit must be a systemd unit name, got ${JSON.stringify(spec.unit)}`;
      return undefined;
    case 'ip': {
      const family = isIP(spec.address);
      if (family === 0) return `${where}: address must be an IPv4 or IPv6 address, got ${JSON.stringify(spec.address)}`;
      const bits = family === 4 ? 32 : 128;
      if (!Number.isInteger(spec.prefixLength) || spec.prefixLength < 0 || spec.prefixLength > bits)
        return `${where}: prefix length must be 0–${bits}, got ${spec.prefixLength}`;
      if (!validInterfaceName(spec.interface))
        return `${where}: interface must be a network interface name, got ${JSON.stringify(spec.interface)}`;
      return undefined;
    }
    default:
      return `${where}: unknown resource type ${JSON.stringify((spec as { type: unknown }).type)}`;
  }
}

/** The kernel's rule (dev_valid_name), and not an option of `ip`. */
function validInterfaceName(name: string): boolean {
  return (
    typeof name === 'string' &&
    name.length > 0 &&
    Buffer.byteLength(name) <= INTERFACE_NAME_BYTES_MAX &&
    name !== '.' &&
    name !== '..' &&
    !name.startsWith('-') &&
    !/[\s/:]/.test(name)
  );
}

/** `address` in the form `ip addr show` prints it (IPv6 compressed, lower case). */
export function canonicalAddress(address: string): string {
  return isIP(address) === 6 ? new URL(`http://[${address}]/`).hostname.slice(1, -1) : address;
}
