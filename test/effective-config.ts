// What the daemons of a test cluster derive from its corosync.conf, so a bound follows the configured timers
// (the ping profile in use) instead of repeating a default.
import { readFileSync } from 'node:fs';
import { checkConfigText } from '../src/config/check.ts';
import type { EffectiveConfig } from '../src/config/defaults.ts';

/** The effective configuration of the corosync.conf at `configPath` (src/config/defaults.ts). */
export function effectiveConfigOf(configPath: string): EffectiveConfig {
  return checkConfigText(readFileSync(configPath, 'utf8'), configPath).effective;
}

/** The ping timeout of link `link` in the corosync.conf at `configPath`: how long a silent link takes to go down. */
export function pingTimeoutMsOf(configPath: string, link = 0): number {
  const timers = effectiveConfigOf(configPath).links.find((l) => l.link === link);
  if (timers === undefined) throw new RangeError(`no link ${link} in ${configPath}`);
  return timers.pingTimeoutMs;
}
